"""Contacts as every front end lists them: canonical contacts, searched by email or name.

:func:`list_contacts` is the command line's listing (``segdesk contacts``).
The app's table, fast at 100,000+ contacts, asks two questions instead:
:func:`ordered_ids` returns only canonical contact ids in the chosen order
(one aggregate query per sort key, run off the GUI thread) and
:func:`rows_for` fills in the columns of the few ids on screen. Money sorts
as integers, never as text. One search rule serves all three.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict

import orjson

from ..orders import counted_orders_sql, source_of_truth
from ..reports.data import orders_source

# Search text is matched literally: `_` and `%` are LIKE's wildcards (`_` matched
# every contact), so they and the escape character are escaped.
LIKE = "LIKE :q ESCAPE '\\'"


def contains_pattern(search: str) -> str:
    """The pattern for `LIKE` above: contains `search`, trimmed and lower-cased."""
    text = search.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{text}%"


COLUMNS = ("email", "name", "first_touch", "devices", "revenue", "last_seen", "tags")

_NAME = "trim(coalesce(c.first_name, '') || ' ' || coalesce(c.last_name, ''))"
_SEARCH = (f"AND (c.email {LIKE} OR c.first_name {LIKE} OR c.last_name {LIKE} OR "
           f"{_NAME} {LIKE} OR EXISTS (SELECT 1 FROM contacts m WHERE m.canonical_id = c.id AND m.email {LIKE}))")

# Sort keys computed for every contact at once: (contact id, key).
_KEYS = {
    "devices": "SELECT contact_id AS cid, count(DISTINCT anonymous_id) AS k FROM device_segments GROUP BY contact_id",
    "last_seen": ("SELECT s.contact_id AS cid, max(d.last_seen) AS k FROM device_segments s "
                  "JOIN devices d ON d.anonymous_id = s.anonymous_id GROUP BY s.contact_id"),
    "tags": ("SELECT cid, group_concat(tag, ';') AS k FROM (SELECT DISTINCT n.contact_id AS cid, t.tag FROM tags t "
             "JOIN identity_nodes n ON n.node = t.identifier ORDER BY 1, 2) GROUP BY cid"),
    # SQLite's bare column rule: the source comes from the row holding min(...). The reports'
    # touchpoint table answers for most contacts; the ones it marks dirty are computed live.
    "first_touch": ("SELECT cid, k FROM (SELECT contact_id AS cid, min(start_ts) AS t, source AS k "
                    "FROM contact_touches WHERE contact_id NOT IN (SELECT contact_id FROM first_touch_dirty) "
                    "GROUP BY contact_id) "
                    "UNION ALL SELECT cid, k FROM (SELECT s.contact_id AS cid, min(e.ts) AS t, e.ch_source AS k "
                    "FROM device_segments s JOIN events e ON e.anonymous_id = s.anonymous_id AND e.ts >= s.start_ts "
                    "AND (s.end_ts IS NULL OR e.ts < s.end_ts) WHERE e.type IN ('page', 'screen') "
                    "AND s.contact_id IN (SELECT contact_id FROM first_touch_dirty) GROUP BY s.contact_id)"),
}


def search_clause(search: str | None) -> tuple[str, dict]:
    """``AND (...)`` on canonical contacts ``c`` matching part of an email (any joined one) or name, and its parameters."""
    if search and search.strip():
        return _SEARCH, {"q": contains_pattern(search)}
    return "", {}


def _revenue_keys(conn: sqlite3.Connection) -> dict[int, tuple]:
    """Net revenue per canonical contact as a sort key: main currency first, integers throughout."""
    clean = conn.execute("SELECT dirty = 0 FROM report_orders_state WHERE id = 1").fetchone()
    if clean and clean[0]:  # the reports' counted-orders table is current: read it
        rows = conn.execute("SELECT contact_id, currency, sum(amount - refunded) FROM report_orders "
                            "WHERE contact_id IS NOT NULL GROUP BY contact_id, currency").fetchall()
    else:
        rows = _live_revenue(conn)
    per: dict[int, dict[str, int]] = defaultdict(dict)
    volume: dict[str, int] = defaultdict(int)
    for cid, cur, net in rows:
        per[cid][cur] = net
        volume[cur] += 1
    order = sorted(volume, key=lambda c: (-volume[c], c))
    return {cid: tuple(m.get(c, 0) for c in order) for cid, m in per.items()}


def _live_revenue(conn: sqlite3.Connection) -> list[tuple]:
    sql, params = counted_orders_sql(conn)
    return conn.execute(
        f"""WITH counted AS ({sql}),
        owner AS (
            SELECT o.currency, o.amount - o.refunded AS net,
                   coalesce((SELECT m.canonical_id FROM contacts m WHERE m.email = o.email),
                            (SELECT n.contact_id FROM identity_nodes n WHERE n.node = 'cus:' || o.customer_key)) AS cid
            FROM counted o)
        SELECT cid, currency, sum(net) FROM owner WHERE cid IS NOT NULL GROUP BY cid, currency""",
        params,
    ).fetchall()


def ordered_ids(conn: sqlite3.Connection, search: str | None = None, sort: str = "email",
                descending: bool = False) -> list[int]:
    """Canonical contact ids matching ``search``, in ``sort`` order (ties by email)."""
    where, params = search_clause(search)
    direction = "DESC" if descending else "ASC"
    base = f"FROM contacts c {{join}} WHERE c.canonical_id = c.id {where}"
    if sort == "email":
        sql = f"SELECT c.id {base.format(join='')} ORDER BY c.email {direction}"
    elif sort == "name":
        sql = (f"SELECT c.id {base.format(join='')} ORDER BY {_NAME} = '' , lower({_NAME}) {direction}, c.email")
    elif sort in _KEYS:
        join = f"LEFT JOIN ({_KEYS[sort]}) k ON k.cid = c.id"
        sql = f"SELECT c.id {base.format(join=join)} ORDER BY k.k IS NULL, k.k {direction}, c.email"
    elif sort == "revenue":
        ids = [r[0] for r in conn.execute(f"SELECT c.id {base.format(join='')} ORDER BY c.email", params)]
        keys = _revenue_keys(conn)
        with_money = [i for i in ids if i in keys]
        with_money.sort(key=keys.__getitem__, reverse=descending)  # stable: ties stay in email order
        return with_money + [i for i in ids if i not in keys]
    else:
        raise ValueError(f"cannot sort contacts by {sort!r}")
    return [r[0] for r in conn.execute(sql, params)]


ROWS_SQL = """
SELECT c.id, c.email, c.first_name, c.last_name,
       (SELECT count(DISTINCT s.anonymous_id) FROM device_segments s WHERE s.contact_id = c.id),
       (SELECT max(d.last_seen) FROM device_segments s JOIN devices d ON d.anonymous_id = s.anonymous_id
         WHERE s.contact_id = c.id),
       (SELECT group_concat(tag, ';') FROM (SELECT DISTINCT t.tag FROM tags t
         JOIN identity_nodes n ON n.node = t.identifier WHERE n.contact_id = c.id ORDER BY t.tag)),
       (SELECT e.ch_source || ' / ' || e.ch_medium FROM device_segments s JOIN events e
         ON e.anonymous_id = s.anonymous_id AND e.ts >= s.start_ts AND (s.end_ts IS NULL OR e.ts < s.end_ts)
         WHERE s.contact_id = c.id AND e.type IN ('page', 'screen') ORDER BY e.ts LIMIT 1)
