"""One module per vendor; each exposes ``sync(ctx)`` (see sync/context.py)."""

from __future__ import annotations

from . import activecampaign, csvfile, hubspot, keap, kit, klaviyo, mailchimp, paypal, relay, stripe

CONNECTORS = {
    "relay": relay,
    "stripe": stripe,
    "paypal": paypal,
    "activecampaign": activecampaign,
    "hubspot": hubspot,
    "kit": kit,
    "keap": keap,
    "mailchimp": mailchimp,
    "klaviyo": klaviyo,
    "csv": csvfile,
}
