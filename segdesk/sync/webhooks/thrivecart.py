"""ThriveCart's webhook notifications: sales, refunds, rebills and cancellations.

ThriveCart posts a form (https://support.thrivecart.com/help/using-webhook-notifications/):
``event`` (``order.success``, ``order.refund``, ``order.subscription_payment``,
``order.subscription_cancelled``, ...), ``mode`` (``test`` or ``live``),
``order_id``, ``currency`` (upper case), ``base_product`` and
``base_product_name``, ``customer[email]``/``customer[name]``,
``customer_identifier`` (the processor's customer id), ``order[total]``,
``order[processor]``, ``order[charges][i][name]`` and, when one is credited,
``affiliate[name]``/``affiliate[id]``. Prices are "in hundreds" (1499 is
$14.99); for a currency without minor units that is divided by 100.

Rows: a sale is the order ``<order_id>`` (origin ``thrivecart``), a rebill an
order ``<order_id>:rebill:<delivery>`` (ThriveCart gives a rebill no id of its
own; the delivery's key is stable across replays), a refund
``refund:<order_id>:<delivery>`` against the sale, and the subscription
``<order_id>:<base_product>`` becomes active or canceled. The affiliate is the
buyer's tag ``affiliate:<name>``. Test-mode notices are ignored. A sale paid
through Stripe is matched to Stripe's charge by the reconciliation (same
email, amount and currency within 36 hours), helped by the
``customer_identifier`` kept as the Stripe customer's id.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from ..records import epoch_ts, keys
from ...core.money import ISO_CODES, exponent
from . import carts
from .delivery import Unreadable


def fields_of(body: bytes) -> dict[str, str]:
    try:
        return dict(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    except UnicodeDecodeError:
        raise Unreadable("the form is not UTF-8") from None


def _amount(value: str | None, currency: str) -> int | None:
    if value is None or not value.strip().lstrip("-").isdigit():
        return None
    return int(value) * 10 ** exponent(currency) // 100


def _products(f: dict) -> str | None:
    names = [f.get("base_product_name")] + [v for k, v in sorted(f.items())
                                            if k.startswith("order[charges][") and k.endswith("][name]")]
    return "; ".join(dict.fromkeys(n for n in names if n)) or None


def apply(ctx, conn, delivery) -> bool:
    f = fields_of(delivery.body)
    event, order_id = f.get("event", ""), f.get("order_id") or f.get("order[id]")
    if f.get("mode") == "test" or not event.startswith("order."):
        return False
    if not order_id:
        raise Unreadable(f"{event} without an order_id")
    currency = (f.get("currency") or "").lower()
    if currency not in ISO_CODES:
        raise Unreadable(f"{event} for order {order_id}: currency {f.get('currency')!r} is not a currency code")
    stamp = f.get("order_timestamp") or ""
    when = epoch_ts(stamp) if stamp.isdigit() else delivery.received_at
    email = carts.buyer(ctx, conn, f.get("customer[email]"), f.get("customer[name]"), when)
    total = _amount(f.get("order[total]"), currency)
    plan = f.get("base_product_name") or f.get("base_product")
    subscription_id = f"{order_id}:{f.get('base_product') or plan}"
    if event == "order.success":
        if total is None:
            raise Unreadable(f"order {order_id}: order[total] is not a whole number of cents")
        carts.sale(ctx, conn, order_id, email, total, currency, when, _products(f))
        carts.affiliate(ctx, conn, email, f.get("affiliate[name]") or f.get("affiliate[id]"), when)
        customer = f.get("customer_identifier")
        if customer and f.get("order[processor]") == "stripe" and customer.startswith("cus_"):
            ctx.add_changed(customer_ids=keys(conn, [(f"stripe:{customer}", "customer", email, ctx.origin, when)]))
        return True
    if event == "order.refund":
        amount = _amount(f.get("refund[amount]"), currency) or total
        if not amount:
            raise Unreadable(f"refund of order {order_id} without an amount")
        carts.refund(ctx, conn, f"refund:{order_id}:{delivery.digest}", order_id, abs(amount), currency, when)
        return True
    if event in ("order.subscription_payment", "order.rebill"):
        if total is None:
            raise Unreadable(f"rebill of order {order_id}: order[total] is not a whole number of cents")
        carts.sale(ctx, conn, f"{order_id}:rebill:{delivery.digest}", email, total, currency, when, _products(f))
        carts.subscription(ctx, conn, subscription_id, email=email, status="active", plan=plan, amount=total,
                           currency=currency, started=when)
        return True
    if event == "order.subscription_cancelled":
        carts.subscription(ctx, conn, subscription_id, email=email, status="canceled", plan=plan,
                           currency=currency, canceled=when)
        return True
    return False
