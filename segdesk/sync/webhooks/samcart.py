"""SamCart's Notify URL (webhook) notifications: orders, refunds, subscription charges and cancellations.

SamCart posts JSON (https://help.samcart.com/support/solutions/articles/60000506436):
``type`` names the trigger (``Order``, ``Refund``, ``RecurringPaymentSucceeded``
/ ``Subscription Charged``, ``SubscriptionCanceled`` / ``Cancel``), with
``customer`` (``email``, ``first_name``, ``last_name``), ``order`` (``id``,
``total`` in major units, ``currency``, ``created_at``) and ``products``
(``name``). A refund's amount is ``refund.amount`` / ``refund_amount`` when
given, else the order's total. SamCart signs nothing (the relay checks the
URL's key instead).

It meets the SamCart REST connector in the keys: ``samcart:<order id>`` for a
sale and ``samcart:charge:<charge id>`` for a rebill, so a purchase seen by
webhook and by the API is one purchase. A rebill without a charge id is an
order of its own per delivery, never a rewrite of the first sale.
"""

from __future__ import annotations

from ..connectors.samcart import rebill_key
from ..records import iso_ts
from ...core.event_orders import minor_units
from ...core.money import ISO_CODES
from . import carts
from .delivery import Unreadable

SALES = {"order", "recurringpaymentsucceeded", "subscriptioncharged", "rebill"}
REFUNDS = {"refund", "partialrefund"}
CANCELS = {"subscriptioncanceled", "subscriptioncancelled", "cancel", "canceled"}


def _kind(payload: dict) -> str:
    return "".join(ch for ch in str(payload.get("type") or payload.get("event") or "").lower() if ch.isalnum())


def apply(ctx, conn, delivery) -> bool:
    payload = delivery.json()
    kind = _kind(payload)
    order = payload.get("order") if isinstance(payload.get("order"), dict) else {}
    customer = payload.get("customer") if isinstance(payload.get("customer"), dict) else {}
    if kind not in SALES | REFUNDS | CANCELS:
        return False
    currency = str(order.get("currency") or payload.get("currency") or "usd").lower()
    if currency not in ISO_CODES:
        raise Unreadable(f"SamCart {kind}: currency {currency!r} is not a currency code")
    when = iso_ts(order.get("created_at")) or iso_ts(payload.get("created_at")) or delivery.received_at
    name = " ".join(p for p in (customer.get("first_name"), customer.get("last_name")) if p) or None
    email = carts.buyer(ctx, conn, customer.get("email"), name, when)
    products = "; ".join(dict.fromkeys(str(p.get("name")) for p in payload.get("products") or []
                                       if isinstance(p, dict) and p.get("name"))) or None
    subscription = payload.get("subscription") if isinstance(payload.get("subscription"), dict) else {}
    if kind in CANCELS:
        sub_id = subscription.get("id") or order.get("id")
        if sub_id is None:
            raise Unreadable("SamCart cancellation without a subscription or order id")
        carts.subscription(ctx, conn, f"samcart:{sub_id}", email=email, status="canceled", plan=products,
                           canceled=iso_ts(payload.get("created_at")) or delivery.received_at)
        return True
    if order.get("id") is None:
        raise Unreadable(f"SamCart {kind} without order.id")
    key = f"samcart:{order['id']}"
    total = minor_units(order.get("total"), currency)
    if kind in REFUNDS:
        given = (payload.get("refund") or {}).get("amount") if isinstance(payload.get("refund"), dict) else None
        amount = minor_units(given if given is not None else payload.get("refund_amount", order.get("total")),
                             currency)
        if not amount:
            raise Unreadable(f"SamCart refund of {key} without an amount")
        carts.refund(ctx, conn, f"refund:{key}:{delivery.digest}", key, abs(amount), currency,
                     iso_ts(payload.get("created_at")) or delivery.received_at)
        return True
    if total is None:
        raise Unreadable(f"SamCart {kind} {key}: order.total is not an amount")
    if kind != "order":
        # A rebill is money received on a later day: an order of its own, never a rewrite of the first sale's
        # row. Its charge's key is the one the REST connector gives it (samcart.rebill_key), so both routes meet.
        charge = payload.get("charge") if isinstance(payload.get("charge"), dict) else {}
        key = rebill_key(charge["id"]) if charge.get("id") is not None else f"{key}:rebill:{delivery.digest}"
        when = iso_ts(charge.get("created_at")) or iso_ts(payload.get("created_at")) or when
    carts.sale(ctx, conn, key, email, total, currency, when, products)
    if kind != "order" or subscription.get("id") is not None:
        carts.subscription(ctx, conn, f"samcart:{subscription.get('id') or order['id']}", email=email,
                           status="active", plan=products, amount=total, currency=currency, started=when)
    return True
