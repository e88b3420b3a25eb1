"""Webhooks from a real relay (uvicorn on loopback, both buffers) into a workspace through `run_sync`:
orders and refunds in the journey and LTV, once however often synced; a Shopify order seen by webhook
and by the GraphQL connector counted once; a ThriveCart sale also seen in Stripe counted once; a
delivery the app cannot read kept and reported in one line."""

from __future__ import annotations

import pytest

from segdesk.collector_relay import hook_sources
from segdesk.core.read.journey import journey
from segdesk.core.reports import build_report
from segdesk.core.store import open_workspace
from segdesk.sync.engine import run_sync
from segdesk.sync.http import HttpOptions
from tests.hook_senders import (
    SECRETS, samcart_payload, senders, shopify_order, shopify_refund, stripe_event, thrivecart_fields, woo_order,
)
from tests.memory_keyring import memory_keyring  # noqa: F401  (autouse: a keychain per test)
from tests.pg import both_buffers  # noqa: F401  (every test on SQLite and PostgreSQL)
from tests.sync.fakes import FakeStripe
from tests.sync.fakes_shops import SHOPIFY_TOKEN, FakeShopify
from tests.sync.helpers import add
from tests.sync.loopback import Loopback



@pytest.fixture
def setup(relay_data, make_relay, tmp_path):
    """(relay, senders by kind, workspace with the relay added as source 'site')."""
    data, keys = relay_data
    for kind, secret in SECRETS.items():
        hook_sources.add(data, kind, None, secret)
    relay = make_relay()
    ws = open_workspace(tmp_path / "ws")
    add(ws, "relay", name="site", secret=keys["pull_token"], base_url=relay.url)
    yield relay, senders(relay.url), ws
    ws.close()


def options(**transports) -> HttpOptions:
    return HttpOptions(transports=transports, sleep=lambda s: None, max_attempts=3)


def summary(ws) -> tuple:
    s = build_report(ws.conn, "summary").to_json()
    return s["orders"], s["revenue"]


def purchases(ws, email: str) -> list:
    return [(e["kind"], e.get("order_id"), e.get("amount")) for e in journey(ws.conn, email)["events"]
            if e["kind"] in ("order", "refund")]


def ok(sender_response) -> None:
    assert sender_response.status_code == 200, sender_response.text


def test_webhooks_become_orders_and_refunds_in_the_journey_and_ltv_once(setup):
    relay, send, ws = setup
    tc = thrivecart_fields("order.success", 4021, "ann@x.com", 9700, affiliate="Partner Pat",
                           extra={"order_timestamp": "1700000000"})
    ok(send["thrivecart"].send(tc))
    ok(send["thrivecart"].send({**tc, "event": "order.refund", "refund[amount]": "2000"}))
    ok(send["thrivecart"].send(thrivecart_fields("order.success", 4022, "test@x.com", 100, mode="test")))
    ok(send["samcart"].send(samcart_payload("Order", 9001, "bob@x.com", "49.00", created="2023-11-15T10:00:00Z")))
    ok(send["samcart"].send(samcart_payload("Refund", 9001, "bob@x.com", "49.00", created="2023-11-16T10:00:00Z")))
    ok(send["woocommerce"].send("order.created", woo_order(701, "cy@x.com", "4900", "JPY",
                                                           created="2023-11-14T22:14:20")))
    report = run_sync(ws, options=options())
    assert report.ok, report.as_dict()
    # 97.00 - 20.00 (ThriveCart) + 49.00 - 49.00 (SamCart, refunded whole) in USD; ¥4,900 (WooCommerce).
    assert summary(ws) == (3, {"usd": 7700, "jpy": 4900})
    assert purchases(ws, "ann@x.com") == [("order", "4021", {"usd": 9700}), ("refund", "4021", {"usd": 2000})]
    assert purchases(ws, "bob@x.com")[0] == ("order", "samcart:9001", {"usd": 4900})
    tags = ws.conn.execute("SELECT identifier, tag, origin FROM tags").fetchall()
    assert tags == [("email:ann@x.com", "affiliate:Partner Pat", "thrivecart")]
    assert ws.conn.execute("SELECT status, count(*) FROM webhooks GROUP BY 1 ORDER BY 1").fetchall() == \
        [("ignored", 1), ("parsed", 5)]
    ltv = {row["key"]: row["revenue"] for row in build_report(ws.conn, "ltv", by="source").to_json()["rows"]}
    assert sum(v.get("usd", 0) for v in ltv.values()) == 7700
    assert relay_health(relay)["webhooks"]["buffered"] == 0  # acked after the commit

    # A replay at the relay, and another sync: nothing twice.
    ok(send["thrivecart"].send(tc))
    run_sync(ws, options=options())
    run_sync(ws, options=options())
    assert summary(ws) == (3, {"usd": 7700, "jpy": 4900})
    assert ws.conn.execute("SELECT count(*) FROM webhooks").fetchone()[0] == 6


