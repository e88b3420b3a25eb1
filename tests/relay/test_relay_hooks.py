"""Webhooks at a real relay on loopback, on both buffers: each vendor's scheme with a good, a bad
and a replayed signature; refusals counted by reason; the pull and ack of deliveries."""

from __future__ import annotations

import base64
import time

import httpx
import pytest

from segdesk.collector_relay import hook_sources
from tests.hook_senders import SECRETS, samcart_payload, senders, shopify_order, stripe_event, thrivecart_fields, \
    woo_order
from tests.pg import both_buffers  # noqa: F401  (every test on SQLite and PostgreSQL)

CREATED = "2023-11-14T22:13:20Z"


@pytest.fixture
def hooked(relay_data, make_relay, make_clients):
    """A relay with one webhook source of every kind: (relay, clients, senders by kind)."""
    data, _ = relay_data
    for kind, secret in SECRETS.items():
        hook_sources.add(data, kind, None, secret)
    relay = make_relay()
    return relay, make_clients(relay), senders(relay.url)


def pulled(clients) -> list[dict]:
    page = clients.pull.get("/v1/webhooks", params={"after": 0, "limit": 100})
    assert page.status_code == 200, page.text
    return page.json()["webhooks"]


def rejected(clients) -> dict:
    return clients.pull.get("/healthz").json()["webhooks"]["rejected"]


def test_shopify_good_bad_and_replayed(hooked):
    relay, clients, senders = hooked
    order = shopify_order(820982911946154508, "ann@x.com", "49.99", created=CREATED)
    good = senders["shopify"].send("orders/create", order, webhook_id="wh-1")
    assert good.status_code == 200 and good.json() == {"success": True, "duplicate": False}
    assert senders["shopify"].send("orders/create", order, webhook_id="wh-1").json()["duplicate"] is True
    bad = senders["shopify"].send("orders/create", order, webhook_id="wh-2", sign_with="not the secret")
    assert bad.status_code == 401
    stored = pulled(clients)
    assert [(h["source"], h["kind"], h["headers"]["x-shopify-topic"]) for h in stored] == \
        [("shopify", "shopify", "orders/create")]
    assert "x-shopify-hmac-sha256" not in stored[0]["headers"]  # signatures are not kept
    assert base64.b64decode(stored[0]["body"]).startswith(b'{"id": 820982911946154508')
    assert rejected(clients) == {"bad_signature": 1}


def test_woocommerce_good_bad_replayed_and_its_unsigned_ping(hooked):
    relay, clients, senders = hooked
    woo = senders["woocommerce"]
    assert woo.ping().status_code == 200  # WooCommerce saves a webhook only after a 200 to this
    order = woo_order(701, "ann@x.com", "4900", "JPY", created="2023-11-14T22:14:20")
    assert woo.send("order.created", order, delivery_id="d1").status_code == 200
    assert woo.send("order.created", order, delivery_id="d1").json()["duplicate"] is True
    assert woo.send("order.created", order, delivery_id="d2", sign_with="wrong").status_code == 401
    unsigned = woo.post(b'{"id": 1}', {"Content-Type": "application/json"})
    assert unsigned.status_code == 401
    assert len(pulled(clients)) == 1
    assert rejected(clients) == {"bad_signature": 1, "missing_signature": 1}


def test_stripe_good_bad_stale_replayed_and_a_rolled_secret(hooked):
    relay, clients, senders = hooked
    stripe = senders["stripe"]
    event = stripe_event("evt_1", "charge.succeeded", {"id": "ch_1", "object": "charge"})
    assert stripe.send(event).status_code == 200
    assert stripe.send(event).json()["duplicate"] is True  # Stripe's retry: same event id
    assert stripe.send(event, sign_with="whsec_other").status_code == 401
    stale = stripe.send(stripe_event("evt_2", "charge.succeeded", {}), timestamp=int(time.time()) - 301)
    assert stale.status_code == 401 and "stale timestamp" in stale.json()["error"]
    # During a secret roll Stripe sends two v1 signatures; one good one is enough.
    rolled = stripe.send(stripe_event("evt_3", "charge.succeeded", {}), extra_v1="00" * 32)
    assert rolled.status_code == 200
    assert [h["key"] for h in pulled(clients)] == ["stripe:id:evt_1", "stripe:id:evt_3"]
    assert rejected(clients) == {"bad_signature": 1, "stale_timestamp": 1}


