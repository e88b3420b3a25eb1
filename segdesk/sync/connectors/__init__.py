"""One module per vendor; each exposes ``sync(ctx)`` (see sync/context.py).

``SIGN_IN``: the kinds whose refresh token comes from a browser sign-in (the
installed-app flow, oauth_loopback.py); each module has ``client_of(secret)``,
``sign_in(grant, ...)`` and ``prepare_secret(secret, ...)``.
"""

from __future__ import annotations

from . import (activecampaign, csvfile, drip, ecb, google_ads, google_auth, highlevel, hubspot, keap, kit, klaviyo,
               mailchimp, meta_ads, microsoft_ads, microsoft_auth, ontraport, paypal, relay, samcart, shopify, stripe,
               woocommerce)

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

SIGN_IN = {"google-ads": google_auth, "microsoft-ads": microsoft_auth}
