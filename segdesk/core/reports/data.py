"""The rows every report starts from: counted orders with their contact and net revenue.

``ORDERS_SQL`` is ``core.orders.COUNTED_ORDERS_SQL``'s rule (one order per
group of ``GROUP_KEY``: dedupe key, else order id across routes; the source of truth first, then payment processors, then the
lowest id; net of refunds) written so SQLite needs no window over all orders,
plus the canonical contact: by email first, else by payment customer id.
``tests/core/test_reports_orders.py`` checks both give the same orders.

``report_orders`` caches it; triggers (migration 0003) mark it dirty on any
write to orders, refunds, contacts, payment-customer ids or the source-of-truth
setting, and :func:`orders_source` then hands readers the live query instead.
``report_orders_fx`` (migration 0020) holds the same orders converted into the
reporting currency; stale with them or with any rate change, and then read live too.
"""

from __future__ import annotations

from ..orders import GROUP_KEY, source_of_truth
from .converted import (ORDER_COLUMNS, cached_orders, cached_target, converted_orders, converting_to,
                        distinct_days)
from .model import Range, scoped_orders

_RANK = ("CASE WHEN :truth IS NOT NULL AND {o}.origin LIKE :truth || '%' THEN 0 "
         "WHEN {o}.origin LIKE 'stripe%' OR {o}.origin LIKE 'paypal%' THEN 1 ELSE 2 END")

ORDERS_SQL = f"""
SELECT o.id, o.origin, o.order_id, o.email, o.currency, o.created_at, o.amount, o.product,
       coalesce((SELECT sum(f.amount) FROM refunds f WHERE f.origin = o.origin AND f.order_id = o.order_id), 0)
           AS refunded,
       coalesce(m.canonical_id, n.contact_id) AS contact_id
FROM orders o
LEFT JOIN contacts m ON m.email = o.email
LEFT JOIN identity_nodes n ON o.customer_key IS NOT NULL AND n.node = 'cus:' || o.customer_key
WHERE NOT EXISTS (
    SELECT 1 FROM orders p WHERE {GROUP_KEY.format(o='p')} = {GROUP_KEY.format(o='o')} AND p.id <> o.id
    AND ({_RANK.format(o='p')}, p.id) < ({_RANK.format(o='o')}, o.id))
"""
REPORT_ORDER_COLUMNS = ORDER_COLUMNS  # id, contact_id, currency, amount, refunded, created_at


def orders_source(conn, rng: Range | None = None) -> str:
    """A table or subquery with ``REPORT_ORDER_COLUMNS`` (needs the ``:truth`` parameter when live),
    narrowed to ``rng``'s filters when it has any (``filters.py``), and converted into the
    reporting currency inside ``converted.converting``: from ``report_orders_fx`` when it holds
    that currency and is fresh, else converted here."""
    if conn.execute("SELECT dirty FROM report_orders_state").fetchone()[0]:
        base = f"(SELECT {REPORT_ORDER_COLUMNS} FROM ({ORDERS_SQL}))"
    else:
        base = "report_orders"
    scoped = scoped_orders(base, rng) if rng is not None else base
    target = converting_to()
    if target is None:
        return scoped
    if base == "report_orders" and cached_target(conn) == target:
        cached = scoped_orders("report_orders_fx", rng) if rng is not None else "report_orders_fx"
        return cached_orders(conn, scoped, cached)
    return converted_orders(conn, scoped)


def refresh_report_orders(conn) -> bool:
    """Rebuild the cache if anything it depends on changed; True when it did."""
    if not conn.execute("SELECT dirty FROM report_orders_state").fetchone()[0]:
        return False
    conn.execute("DELETE FROM report_orders")
    conn.execute(f"INSERT INTO report_orders ({REPORT_ORDER_COLUMNS}) SELECT {REPORT_ORDER_COLUMNS} "
                 f"FROM ({ORDERS_SQL})", {"truth": source_of_truth(conn)})
    conn.execute("DELETE FROM report_order_days")
    conn.execute(f"INSERT INTO report_order_days(currency, day) {distinct_days('report_orders')}")
    conn.execute("UPDATE report_orders_state SET dirty = 0")
    return True


def range_where(alias: str) -> str:
    return (f"(:since IS NULL OR {alias}.created_at >= :since) "
            f"AND (:until IS NULL OR {alias}.created_at < :until)")

def order_params(conn, rng: Range) -> dict:
    return {"truth": source_of_truth(conn), "since": rng.since, "until": rng.until}


def sessions_behind(conn) -> int:
    """Events not yet in sessions (0 when up to date): reports say so rather than look complete."""
    row = conn.execute("SELECT value FROM settings WHERE key = 'sessions.events_upto'").fetchone()
    upto = int(row[0]) if row else 0
    return conn.execute("SELECT count(*) FROM events WHERE id > ? AND type IN ('page', 'screen', 'identify')",
                        (upto,)).fetchone()[0]


def order_rows(conn, ids) -> list[dict]:
    """Orders as the drill-down lists them, in time order."""
    ids = list(ids)
    out = []
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        out.extend(conn.execute(
            f"SELECT o.id, o.order_id, o.origin, o.email, o.currency, o.amount, o.created_at, o.product, "
            f"coalesce((SELECT sum(f.amount) FROM refunds f WHERE f.origin = o.origin AND f.order_id = o.order_id), 0) "
            f"FROM orders o WHERE o.id IN ({','.join('?' * len(chunk))})", chunk).fetchall())
    out.sort(key=lambda r: (r[6], r[0]))
    return [{"id": rid, "order_id": order_id, "source": origin, "email": email, "time": created,
             "amount": {cur: amount}, "refunded": {cur: refunded}, "revenue": {cur: amount - refunded},
             **({"product": product} if product else {})}
            for rid, order_id, origin, email, cur, amount, created, product, refunded in out]