def test_thrivecart_head_check_good_bad_and_replayed(hooked):
    relay, clients, senders = hooked
    tc = senders["thrivecart"]
    assert tc.head().status_code == 200  # ThriveCart adds a URL only after a 2xx to HEAD
    fields = thrivecart_fields("order.success", 4021, "ann@x.com", 9700, affiliate="Partner Pat")
    assert tc.send(fields).status_code == 200
    assert tc.send(fields).json()["duplicate"] is True
    assert tc.send(fields, secret="guess").status_code == 401
    assert tc.send({k: v for k, v in fields.items()}, secret="").status_code == 401
    assert len(pulled(clients)) == 1
    assert rejected(clients) == {"bad_signature": 1, "missing_signature": 1}


def test_samcart_key_in_the_url_good_bad_and_replayed(hooked):
    relay, clients, senders = hooked
    sc = senders["samcart"]
    payload = samcart_payload("Order", 9001, "ann@x.com", "49.00", created=CREATED)
    assert sc.send(payload).status_code == 200
    assert sc.send(payload).json()["duplicate"] is True
    assert sc.send(payload, key="samcart-url-kez").status_code == 401  # one letter off
    assert sc.post(b"{}", {"Content-Type": "application/json"}).status_code == 401
    assert len(pulled(clients)) == 1


def test_unknown_source_oversized_body_and_garbage_never_5xx(hooked, make_relay):
    relay, clients, senders = hooked
    assert httpx.post(f"{relay.url}/v1/hooks/nobody", content=b"{}").status_code == 401
    assert httpx.head(f"{relay.url}/v1/hooks/nobody").status_code == 401
    big = b"x" * (2 * 1024 * 1024 + 1)
    assert senders["shopify"].post(big, {"X-Shopify-Hmac-Sha256": "abc"}).status_code == 413
    for body in (b"", b"\xff\xfe\x00", b"thrivecart_secret=%ZZ", b"a=" + b"[" * 5000):
        for kind in SECRETS:
            status = senders[kind].post(body, {"Content-Type": "application/x-www-form-urlencoded"}).status_code
            assert status in (401, 400), (kind, body[:10], status)
    assert rejected(clients)["unknown_source"] == 2
    assert pulled(clients) == []


def test_pull_needs_the_token_pages_in_order_and_acks(hooked):
    relay, clients, senders = hooked
    for i in range(5):
        senders["stripe"].send(stripe_event(f"evt_{i}", "charge.succeeded", {"i": i}))
    assert clients.anon.get("/v1/webhooks").status_code == 401
    assert clients.anon.post("/v1/webhooks/ack", json={"upto": 5}).status_code == 401
    first = clients.pull.get("/v1/webhooks", params={"after": 0, "limit": 2}).json()
    assert [h["key"] for h in first["webhooks"]] == ["stripe:id:evt_0", "stripe:id:evt_1"] and first["more"]
    rest = clients.pull.get("/v1/webhooks", params={"after": first["next"], "limit": 10}).json()
    assert len(rest["webhooks"]) == 3 and not rest["more"]
    assert clients.pull.post("/v1/webhooks/ack", json={"upto": "x"}).status_code == 400
    acked = clients.pull.post("/v1/webhooks/ack", json={"upto": rest["next"]}).json()
    assert acked["acked_upto"] == rest["next"]
    health = clients.pull.get("/healthz").json()
    assert health["webhooks"]["buffered"] == 0 and health["webhooks"]["sources"] == 5
    assert health["buffered"] == 0  # the events' own count is untouched
