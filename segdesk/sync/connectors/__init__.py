"""One module per vendor; each exposes ``sync(ctx)`` (see sync/context.py)."""

from __future__ import annotations

from . import (activecampaign, csvfile, drip, ecb, google_ads, highlevel, hubspot, keap, kit, klaviyo, mailchimp,
               meta_ads, microsoft_ads, ontraport, paypal, relay, samcart, shopify, stripe, woocommerce)

CONNECTORS = {
    "relay": relay,
    "stripe": stripe,
    "paypal": paypal,
    "activecampaign": activecampaign,
    "hubspot": hubspot,
    "kit": kit,
    "keap": keap,
    "shopify": shopify,
    "woocommerce": woocommerce,
    "samcart": samcart,
    "mailchimp": mailchimp,
    "klaviyo": klaviyo,
    "drip": drip,
    "ontraport": ontraport,
    "highlevel": highlevel,
    "csv": csvfile,
    "meta-ads": meta_ads,
    "google-ads": google_ads,
    "microsoft-ads": microsoft_ads,
    "ecb": ecb,
}
