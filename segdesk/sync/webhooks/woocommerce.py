"""WooCommerce's order webhooks, read by the WooCommerce connector's own store function.

Topics read (``X-WC-Webhook-Topic``): ``order.created``, ``order.updated``,
``order.restored`` carry the REST v3 order itself
(https://woocommerce.github.io/woocommerce-rest-api-docs/#webhooks), which
connectors/woocommerce.py stores as it does a listed one. The order's
``refunds`` summary (id and negative ``total``) gives each refund under the
connector's own id ``refund:<id>``, dated the order's last change until the
API sync reads its exact date. ``order.deleted`` carries only the id and
removes the order.
"""

from __future__ import annotations

from ..connectors.woocommerce import store_orders
from .delivery import Unreadable

ORDER_TOPICS = frozenset({"order.created", "order.updated", "order.restored"})


def apply(ctx, conn, delivery) -> bool:
    topic = delivery.headers.get("x-wc-webhook-topic", "")
    payload = delivery.json()
    if payload.get("id") is None and topic.startswith("order."):
        raise Unreadable("an order without an id")
    if topic in ORDER_TOPICS:
        summary = [r for r in payload.get("refunds") or [] if isinstance(r, dict) and r.get("id") is not None]
        refunded = {payload["id"]: [{"id": r["id"], "amount": r.get("total"),
                                     "date_created_gmt": payload.get("date_modified_gmt")} for r in summary]}
        store_orders(ctx, conn, [payload], refunded)
        return True
    if topic == "order.deleted":
        gone = conn.execute("DELETE FROM orders WHERE origin = ? AND order_id = ?",
                            (ctx.origin, str(payload["id"]))).rowcount
        ctx.add_changed(orders=gone)
        return True
    return False
