"""Issue 14 item 7: one purchase reported by a shop, a payment processor and an `Order Completed` event counts once.

Every source is a real HTTP server on loopback (the relay's pull API, Shopify, WooCommerce, Stripe) and
`run_sync` is what `segdesk sync` runs.
"""

from __future__ import annotations

from segdesk.core.read.journey import journey
from segdesk.core.reports import build_report
from segdesk.sync.connectors import woocommerce
from segdesk.sync.engine import run_sync

from .fakes import FakeStripe
from .fakes_shops import SHOPIFY_TOKEN, WOO_KEY, WOO_SECRET, FakeShopify, FakeWoo
from .helpers import add
from .loopback import Loopback
from .pull_server import TOKEN, pull_server


def summary(ws) -> tuple:
    s = build_report(ws.conn, "summary").to_json()
    return s["orders"], s["revenue"]


def purchases(ws, email) -> list:
    return [(e["kind"], e["order_id"], e["amount"]) for e in journey(ws.conn, email)["events"]
            if e["kind"] in ("order", "refund")]


def order_event(order_id: str, total, currency: str, ts: str, email="ann@x.com", mid="oc-1") -> dict:
    return {"type": "track", "event": "Order Completed", "anonymousId": "a1", "messageId": mid, "timestamp": ts,
            "properties": {"order_id": order_id, "total": total, "currency": currency, "email": email}}


def test_a_shopify_order_paid_through_stripe_counts_once(ws, options):
    shop, stripe = FakeShopify(), FakeStripe()
    order = shop.order("ann@x.com", "49.99")  # 2023-11-14T22:14:20Z
    cus = stripe.customer("ann@x.com")
    stripe.charge(4999, customer=cus["id"], created=1_700_000_070)  # ten seconds later, the same money
    add(ws, "shopify", secret=SHOPIFY_TOKEN, shop="demo.myshopify.com")
    add(ws, "stripe")
    with Loopback(shop) as to_shop, Loopback(stripe) as to_stripe:
        report = run_sync(ws, options=options(shopify=to_shop, stripe=to_stripe))
        assert report.ok, report.as_dict()
        assert report.orders_matched == 1
        assert summary(ws) == (1, {"usd": 4999})
        # A refund in Shopify is the shop's record; Stripe's own refund object is what the counted copy
        # (the processor's, by default) subtracts.
        shop.refund(order, "9.99")
        stripe.refund(stripe.lists["charges"].objects[0], 999)
        run_sync(ws, options=options(shopify=to_shop, stripe=to_stripe))
    assert summary(ws) == (1, {"usd": 4000})
    assert [k for k, _, _ in purchases(ws, "ann@x.com")] == ["order", "refund"]


def test_an_order_completed_event_for_a_woocommerce_order_counts_once(ws, options):
    woo = FakeWoo()
    order = woo.order("ann@x.com", "4900", "JPY")  # order 701
    add(ws, "woocommerce", secret=woocommerce.secret_of(WOO_KEY, WOO_SECRET), base_url="https://shop.example")
    events = [order_event("701", 4900, "JPY", "2023-11-14T22:14:25.000Z")]
    with pull_server(events) as relay, Loopback(woo) as to_woo:
        add(ws, "relay", name="site", secret=TOKEN, base_url=relay.url)
        report = run_sync(ws, options=options(woocommerce=to_woo))
        assert report.ok, report.as_dict()
        assert summary(ws) == (1, {"jpy": 4900})
        assert purchases(ws, "ann@x.com") == [("order", "701", {"jpy": 4900})]
        woo.refund(order, "900")
        run_sync(ws, options=options(woocommerce=to_woo))
    # The copy that counts arrived first (the shop's, synced before the relay) and its refund subtracts.
    assert summary(ws) == (1, {"jpy": 4000})


def test_an_event_a_shopify_order_and_its_stripe_charge_are_one_purchase(ws, options):
    shop, stripe = FakeShopify(), FakeStripe()
    order = shop.order("bob@x.com", "20.00")
    cus = stripe.customer("bob@x.com")
    stripe.charge(2000, customer=cus["id"], created=1_700_000_100)
    add(ws, "shopify", secret=SHOPIFY_TOKEN, shop="demo.myshopify.com")
    add(ws, "stripe")
    events = [order_event(order["legacyResourceId"], "20.00", "usd", "2023-11-14T22:14:30.000Z", email="bob@x.com"),
              order_event("other-1", "5.00", "usd", "2023-11-15T09:00:00.000Z", email="bob@x.com", mid="oc-2")]
    with pull_server(events) as relay, Loopback(shop) as to_shop, Loopback(stripe) as to_stripe:
        add(ws, "relay", name="site", secret=TOKEN, base_url=relay.url)
        report = run_sync(ws, options=options(shopify=to_shop, stripe=to_stripe))
    assert report.ok, report.as_dict()
    # 20.00 once (shop, processor and event), plus the other event-only order of 5.00.
    assert summary(ws) == (2, {"usd": 2500})
    assert [o for _, o, _ in purchases(ws, "bob@x.com")] == [report_order_id(ws, "stripe"), "other-1"]


def report_order_id(ws, origin: str) -> str:
    return ws.conn.execute("SELECT order_id FROM orders WHERE origin = ?", (origin,)).fetchone()[0]