def relay_health(relay) -> dict:
    import httpx

    return httpx.get(f"{relay.url}/healthz", headers={"Authorization": f"Bearer {relay.keys['pull_token']}"}).json()


def test_thrivecart_subscription_rebill_and_cancellation(setup):
    relay, send, ws = setup
    first = thrivecart_fields("order.success", 5000, "dee@x.com", 2900, product="Membership")
    ok(send["thrivecart"].send(first))
    ok(send["thrivecart"].send({**first, "event": "order.subscription_payment", "order_timestamp": "1702600000"}))
    run_sync(ws, options=options())
    assert summary(ws) == (2, {"usd": 5800})
    ok(send["thrivecart"].send({**first, "event": "order.subscription_cancelled"}))
    run_sync(ws, options=options())
    assert ws.conn.execute("SELECT subscription_id, status, plan, amount, currency FROM subscriptions").fetchall() == \
        [("5000:3", "canceled", "Membership", 2900, "usd")]
    assert ws.conn.execute("SELECT canceled_at IS NOT NULL, started_at FROM subscriptions").fetchone() == \
        (1, "2023-12-15T00:26:40.000Z")


def test_a_shopify_order_seen_by_webhook_and_by_the_graphql_api_counts_once(setup):
    relay, send, ws = setup
    shop = FakeShopify()
    order = shop.order("ann@x.com", "49.99")
    oid = int(order["legacyResourceId"])
    ok(send["shopify"].send("orders/create", shopify_order(oid, "ann@x.com", "49.99", created=order["createdAt"])))
    add(ws, "shopify", secret=SHOPIFY_TOKEN, shop="demo.myshopify.com")
    with Loopback(shop) as to_shop:
        assert run_sync(ws, options=options(shopify=to_shop)).ok
        assert summary(ws) == (1, {"usd": 4999})
        shop.refund(order, "9.99")  # the API's refund id is gid://shopify/Refund/1<order id>
        ok(send["shopify"].send("refunds/create", shopify_refund(int(f"1{oid}"), oid, "9.99",
                                                                 created=order["createdAt"])))
        assert run_sync(ws, options=options(shopify=to_shop)).ok
    assert summary(ws) == (1, {"usd": 4000})
    assert ws.conn.execute("SELECT origin, order_id FROM orders").fetchall() == [("shopify", str(oid))]
    assert ws.conn.execute("SELECT count(*) FROM refunds").fetchone()[0] == 1


def test_a_thrivecart_sale_also_seen_in_stripe_counts_once(setup):
    relay, send, ws = setup
    stripe = FakeStripe()
    cus = stripe.customer("ann@x.com")
    stripe.charge(9700, customer=cus["id"], created=1_700_000_030)  # 30 s after ThriveCart's order
    ok(send["thrivecart"].send(thrivecart_fields("order.success", 4021, "ann@x.com", 9700,
                                                 extra={"order_timestamp": "1700000000"})))
    add(ws, "stripe")
    with Loopback(stripe) as to_stripe:
        report = run_sync(ws, options=options(stripe=to_stripe))
    assert report.ok, report.as_dict()
    assert report.orders_matched == 1
    assert summary(ws) == (1, {"usd": 9700})
    assert [k for k, _, _ in purchases(ws, "ann@x.com")] == ["order"]


