"""One module per vendor; each exposes ``sync(ctx)`` (see sync/context.py)."""

from __future__ import annotations

from . import activecampaign, csvfile, ecb, hubspot, keap, kit, paypal, relay, stripe

CONNECTORS = {
    "relay": relay,
    "stripe": stripe,
    "paypal": paypal,
    "activecampaign": activecampaign,
    "hubspot": hubspot,
    "kit": kit,
    "keap": keap,
    "csv": csvfile,
    "ecb": ecb,
}
