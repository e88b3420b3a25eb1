"""Webhook senders that sign exactly as each vendor does, and payloads in each vendor's shape.

Signing (the vendors' own documents, cited in segdesk/collector_relay/hook_verify.py):
Shopify base64 HMAC-SHA256 of the raw body in ``X-Shopify-Hmac-Sha256``;
WooCommerce the same in ``X-WC-Webhook-Signature``; Stripe
``Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "t.body">``; ThriveCart a
form POST carrying ``thrivecart_secret``; SamCart and Drip JSON to a URL
carrying the marketer's key. Payload fields are the ones each vendor documents for its
order, refund and subscription notifications (Shopify's REST Order and Refund
resources, WooCommerce's REST v3 order, Stripe's Event wrapping its object,
ThriveCart's webhook parameters, SamCart's Notify URL JSON).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from urllib.parse import urlencode

import httpx


def _b64_hmac(key: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(key.encode(), body, hashlib.sha256).digest()).decode()


class Sender:
    def __init__(self, url: str, name: str, secret: str) -> None:
        self.url, self.name, self.secret = url.rstrip("/"), name, secret

    def post(self, body: bytes, headers: dict, query: str = "") -> httpx.Response:
        return httpx.post(f"{self.url}/v1/hooks/{self.name}{query}", content=body, headers=headers, timeout=10)


class ShopifySender(Sender):
    def send(self, topic: str, payload: dict, webhook_id: str | None = None, sign_with: str | None = None):
        body = json.dumps(payload).encode()
        return self.post(body, {"Content-Type": "application/json", "X-Shopify-Topic": topic,
                                "X-Shopify-Shop-Domain": "demo.myshopify.com", "X-Shopify-API-Version": "2025-01",
                                "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
                                "X-Shopify-Hmac-Sha256": _b64_hmac(sign_with or self.secret, body)})


def shopify_order(order_id: int, email: str, amount: str, currency: str = "USD", *, created: str,
                  status: str = "paid", refunds: list | None = None, product: str = "Course") -> dict:
    money = {"amount": amount, "currency_code": currency}
    return {"id": order_id, "admin_graphql_api_id": f"gid://shopify/Order/{order_id}", "name": "#1001",
            "email": email, "created_at": created, "processed_at": created, "updated_at": created,
            "currency": currency, "total_price": amount, "financial_status": status, "test": False,
            "total_price_set": {"shop_money": money, "presentment_money": money},
            "customer": {"email": email}, "line_items": [{"name": product, "title": product, "quantity": 1}],
            "refunds": refunds or []}


def shopify_refund(refund_id: int, order_id: int, amount: str, currency: str = "USD", *, created: str) -> dict:
    return {"id": refund_id, "order_id": order_id, "created_at": created, "processed_at": created,
            "transactions": [{"id": refund_id + 1, "order_id": order_id, "kind": "refund", "status": "success",
                              "amount": amount, "currency": currency}]}


class WooSender(Sender):
    def send(self, topic: str, payload: dict, delivery_id: str | None = None, sign_with: str | None = None):
        body = json.dumps(payload).encode()
        resource, _, event = topic.partition(".")
        return self.post(body, {"Content-Type": "application/json", "X-WC-Webhook-Source": "https://shop.example/",
                                "X-WC-Webhook-Topic": topic, "X-WC-Webhook-Resource": resource,
                                "X-WC-Webhook-Event": event, "X-WC-Webhook-ID": "7",
                                "X-WC-Webhook-Delivery-ID": delivery_id or uuid.uuid4().hex,
                                "X-WC-Webhook-Signature": _b64_hmac(sign_with or self.secret, body)})

    def ping(self) -> httpx.Response:
        return self.post(b"webhook_id=7", {"Content-Type": "application/x-www-form-urlencoded"})


def woo_order(order_id: int, email: str, total: str, currency: str = "USD", *, created: str,
              status: str = "completed", refunds: list | None = None) -> dict:
    return {"id": order_id, "status": status, "currency": currency, "total": total,
            "date_created_gmt": created, "date_paid_gmt": created, "date_modified_gmt": created,
            "billing": {"email": email}, "line_items": [{"name": "Mug", "quantity": 1}], "meta_data": [],
            "refunds": refunds or []}


class StripeSender(Sender):
    def send(self, event: dict, timestamp: int | None = None, sign_with: str | None = None,
             extra_v1: str | None = None):
        body = json.dumps(event).encode()
        t = int(time.time()) if timestamp is None else timestamp
        sig = hmac.new((sign_with or self.secret).encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
        header = f"t={t},v1={sig}" + (f",v1={extra_v1}" if extra_v1 else "") + ",v0=6ffbb59b2300aae63f27240"
        return self.post(body, {"Content-Type": "application/json; charset=utf-8", "Stripe-Signature": header})


def stripe_event(event_id: str, kind: str, obj: dict) -> dict:
    return {"id": event_id, "object": "event", "api_version": "2025-03-31.basil", "created": int(time.time()),
            "type": kind, "livemode": False, "data": {"object": obj}}


class ThriveCartSender(Sender):
    def send(self, fields: dict, secret: str | None = None):
        form = {**fields, "thrivecart_secret": self.secret if secret is None else secret}
        return self.post(urlencode(form).encode(), {"Content-Type": "application/x-www-form-urlencoded"})

    def head(self) -> httpx.Response:
        return httpx.head(f"{self.url}/v1/hooks/{self.name}", timeout=10)


def thrivecart_fields(event: str, order_id: int, email: str, total_cents: int, *, currency: str = "USD",
                      product: str = "Coaching Program", affiliate: str | None = None, mode: str = "live",
                      extra: dict | None = None) -> dict:
    fields = {"event": event, "mode": mode, "mode_int": "2" if mode == "live" else "1",
              "thrivecart_account": "demo", "base_product": "3", "base_product_name": product,
              "base_product_owner": "1", "order_id": str(order_id), "invoice_id": f"000000{order_id}",
              "order_date": "2023-11-14", "order_timestamp": "1700000000", "currency": currency,
              "customer_id": "55", "customer_identifier": "cus_TC1",
              "customer[id]": "55", "customer[email]": email, "customer[name]": "Ann Buyer",
              "customer[first_name]": "Ann", "customer[last_name]": "Buyer",
              "order[id]": str(order_id), "order[tax]": "0", "order[processor]": "stripe",
              "order[total]": str(total_cents), "order[total_str]": f"{total_cents / 100:.2f}",
              "order[charges][0][name]": product, "order[charges][0][amount]": str(total_cents),
              "order[charges][0][type]": "single", "order[charges][0][reference]": "3"}
    if affiliate:
        fields.update({"affiliate[id]": "9", "affiliate[name]": affiliate, "affiliate[email]": "aff@example.com"})
    fields.update(extra or {})
    return fields


class SamCartSender(Sender):
    def send(self, payload: dict, key: str | None = None):
        return self.post(json.dumps(payload).encode(), {"Content-Type": "application/json"},
                         query=f"?key={self.secret if key is None else key}")


def samcart_payload(kind: str, order_id: int, email: str, total: str, *, created: str,
                    product: str = "Masterclass", extra: dict | None = None) -> dict:
    payload = {"type": kind, "created_at": created,
               "customer": {"id": 31, "email": email, "first_name": "Ann", "last_name": "Buyer"},
               "order": {"id": order_id, "total": total, "currency": "USD", "created_at": created},
               "products": [{"id": 4, "name": product, "price": total, "quantity": 1}]}
    payload.update(extra or {})
    return payload


class DripSender(SamCartSender):
    """Drip posts each event as JSON to the address saved in its Webhooks settings and signs nothing
    (developer.drip.com/#webhooks), so the relay's address carries a key, as for SamCart."""


# One webhook source of every kind, as tests configure a relay with them.
SECRETS = {"shopify": "shpss_app_secret", "woocommerce": "woo webhook secret", "stripe": "whsec_test_abc",
           "thrivecart": "TCSECRETWORD", "samcart": "samcart-url-key"}
SENDERS = {"shopify": ShopifySender, "woocommerce": WooSender, "stripe": StripeSender,
           "thrivecart": ThriveCartSender, "samcart": SamCartSender}


def senders(url: str) -> dict[str, Sender]:
    """A sender per kind, for a relay whose sources are named after their kinds with SECRETS."""
    return {kind: cls(url, kind, SECRETS[kind]) for kind, cls in SENDERS.items()}
