"""Each vendor's own way of proving a webhook is theirs, and the id that makes a replay one delivery.

- Shopify: ``X-Shopify-Hmac-Sha256`` is the base64 HMAC-SHA256 of the raw body
  with the app's client secret; ``X-Shopify-Webhook-Id`` is the delivery id a
  retry keeps (https://shopify.dev/docs/apps/build/webhooks/verify-deliveries).
- WooCommerce: ``X-WC-Webhook-Signature`` is the base64 HMAC-SHA256 of the raw
  body with the webhook's secret (WC_Webhook::generate_signature,
  woocommerce/includes/class-wc-webhook.php); ``X-WC-Webhook-Delivery-ID`` names
  the delivery. Saving a webhook first posts an unsigned ping, the body
  ``webhook_id=<n>``, and WooCommerce activates the webhook only on a 200
  (WC_Webhook::deliver_ping): that ping is answered and not stored.
- Stripe: ``Stripe-Signature: t=<unix>,v1=<hex>[,v1=...]``, hex HMAC-SHA256 of
  ``"<t>.<raw body>"`` with the endpoint's ``whsec_`` secret; any v1 may match
  (during a secret roll there are two) and ``t`` must be under 300 s old
  (https://docs.stripe.com/webhooks#verify-manually); the event's ``id`` is the
  same on every retry.
- ThriveCart: a form POST whose ``thrivecart_secret`` field is the account's
  secret word (https://support.thrivecart.com/help/using-webhook-notifications/);
  it checks a new URL with a HEAD first. No delivery id: the body's hash.
- SamCart: its Notify URL posts JSON and documents no signature
  (https://help.samcart.com/support/solutions/articles/60000506436), so the URL
  the marketer pastes carries a random key, ``?key=...``, compared (hashed, in
  constant time) like the write key. No delivery id: the body's hash.
- Drip: JSON ``{"event", "data": {"account_id", "subscriber", "properties"},
  "occurred_at"}`` to the URL saved in Settings > Webhooks; Drip documents no
  signature, shared secret or delivery id (https://developer.drip.com/#webhooks,
  https://developer.drip.com/#webhook-events), so it gets SamCart's URL key and
  the body's hash. ``properties.delivery_id`` names the email sent, not the
  webhook delivery: two clicks in one email share it, so it cannot be the key.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from typing import NamedTuple
from urllib.parse import parse_qs

from segdesk.collector_relay.config import secret_matches
from segdesk.collector_relay.hook_sources import HookSource

STRIPE_TOLERANCE = 300
_WOO_PING = re.compile(rb"^webhook_id=\d+$")


class Verdict(NamedTuple):
    ok: bool
    reason: str = ""          # why not: a counter name in /healthz
    delivery_id: str = ""     # the vendor's id of this delivery, "" when it has none
    ping: bool = False        # a vendor's check of the URL: answer 200, store nothing


def _hmac_b64(key: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


def _same(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected.encode(), given.strip().encode())


def _shopify(source: HookSource, headers: dict, body: bytes, query: dict, now: float) -> Verdict:
    given = headers.get("x-shopify-hmac-sha256")
    if not given:
        return Verdict(False, "missing_signature")
    if not _same(_hmac_b64(source.key, body), given):
        return Verdict(False, "bad_signature")
    return Verdict(True, delivery_id=headers.get("x-shopify-webhook-id") or headers.get("x-shopify-event-id", ""))


def _woocommerce(source: HookSource, headers: dict, body: bytes, query: dict, now: float) -> Verdict:
    given = headers.get("x-wc-webhook-signature")
    if not given:
        return Verdict(True, ping=True) if _WOO_PING.match(body.strip()) else Verdict(False, "missing_signature")
    if not _same(_hmac_b64(source.key, body), given):
        return Verdict(False, "bad_signature")
    return Verdict(True, delivery_id=headers.get("x-wc-webhook-delivery-id", ""))


def _stripe(source: HookSource, headers: dict, body: bytes, query: dict, now: float) -> Verdict:
    header = headers.get("stripe-signature", "")
    pairs = [item.split("=", 1) for item in header.split(",") if "=" in item]
    stamps = [v.strip() for k, v in pairs if k.strip() == "t"]
    signatures = [v.strip() for k, v in pairs if k.strip() == "v1"]
    if not stamps or not signatures or not stamps[0].isdigit():
        return Verdict(False, "missing_signature")
    signed = stamps[0].encode() + b"." + body
    expected = hmac.new(source.key.encode(), signed, hashlib.sha256).hexdigest()
    if not any(_same(expected, s) for s in signatures):
        return Verdict(False, "bad_signature")
    # Checked after the signature, so a forged timestamp cannot pass as merely late.
    if int(stamps[0]) < now - STRIPE_TOLERANCE:
        return Verdict(False, "stale_timestamp")
    try:
        event_id = json.loads(body).get("id")
    except (ValueError, AttributeError):
        event_id = None
    return Verdict(True, delivery_id=event_id if isinstance(event_id, str) else "")


def _thrivecart(source: HookSource, headers: dict, body: bytes, query: dict, now: float) -> Verdict:
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True)
    except UnicodeDecodeError:
        return Verdict(False, "missing_signature")
    given = (fields.get("thrivecart_secret") or [""])[0]
    if not given:
        return Verdict(False, "missing_signature")
    return Verdict(True) if secret_matches(given, source.secret_hash) else Verdict(False, "bad_signature")


def _url_key(source: HookSource, headers: dict, body: bytes, query: dict, now: float) -> Verdict:
    given = query.get("key")
    if not given:
        return Verdict(False, "missing_signature")
    return Verdict(True) if secret_matches(given, source.secret_hash) else Verdict(False, "bad_signature")


SCHEMES = {"shopify": _shopify, "woocommerce": _woocommerce, "stripe": _stripe,
           "thrivecart": _thrivecart, "samcart": _url_key, "drip": _url_key}


def verify(source: HookSource, headers: dict, body: bytes, query: dict, now: float | None = None) -> Verdict:
    return SCHEMES[source.kind](source, headers, body, query, time.time() if now is None else now)


def delivery_key(source: HookSource, verdict: Verdict, body: bytes) -> str:
    """What makes a replay one delivery: the vendor's id, else the body's hash."""
    if verdict.delivery_id:
        return f"{source.name}:id:{verdict.delivery_id[:200]}"
    return f"{source.name}:sha256:{hashlib.sha256(body).hexdigest()}"