def test_a_stripe_charge_by_webhook_and_by_api_is_one_row(setup):
    relay, send, ws = setup
    stripe = FakeStripe()
    charge = stripe.charge(2500, email="eve@x.com", created=1_700_000_000)
    ok(send["stripe"].send(stripe_event("evt_1", "charge.succeeded", charge)))
    add(ws, "stripe")
    with Loopback(stripe) as to_stripe:
        assert run_sync(ws, options=options(stripe=to_stripe)).ok
    assert ws.conn.execute("SELECT origin, order_id, amount FROM orders").fetchall() == \
        [("stripe", charge["id"], 2500)]


def test_a_delivery_the_app_cannot_read_is_kept_and_reported_in_one_line(setup):
    relay, send, ws = setup
    ok(send["thrivecart"].send(thrivecart_fields("order.success", 1, "ann@x.com", 100, currency="ZZZ")))
    ok(send["samcart"].send(samcart_payload("Order", 2, "bob@x.com", "12.00", created="2023-11-15T10:00:00Z")))
    report = run_sync(ws, options=options())
    assert report.ok, report.as_dict()
    notes = report.sources[0].notes
    assert notes == ["1 webhook(s) kept but not read: thrivecart received "
                     f"{ws.conn.execute('SELECT received_at FROM webhooks WHERE kind = ?', ('thrivecart',)).fetchone()[0]}"
                     ": order.success for order 1: currency 'ZZZ' is not a currency code"]
    assert summary(ws) == (1, {"usd": 1200})
    report = run_sync(ws, options=options())  # still kept, still said
    assert len(report.sources[0].notes) == 1
    assert ws.conn.execute("SELECT status FROM webhooks ORDER BY id").fetchall() == [("failed",), ("parsed",)]


def test_erasing_a_buyer_deletes_their_deliveries_in_the_workspace_and_at_the_relay(setup):
    from segdesk.sync.operations import erase_everywhere

    relay, send, ws = setup
    ok(send["thrivecart"].send(thrivecart_fields("order.success", 1, "Ann+vip@x.com", 500)))
    ok(send["samcart"].send(samcart_payload("Order", 2, "bob@x.com", "12.00", created="2023-11-15T10:00:00Z")))
    run_sync(ws, options=options())
    # A new delivery for her arrives at the relay after the sync: the relay's copy must go too.
    ok(send["thrivecart"].send(thrivecart_fields("order.success", 3, "ann+vip@x.com", 700)))
    erase_everywhere(ws, "ann+vip@x.com", options=options())
    assert ws.conn.execute("SELECT kind FROM webhooks").fetchall() == [("samcart",)]
    assert relay_health(relay)["webhooks"]["buffered"] == 0


def test_a_sync_that_stopped_before_its_ack_is_acked_by_the_next_one(setup, monkeypatch):
    from segdesk.sync.http import ApiClient, ApiError

    relay, send, ws = setup
    ok(send["samcart"].send(samcart_payload("Order", 5, "f@x.com", "10.00", created="2023-11-15T10:00:00Z")))
    real_post = ApiClient.post_json

    def lost_ack(self, url, **kwargs):  # the network failing at the one moment that matters
        if url == "/v1/webhooks/ack":
            raise ApiError("the relay could not be reached")
        return real_post(self, url, **kwargs)

    monkeypatch.setattr(ApiClient, "post_json", lost_ack)
    report = run_sync(ws, options=options())
    assert not report.ok and "the next sync acknowledges them" in report.sources[0].reason
    assert summary(ws) == (1, {"usd": 1000}) and relay_health(relay)["webhooks"]["buffered"] == 1
    monkeypatch.setattr(ApiClient, "post_json", real_post)
    assert run_sync(ws, options=options()).ok  # nothing new to pull, and still the ack goes out
    assert relay_health(relay)["webhooks"]["buffered"] == 0
    assert summary(ws) == (1, {"usd": 1000})