FROM contacts c WHERE c.id IN ({marks})
"""

REVENUE_SQL = """
SELECT o.currency, sum(o.amount - coalesce((SELECT sum(f.amount) FROM refunds f
       WHERE f.origin = o.origin AND f.order_id = o.order_id), 0))
FROM orders o WHERE (o.email IN (SELECT email FROM contacts WHERE canonical_id = :cid)
   OR o.customer_key IN (SELECT substr(node, 5) FROM identity_nodes WHERE contact_id = :cid AND node LIKE 'cus:%'))
  AND (o.id = (
       SELECT g.id FROM orders g WHERE coalesce(g.dedupe_key, g.order_id) = coalesce(o.dedupe_key, o.order_id)
       ORDER BY CASE WHEN :truth IS NOT NULL AND g.origin LIKE :truth || '%' THEN 0
                     WHEN g.origin LIKE 'stripe%' OR g.origin LIKE 'paypal%' THEN 1 ELSE 2 END, g.id LIMIT 1))
GROUP BY o.currency
"""


def rows_for(conn: sqlite3.Connection, ids: list[int]) -> dict[int, dict]:
    """The displayed columns of these contacts, keyed by id."""
    if not ids:
        return {}
    truth = source_of_truth(conn)
    out: dict[int, dict] = {}
    for cid, email, first, last, devices, last_seen, tags, first_touch in conn.execute(
        ROWS_SQL.format(marks=",".join("?" * len(ids))), ids
    ):
        revenue = {cur: net for cur, net in conn.execute(REVENUE_SQL, {"cid": cid, "truth": truth})}
        out[cid] = {
            "id": cid,
            "email": email,
            "name": " ".join(x for x in (first, last) if x),
            "first_touch": first_touch or "",
            "devices": devices or 0,
            "revenue": revenue,
            "last_seen": last_seen,
            "tags": tags.split(";") if tags else [],
        }
    return out


LIST_SQL = """
SELECT c.id, c.email, c.first_name, c.last_name, c.first_seen,
       (SELECT count(DISTINCT s.anonymous_id) FROM device_segments s WHERE s.contact_id = c.id) AS devices,
       (SELECT max(d.last_seen) FROM device_segments s JOIN devices d ON d.anonymous_id = s.anonymous_id
         WHERE s.contact_id = c.id) AS last_seen,
       (SELECT group_concat(tag, ';') FROM (SELECT DISTINCT t.tag FROM tags t
         JOIN identity_nodes n ON n.node = t.identifier WHERE n.contact_id = c.id ORDER BY t.tag)) AS tags,
       (SELECT json_group_object(currency, net) FROM (
          SELECT r.currency, sum(r.amount - r.refunded) AS net FROM {orders} r
          WHERE r.contact_id = c.id GROUP BY r.currency)) AS revenue
FROM contacts c
WHERE c.canonical_id = c.id {where}
ORDER BY {order}
LIMIT :limit OFFSET :offset
"""


def list_contacts(conn, search: str | None = None, limit: int = 1000, offset: int = 0) -> list[dict]:
    where, params = search_clause(search)
    params.update(limit=limit, offset=offset, truth=source_of_truth(conn))
    sql = LIST_SQL.format(where=where, order="c.first_seen IS NULL, c.first_seen, c.email", orders=orders_source(conn))
    rows = conn.execute(sql, params)
    out = []
    for cid, email, first, last, first_seen, devices, last_seen, tags, revenue in rows:
        money = {k: v for k, v in orjson.loads(revenue).items()} if revenue else {}
        out.append({
            "email": email,
            "name": " ".join(x for x in (first, last) if x) or None,
            "first_seen": first_seen,
            "last_seen": last_seen,
            "devices": devices,
            "customer": any(v > 0 for v in money.values()),
            "revenue": money,
            "tags": tags.split(";") if tags else [],
        })
    return out
