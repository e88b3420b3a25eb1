"""Orders as reports count them: one row per real purchase, net of refunds.

The same purchase can arrive from several places: a CRM's order and the
payment processor's charge, or one orders file given to ``import orders`` and
also added as a CSV source. An order is identified by ``GROUP_KEY``: its
``dedupe_key`` when a connector or the reconciliation gave it one (the charge
or invoice id, or the CRM's recorded transaction id), else its origin's order
id, whichever route brought it. Of each group only one row counts: the
workspace's source of truth (setting ``orders.source_of_truth``, an origin
prefix such as ``stripe``), else a payment processor's, else the row that
arrived first (the lowest row id).
"""

from __future__ import annotations

PAYMENT_ORIGINS = ("stripe", "paypal")
# One purchase, whatever route brought it (migration 0008 indexes this expression).
GROUP_KEY = "coalesce({o}.dedupe_key, {o}.order_id)"

# Counted orders: each dedupe group keeps its preferred row.
COUNTED_ORDERS_SQL = """
WITH ranked AS (
    SELECT o.*,
           row_number() OVER (
               PARTITION BY coalesce(o.dedupe_key, o.order_id)
               ORDER BY CASE
                   WHEN :truth IS NOT NULL AND o.origin LIKE :truth || '%' THEN 0
                   WHEN o.origin LIKE 'stripe%' OR o.origin LIKE 'paypal%' THEN 1
                   ELSE 2 END, o.id
           ) AS rank_in_group
    FROM orders o
)
SELECT r.id, r.origin, r.order_id, r.email, r.customer_key, r.amount, r.currency, r.created_at,
       r.product, r.status,
       coalesce((SELECT sum(f.amount) FROM refunds f
                 WHERE f.origin = r.origin AND f.order_id = r.order_id), 0) AS refunded
FROM ranked r WHERE r.rank_in_group = 1
"""


def counted_orders_sql(conn) -> tuple[str, dict]:
    row = conn.execute("SELECT value FROM settings WHERE key = 'orders.source_of_truth'").fetchone()
    return COUNTED_ORDERS_SQL, {"truth": row[0] if row else None}


ORDER_COLUMNS = "id origin order_id email customer_key amount currency created_at product status dedupe_key".split()


def source_of_truth(conn) -> str | None:
    row = conn.execute("SELECT value FROM settings WHERE key = 'orders.source_of_truth'").fetchone()
    return row[0] if row else None


def preference(origin: str, row_id: int, truth: str | None) -> tuple:
    """Sort key of an order within its dedupe group: lowest wins (same rule as COUNTED_ORDERS_SQL)."""
    if truth and origin.startswith(truth):
        rank = 0
    elif origin.startswith(PAYMENT_ORIGINS):
        rank = 1
    else:
        rank = 2
    return rank, row_id


def orders_of_contact(conn, contact_id: int) -> list[dict]:
    """The counted orders of a canonical contact (by email or payment customer id), with ``refunded``."""
    cols = ", ".join(ORDER_COLUMNS)
    rows = conn.execute(
        f"""
        SELECT {cols} FROM orders WHERE email IN (SELECT email FROM contacts WHERE canonical_id = :cid)
        UNION
        SELECT {cols} FROM orders WHERE customer_key IN (
            SELECT substr(node, 5) FROM identity_nodes WHERE contact_id = :cid AND node LIKE 'cus:%')
        """,
        {"cid": contact_id},
    ).fetchall()
    truth = source_of_truth(conn)
    out = []
    for row in rows:
        order = dict(zip(ORDER_COLUMNS, row))
        group = conn.execute(f"SELECT origin, id FROM orders o WHERE {GROUP_KEY.format(o='o')} = ?",
                             (order["dedupe_key"] or order["order_id"],)).fetchall()
        best = min(group, key=lambda g: preference(g[0], g[1], truth))
        if best[1] != order["id"]:
            continue
        order["refunds"] = refunds_of(conn, order["origin"], order["order_id"])
        order["refunded"] = sum(r["amount"] for r in order["refunds"])
        out.append(order)
    out.sort(key=lambda o: (o["created_at"], o["id"]))
    return out


def refunds_of(conn, origin: str, order_id: str) -> list[dict]:
    rows = conn.execute(
        "SELECT refund_id, amount, currency, created_at FROM refunds WHERE origin = ? AND order_id = ? "
        "ORDER BY created_at",
        (origin, order_id),
    )
    return [dict(zip(("refund_id", "amount", "currency", "created_at"), r)) for r in rows]


SHARE_KEYS_SQL = """
UPDATE orders SET dedupe_key = (
    SELECT k.dedupe_key FROM orders k WHERE k.order_id = orders.order_id AND k.dedupe_key IS NOT NULL
      AND k.origin NOT LIKE 'stripe%' AND k.origin NOT LIKE 'paypal%' ORDER BY k.id LIMIT 1)
WHERE dedupe_key IS NULL AND origin NOT LIKE 'stripe%' AND origin NOT LIKE 'paypal%'
  AND EXISTS (SELECT 1 FROM orders k WHERE k.order_id = orders.order_id AND k.dedupe_key IS NOT NULL
      AND k.origin NOT LIKE 'stripe%' AND k.origin NOT LIKE 'paypal%')
"""


def share_order_keys(conn) -> int:
    """Copies of one order (same order id, any non-payment route) take the key one of them was matched to.

    Without this, a file imported twice by two routes, one copy matched to its
    Stripe charge and one not yet, would sit in two groups and count twice.
    """
    return conn.execute(SHARE_KEYS_SQL).rowcount
