"""Each canonical contact's revenue per currency, cached in the shape LTV groups it.

``grouped.py`` used to join every counted order to its contact, turn each
order's time into milliseconds and sum it into five LTV windows per report:
~150 ms of the ~300 at 1M events. None of that depends on the report's range
(a range picks contacts by anchor; their revenue is all of it), only on the
counted orders and the contact's anchor (first touch, else first_seen). So
``report_contact_value`` (migration 0019) keeps, per contact and currency:
``rev`` (net revenue), ``paid_ms`` (the first order with net > 0) and ``w30``
... ``w365`` (net revenue of orders at most N days after the anchor, NULL with
no such order), and a report only decides which windows have matured.

Fresh or not used: a report reads the cache only when the counted orders, the
first touches and the cache itself are all clean and no filter narrows orders
and no conversion is active (:func:`value_table`); otherwise ``grouped.py`` computes
the same rows live. The refresh after a sync rewrites the contacts listed in
``report_value_dirty`` (triggers: their first touch or first_seen changed) or,
when the orders changed, the whole table.
"""

from __future__ import annotations

from .converted import converting_to

LTV_DAYS = (30, 60, 90, 180, 365)
DAY_MS = 86_400_000
# Unix epoch in ms; julianday() is SQLite's integer ms count / 86400000, so rounding restores it exactly.
MS = "(CAST(round(julianday({t}) * 86400000.0) AS INTEGER) - 210866760000000)"
ANCHOR = "coalesce(ft.start_ts, c.first_seen)"
WINDOWS = ", ".join(f"w{d}" for d in LTV_DAYS)

# Per contact and currency, from the orders table or subquery {orders}; {where} narrows contacts.
VALUES_SQL = f"""
SELECT cid, cur, sum(net) AS rev, min(t_ms) FILTER (WHERE net > 0) AS paid_ms,
       {", ".join(f"sum(CASE WHEN t_ms <= a_ms + {d * DAY_MS} THEN net END) AS w{d}" for d in LTV_DAYS)}
FROM (
    SELECT m.cid, m.a_ms, r.currency AS cur, r.amount - r.refunded AS net, {MS.format(t="r.created_at")} AS t_ms
    FROM (SELECT c.id AS cid, {MS.format(t=ANCHOR)} AS a_ms FROM contacts c
          LEFT JOIN ({{ft}}) ft ON ft.contact_id = c.id WHERE c.canonical_id = c.id {{where}}) m
    JOIN {{orders}} r ON r.contact_id = m.cid)
GROUP BY cid, cur
"""


def value_table(conn, rng) -> str | None:
    """The per-contact value table that answers for this build, or None (compute live).

    ``report_contact_value`` when nothing is stale, no product filter narrows orders and no
    conversion is active. (Converted builds get a table of their own here once one is cached.)"""
    scope = getattr(rng, "scope", None)
    if converting_to() or (scope is not None and scope.product is not None):
        return None
    fresh = conn.execute(
        "SELECT (SELECT dirty FROM report_value_state) = 0 AND (SELECT dirty FROM report_orders_state) = 0 "
        "AND NOT EXISTS (SELECT 1 FROM report_value_dirty) AND NOT EXISTS (SELECT 1 FROM first_touch_dirty)"
    ).fetchone()[0] == 1
    return "report_contact_value" if fresh else None


def refresh_contact_value(conn) -> int:
    """Bring the cache up to date after the touch and order caches are; returns the contacts rewritten
    (-1: the whole table). Needs clean counted orders and touches (the refresh runs it after both)."""
    if conn.execute("SELECT (SELECT dirty FROM report_orders_state) OR EXISTS (SELECT 1 FROM first_touch_dirty)"
                    ).fetchone()[0]:
        return 0  # stale orders or touches: readers go live; the next refresh brings all three up to date
    sql = VALUES_SQL.format(ft="SELECT contact_id, start_ts FROM report_first_touch", orders="report_orders",
                            where="{where}")
    columns = f"contact_id, currency, rev, paid_ms, {WINDOWS}"
    if conn.execute("SELECT dirty FROM report_value_state").fetchone()[0]:
        conn.execute("DELETE FROM report_contact_value")
        conn.execute(f"INSERT INTO report_contact_value ({columns}) " + sql.format(where=""))
        conn.execute("DELETE FROM report_value_dirty")
        conn.execute("UPDATE report_value_state SET dirty = 0")
        return -1
    n = conn.execute("SELECT count(*) FROM report_value_dirty").fetchone()[0]
    if n:
        dirty = "(SELECT contact_id FROM report_value_dirty)"
        conn.execute(f"DELETE FROM report_contact_value WHERE contact_id IN {dirty}")
        conn.execute(f"INSERT INTO report_contact_value ({columns}) " + sql.format(where=f"AND c.id IN {dirty}"))
        conn.execute("DELETE FROM report_value_dirty")
    return n


def mark_all(conn) -> None:
    """Every contact's figures are stale (touches were rebuilt from nothing)."""
    conn.execute("UPDATE report_value_state SET dirty = 1 WHERE dirty = 0")
