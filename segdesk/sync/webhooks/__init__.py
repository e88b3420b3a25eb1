"""Webhook deliveries pulled from the relay, read into orders, refunds, subscriptions, email clicks and tags.

One module per vendor; each ``apply(ctx, conn, delivery)`` writes what the
delivery says and returns True, returns False for a topic SegDesk does not
read (kept as ``ignored``), or raises :class:`Unreadable` with one line.

Where a vendor's API connector exists (Shopify, WooCommerce, Stripe), the
webhook is mapped into the shape that connector reads and handed to the
connector's own store function, under the origin the connector uses
(``shopify`` for a hook source named ``shopify``, else ``kind:name``), so an
order seen by webhook and by API is one row with one key.
"""

from __future__ import annotations

from .delivery import Delivery, HookContext, Unreadable  # first: the parsers' own imports lead back here
from . import drip, samcart, shopify, stripe, thrivecart, woocommerce  # noqa: E402

__all__ = ["Delivery", "Unreadable", "apply"]

PARSERS = {"shopify": shopify.apply, "woocommerce": woocommerce.apply, "stripe": stripe.apply,
           "thrivecart": thrivecart.apply, "samcart": samcart.apply, "drip": drip.apply}


def apply(conn, delivery: Delivery) -> tuple[bool, dict[str, int]]:
    """Write one delivery: (read, rows changed). Raises Unreadable."""
    if delivery.kind not in PARSERS:
        raise Unreadable(f"unknown webhook kind {delivery.kind!r}")
    ctx = HookContext(delivery.origin)
    read = PARSERS[delivery.kind](ctx, conn, delivery)
    return read, ctx.changed
