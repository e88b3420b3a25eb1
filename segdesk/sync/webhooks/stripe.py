"""Stripe's events, read by the Stripe connector's own object handlers (connectors/stripe_objects.py).

An Event's ``data.object`` is the object in the endpoint's API version
(https://docs.stripe.com/api/events/object); the handlers read the fields that
version keeps. Charges become orders (their payment intent the dedupe key, as
in the API sync), refunds and lost disputes take money back, customers tie a
customer id to an email, subscriptions keep their state.
"""

from __future__ import annotations

from ..connectors.stripe_objects import charges, customers, disputes, invoices, refund_objects, store_subscriptions
from .delivery import Unreadable

HANDLERS = (
    (("charge.succeeded", "charge.captured", "charge.updated", "charge.refunded"), charges),
    (("refund.created", "refund.updated", "refund.failed", "charge.refund.updated"), refund_objects),
    (("charge.dispute.",), disputes),
    (("customer.created", "customer.updated"), customers),
    (("customer.subscription.",), store_subscriptions),
    (("invoice.paid", "invoice.payment_succeeded"), invoices),
)


def apply(ctx, conn, delivery) -> bool:
    event = delivery.json()
    kind = event.get("type")
    obj = (event.get("data") or {}).get("object") if isinstance(event.get("data"), dict) else None
    if not isinstance(kind, str) or not isinstance(obj, dict):
        raise Unreadable("not a Stripe event (no type or data.object)")
    for prefixes, handler in HANDLERS:
        if any(kind == p or (p.endswith(".") and kind.startswith(p)) for p in prefixes):
            if not obj.get("id"):
                raise Unreadable(f"{kind} without an object id")
            handler(ctx, conn, [obj])
            return True
    return False
