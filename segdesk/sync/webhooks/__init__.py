"""Webhook deliveries pulled from the relay, read into orders, refunds and subscriptions.

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

import hashlib
from dataclasses import dataclass, field

import orjson

from ...errors import InvalidInput


class Unreadable(InvalidInput):
    """A delivery SegDesk cannot read: kept with this one line, and read again on later syncs."""


@dataclass(frozen=True)
class Delivery:
    key: str
    source: str
    kind: str
    received_at: str
    headers: dict
    body: bytes

    @property
    def origin(self) -> str:
        """The origin of the rows it writes: the one its vendor's API connector uses for that name."""
        return self.kind if self.source == self.kind else f"{self.kind}:{self.source}"

    @property
    def digest(self) -> str:
        """A short stable id of this delivery, for rows a vendor gives no id of their own (a rebill)."""
        return hashlib.sha256(self.key.encode()).hexdigest()[:16]

    def json(self) -> dict:
        try:
            payload = orjson.loads(self.body)
        except orjson.JSONDecodeError:
            raise Unreadable("the body is not JSON") from None
        if not isinstance(payload, dict):
            raise Unreadable("the body is not a JSON object")
        return payload


@dataclass
class HookContext:
    """The part of a SyncContext the connectors' store functions use: the origin and what changed."""

    origin: str
    changed: dict[str, int] = field(default_factory=dict)

    def add_changed(self, **changed: int) -> None:
        for key, n in changed.items():
            if n:
                self.changed[key] = self.changed.get(key, 0) + n


def apply(conn, delivery: Delivery) -> tuple[bool, dict[str, int]]:
    """Write one delivery: (read, rows changed). Raises Unreadable."""
    from . import samcart, shopify, stripe, thrivecart, woocommerce

    parsers = {"shopify": shopify.apply, "woocommerce": woocommerce.apply, "stripe": stripe.apply,
               "thrivecart": thrivecart.apply, "samcart": samcart.apply}
    if delivery.kind not in parsers:
        raise Unreadable(f"unknown webhook kind {delivery.kind!r}")
    ctx = HookContext(delivery.origin)
    read = parsers[delivery.kind](ctx, conn, delivery)
    return read, ctx.changed
