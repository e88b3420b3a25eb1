"""One purchase, two reports: match CRM orders to the payment processor's charges.

Payment connectors always set ``dedupe_key`` (Stripe: the charge's payment
intent, else the charge id; PayPal: the transaction id). A CRM or CSV order
that does not carry such an id itself gets the key of the payment order that
is the same purchase: same person (email, or the email of the payment's
customer id), same currency and amount, created within ``WINDOW_HOURS`` of
each other; the closest in time wins, and a payment is claimed by at most one
order of each origin. Then core/orders.py counts one order per key, choosing
the ``orders.source_of_truth`` origin when set (else the payment processor).

A CRM order never matched keeps ``dedupe_key`` NULL and is checked again on
the next sync, so the charge may arrive later.
"""

from __future__ import annotations

from datetime import timedelta

from .orders import share_order_keys
from .timeutil import parse_ts, format_ts

WINDOW_HOURS = 36
PAYMENT = "(p.origin LIKE 'stripe%' OR p.origin LIKE 'paypal%')"

CANDIDATES_SQL = f"""
SELECT p.dedupe_key, p.created_at FROM orders p
WHERE {PAYMENT} AND p.dedupe_key IS NOT NULL
  AND p.currency = :currency AND p.amount = :amount
  AND p.created_at BETWEEN :low AND :high
  AND (p.email = :email OR p.customer_key IN (
        SELECT key FROM contact_keys WHERE kind = 'customer' AND email = :email))
  AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.dedupe_key = p.dedupe_key AND o.origin = :origin)
  -- A payment whose reference is some order's own id is that order already (core.orders.GROUP_KEY).
  AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.order_id = p.dedupe_key
                  AND o.origin NOT LIKE 'stripe%' AND o.origin NOT LIKE 'paypal%')
"""


def reconcile_orders(conn) -> int:
    """Give unmatched CRM/CSV orders the dedupe key of their payment; returns how many matched."""
    pending = conn.execute(
        "SELECT id, origin, email, amount, currency, created_at FROM orders "
        "WHERE dedupe_key IS NULL AND email IS NOT NULL "
        "AND origin NOT LIKE 'stripe%' AND origin NOT LIKE 'paypal%' "
        # An order whose id a payment carries as its reference is already in that payment's group.
        "AND NOT EXISTS (SELECT 1 FROM orders p WHERE p.dedupe_key = orders.order_id "
        "AND (p.origin LIKE 'stripe%' OR p.origin LIKE 'paypal%')) ORDER BY created_at, id"
    ).fetchall()
    matched = 0
    window = timedelta(hours=WINDOW_HOURS)
    with conn:
        for oid, origin, email, amount, currency, created in pending:
            t = parse_ts(created)
            rows = conn.execute(CANDIDATES_SQL, {
                "currency": currency, "amount": amount, "email": email, "origin": origin,
                "low": format_ts(t - window), "high": format_ts(t + window),
            }).fetchall()
            if not rows:
                continue
            best = min(rows, key=lambda r: (abs((parse_ts(r[1]) - t).total_seconds()), r[0]))
            conn.execute("UPDATE orders SET dedupe_key = ? WHERE id = ?", (best[0], oid))
            matched += 1
        share_order_keys(conn)  # the same order by another route joins the same group (core/orders.py)
        conn.execute(NAME_PRODUCTS_SQL)
    return matched


# A processor's charge rarely says what was bought; the CRM or shop order of the same purchase does. The copy
# that counts (the processor's, by default) takes that product, so filters and reports by product see it.
NAME_PRODUCTS_SQL = f"""
UPDATE orders AS p SET product = (
    SELECT o.product FROM orders o WHERE o.dedupe_key = p.dedupe_key AND o.product IS NOT NULL
      AND o.origin NOT LIKE 'stripe%' AND o.origin NOT LIKE 'paypal%' ORDER BY o.id LIMIT 1)
WHERE {PAYMENT} AND p.product IS NULL AND p.dedupe_key IS NOT NULL
  AND EXISTS (SELECT 1 FROM orders o WHERE o.dedupe_key = p.dedupe_key AND o.product IS NOT NULL
      AND o.origin NOT LIKE 'stripe%' AND o.origin NOT LIKE 'paypal%')
"""
