"""Shopify's order and refund webhooks, read by the Shopify connector's own store function.

Topics read: ``orders/create``, ``orders/updated``, ``orders/paid``,
``orders/cancelled`` (the REST Order resource) and ``refunds/create`` (the
REST Refund resource), https://shopify.dev/docs/api/webhooks. An order is
mapped into the GraphQL node that connectors/shopify.py stores (its
``legacyResourceId`` is the REST ``id``), and a refund keeps the GraphQL id
``gid://shopify/Refund/<id>``, so the API sync later finds the same rows.
A refund's amount is the sum of its successful ``refund`` transactions.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from ..connectors.shopify import store_orders
from ..records import iso_ts, refunds
from ...core.event_orders import minor_units
from .delivery import Unreadable

ORDER_TOPICS = frozenset({"orders/create", "orders/updated", "orders/paid", "orders/cancelled",
                          "orders/fulfilled", "orders/partially_fulfilled"})


def _money(amount, currency) -> dict:
    return {"shopMoney": {"amount": amount, "currencyCode": currency}}


def _refunded(refund: dict) -> tuple[str, str] | None:
    total, currency = Decimal(0), None
    for t in refund.get("transactions") or []:
        if isinstance(t, dict) and t.get("kind") == "refund" and t.get("status") == "success":
            try:
                total += Decimal(str(t.get("amount")))
            except InvalidOperation:
                raise Unreadable(f"refund {refund.get('id')} has an amount that is not a number") from None
            currency = currency or t.get("currency")
    return (str(total), currency) if currency else None


def _refund_node(refund: dict) -> dict | None:
    money = _refunded(refund)
    if not money or refund.get("id") is None:
        return None
    return {"id": f"gid://shopify/Refund/{refund['id']}", "createdAt": refund.get("created_at"),
            "totalRefundedSet": _money(*money)}


def order_node(o: dict) -> dict:
    """A REST order as the GraphQL node connectors/shopify.py reads."""
    if o.get("id") is None:
        raise Unreadable("an order without an id")
    shop = ((o.get("total_price_set") or {}).get("shop_money")) or {}
    amount, currency = shop.get("amount", o.get("total_price")), shop.get("currency_code", o.get("currency"))
    items = [{"name": i.get("name") or i.get("title")} for i in o.get("line_items") or [] if isinstance(i, dict)]
    return {"legacyResourceId": str(o["id"]), "createdAt": o.get("created_at"), "processedAt": o.get("processed_at"),
            "updatedAt": o.get("updated_at"), "test": bool(o.get("test")), "email": o.get("email"),
            "displayFinancialStatus": str(o.get("financial_status") or "").upper(),
            "customer": o.get("customer") if isinstance(o.get("customer"), dict) else {},
            "totalPriceSet": _money(amount, currency), "lineItems": {"nodes": items},
            "refunds": [n for n in (_refund_node(r) for r in o.get("refunds") or [] if isinstance(r, dict)) if n],
            "customerJourneySummary": None}


def apply(ctx, conn, delivery) -> bool:
    topic = delivery.headers.get("x-shopify-topic", "")
    payload = delivery.json()
    if topic in ORDER_TOPICS:
        store_orders(ctx, conn, [order_node(payload)])
        return True
    if topic == "refunds/create":
        node = _refund_node(payload)
        if node is None or payload.get("order_id") is None:
            return False  # a refund of nothing but restocking: no money returned
        money = node["totalRefundedSet"]["shopMoney"]
        currency = str(money["currencyCode"]).lower()
        value = minor_units(money["amount"], currency)
        if value:
            ctx.add_changed(refunds=refunds(conn, [(ctx.origin, node["id"], str(payload["order_id"]), value,
                                                   currency, iso_ts(payload.get("created_at")))]))
        return True
    return False
