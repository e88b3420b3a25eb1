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

``report_contact_value_fx`` (migration 0020) is the same from ``report_orders_fx``,
the counted orders converted into the reporting currency, so converted LTV, ROAS
and the campaign table group cached rows too.

Fresh or not used: a report reads the cache only when the counted orders, the
first touches and the cache itself are all clean and no product filter narrows
orders, and a converted build only the converted table, only when it holds the
build's currency and is fresh (:func:`value_table`); otherwise ``grouped.py``
computes the same rows live. The refresh after a sync rewrites the contacts listed
in ``report_value_dirty`` (triggers: their first touch or first_seen changed) in
both tables or, when the orders changed, the whole table; :func:`refresh_converted`
rebuilds both converted tables after a rate or the reporting currency changed.
"""

from __future__ import annotations

from ..fx import reporting_currency
from .converted import cached_orders, cached_target, converting_to, refresh_converted_orders
from .model import scoped_orders

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


FRESH_SQL = ("SELECT (SELECT dirty FROM report_value_state) = 0 AND (SELECT dirty FROM report_orders_state) = 0 "
             "AND NOT EXISTS (SELECT 1 FROM report_value_dirty) AND NOT EXISTS (SELECT 1 FROM first_touch_dirty)")


def value_table(conn, rng) -> str | None:
    """The per-contact value table that answers for this build, or None (compute live).

    ``report_contact_value`` when nothing is stale and no product filter narrows orders;
    converting, ``report_contact_value_fx`` when it holds that currency and is fresh too. A converted
    build that reads it still records the rates it stands for, over the same orders the live path
    converts (``converted.cached_orders``), so its rate notes are the live path's."""
    scope = getattr(rng, "scope", None)
    if scope is not None and scope.product is not None:
        return None
    if conn.execute(FRESH_SQL).fetchone()[0] != 1:
        return None
    target = converting_to()
    if target is None:
        return "report_contact_value"
    if cached_target(conn) != target:
        return None
    # The orders data.orders_source reads for this range (the same text, so the same memo of rate days).
    return cached_orders(conn, scoped_orders("report_orders", rng), "report_contact_value_fx")


def _write_values(conn, table: str, orders: str, where: str = "") -> None:
    sql = VALUES_SQL.format(ft="SELECT contact_id, start_ts FROM report_first_touch", orders=orders, where=where)
    conn.execute(f"INSERT INTO {table} (contact_id, currency, rev, paid_ms, {WINDOWS}) " + sql)


def refresh_contact_value(conn) -> int:
    """Bring the cache up to date after the touch and order caches are; returns the contacts rewritten
    (-1: the whole table). Needs clean counted orders and touches (the refresh runs it after both).
    A fresh converted cache gets the same contacts rewritten; a stale one waits for :func:`refresh_converted`."""
    if conn.execute("SELECT (SELECT dirty FROM report_orders_state) OR EXISTS (SELECT 1 FROM first_touch_dirty)"
                    ).fetchone()[0]:
        return 0  # stale orders or touches: readers go live; the next refresh brings all three up to date
    if conn.execute("SELECT dirty FROM report_value_state").fetchone()[0]:
        conn.execute("DELETE FROM report_contact_value")
        _write_values(conn, "report_contact_value", "report_orders")
        conn.execute("DELETE FROM report_value_dirty")
        conn.execute("UPDATE report_value_state SET dirty = 0")
        return -1  # its going stale marked the converted cache stale too (migration 0020)
    n = conn.execute("SELECT count(*) FROM report_value_dirty").fetchone()[0]
    if n:
        dirty = "(SELECT contact_id FROM report_value_dirty)"
        tables = [("report_contact_value", "report_orders")]
        if cached_target(conn) is not None:
            tables.append(("report_contact_value_fx", "report_orders_fx"))
        for table, orders in tables:
            conn.execute(f"DELETE FROM {table} WHERE contact_id IN {dirty}")
            _write_values(conn, table, orders, f"AND c.id IN {dirty}")
        conn.execute("DELETE FROM report_value_dirty")
    return n


def refresh_converted(conn) -> bool:
    """``report_orders_fx`` and ``report_contact_value_fx`` in the reporting currency, rebuilt when stale or
    held in another currency; True when they were. Runs after :func:`refresh_contact_value` (needs it clean)."""
    if conn.execute(FRESH_SQL).fetchone()[0] != 1:
        return False
    target = reporting_currency(conn)
    if cached_target(conn) == target:
        return False
    refresh_converted_orders(conn, target)
    conn.execute("DELETE FROM report_contact_value_fx")
    _write_values(conn, "report_contact_value_fx", "report_orders_fx")
    conn.execute("UPDATE report_fx_state SET dirty = 0, currency = ?", (target,))
    return True


def mark_all(conn) -> None:
    """Every contact's figures are stale (touches were rebuilt from nothing)."""
    conn.execute("UPDATE report_value_state SET dirty = 1 WHERE dirty = 0")
