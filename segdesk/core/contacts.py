"""The contacts list: canonical contacts with their devices, revenue (counted orders, net) and tags."""

from __future__ import annotations

import orjson

from .orders import source_of_truth
from .reports.data import orders_source

# Search text is matched literally: `_` and `%` are LIKE's wildcards (`_` matched
# every contact), so they and the escape character are escaped.
LIKE = "LIKE :q ESCAPE '\\'"


def contains_pattern(search: str) -> str:
    """The pattern for `LIKE` above: contains `search`, trimmed and lower-cased."""
    text = search.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{text}%"


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
    where = ""
    params: dict = {"limit": limit, "offset": offset, "truth": source_of_truth(conn)}
    if search:
        where = (f"AND (c.email {LIKE} OR c.first_name {LIKE} OR c.last_name {LIKE} "
                 f"OR EXISTS (SELECT 1 FROM contacts m WHERE m.canonical_id = c.id AND m.email {LIKE}))")
        params["q"] = contains_pattern(search)
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
