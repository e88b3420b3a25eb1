"""Each vendor's webhook payloads read into rows, with hand-computed amounts: the cases a marketer's
"my numbers are wrong" would point at (a currency without minor units, a partial refund, a failed
refund transaction, a test sale, a deleted order, a payload of the wrong shape)."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from segdesk.sync.webhooks import Delivery, Unreadable, apply
from tests.hook_senders import samcart_payload, shopify_order, shopify_refund, stripe_event, thrivecart_fields, \
    woo_order

from .pull_server import TOKEN, pull_server
from .helpers import add


def delivery(kind: str, body, headers: dict | None = None, key: str = "k1", source: str | None = None) -> Delivery:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Delivery(f"{source or kind}:{key}", source or kind, kind, "2023-11-20T10:00:00.000Z", headers or {}, raw)


def orders(ws) -> list:
    return ws.conn.execute("SELECT origin, order_id, email, amount, currency, product FROM orders ORDER BY id").fetchall()


def refunds(ws) -> list:
    return ws.conn.execute("SELECT origin, refund_id, order_id, amount, currency FROM refunds ORDER BY id").fetchall()


def read(ws, d: Delivery) -> bool:
    with ws.conn:
        return apply(ws.conn, d)[0]


def form(fields: dict) -> bytes:
    return urlencode({**fields, "thrivecart_secret": "x"}).encode()


def test_thrivecart_prices_in_hundreds_for_a_currency_without_minor_units(ws):
    # ThriveCart says ¥4,900 as 490000 ("in hundreds"): JPY has no minor unit, so 4900.
    assert read(ws, delivery("thrivecart", form(thrivecart_fields("order.success", 7, "Ann@X.com", 490000,
                                                                    currency="JPY", product="Kurs"))))
    assert orders(ws) == [("thrivecart", "7", "ann@x.com", 4900, "jpy", "Kurs")]


def test_thrivecart_partial_refund_and_a_test_sale(ws):
    sale = thrivecart_fields("order.success", 8, "ann@x.com", 14999)
    read(ws, delivery("thrivecart", form(sale)))
    assert read(ws, delivery("thrivecart", form({**sale, "event": "order.refund", "refund[amount]": "4999"}),
                             key="k2"))
    assert refunds(ws)[0][2:] == ("8", 4999, "usd")
    assert not read(ws, delivery("thrivecart", form(thrivecart_fields("order.success", 9, "t@x.com", 100,
                                                                        mode="test")), key="k3"))
    assert [o[1] for o in orders(ws)] == ["8"]


def test_shopify_refund_sums_only_successful_refund_transactions(ws):
    refund = shopify_refund(55, 1001, "10.00", created="2023-11-20T10:00:00Z")
    refund["transactions"] += [{"kind": "refund", "status": "failure", "amount": "99.00", "currency": "USD"},
                               {"kind": "refund", "status": "success", "amount": "2.50", "currency": "USD"}]
    assert read(ws, delivery("shopify", refund, {"x-shopify-topic": "refunds/create"}))
    assert refunds(ws) == [("shopify", "gid://shopify/Refund/55", "1001", 1250, "usd")]


def test_shopify_pending_order_is_not_money_received_and_leaves_when_voided(ws):
    topic = {"x-shopify-topic": "orders/updated"}
    read(ws, delivery("shopify", shopify_order(5, "a@x.com", "20.00", created="2023-11-20T10:00:00Z"), topic))
    assert [o[1:4] for o in orders(ws)] == [("5", "a@x.com", 2000)]
    read(ws, delivery("shopify", shopify_order(5, "a@x.com", "20.00", created="2023-11-20T10:00:00Z",
                                               status="voided"), topic, key="k2"))
    assert orders(ws) == []
    assert not read(ws, delivery("shopify", {"id": 1}, {"x-shopify-topic": "products/update"}, key="k3"))


def test_shopify_order_from_a_second_shop_keeps_that_sources_origin(ws):
    read(ws, delivery("shopify", shopify_order(5, "a@x.com", "20.00", created="2023-11-20T10:00:00Z"),
                      {"x-shopify-topic": "orders/create"}, source="eu_shop"))
    assert orders(ws)[0][:2] == ("shopify:eu_shop", "5")


def test_woocommerce_refund_summary_and_a_deleted_order(ws):
    order = woo_order(701, "b@x.com", "59.90", "EUR", created="2023-11-14T22:14:20", status="refunded",
                      refunds=[{"id": 902, "reason": "", "total": "-9.90"}])
    assert read(ws, delivery("woocommerce", order, {"x-wc-webhook-topic": "order.updated"}))
    assert orders(ws) == [("woocommerce", "701", "b@x.com", 5990, "eur", "Mug")]
    assert refunds(ws) == [("woocommerce", "refund:902", "701", 990, "eur")]
    assert read(ws, delivery("woocommerce", {"id": 701}, {"x-wc-webhook-topic": "order.deleted"}, key="k2"))
    assert orders(ws) == []


def test_stripe_lost_dispute_takes_the_money_back(ws):
    charge = {"id": "ch_9", "object": "charge", "amount": 5000, "amount_captured": 5000, "captured": True,
              "currency": "gbp", "status": "succeeded", "created": 1_700_000_000, "payment_intent": "pi_9",
              "billing_details": {"email": "c@x.com"}, "customer": None}
    read(ws, delivery("stripe", stripe_event("evt_1", "charge.succeeded", charge)))
    dispute = {"id": "dp_1", "object": "dispute", "amount": 5000, "currency": "gbp", "charge": "ch_9",
               "created": 1_700_100_000, "status": "lost"}
    assert read(ws, delivery("stripe", stripe_event("evt_2", "charge.dispute.closed", dispute), key="k2"))
    assert refunds(ws) == [("stripe", "dp_1", "ch_9", 5000, "gbp")]
    assert not read(ws, delivery("stripe", stripe_event("evt_3", "payout.paid", {"id": "po_1"}), key="k3"))


def test_samcart_order_refund_and_cancellation(ws):
    read(ws, delivery("samcart", samcart_payload("Order", 77, "d@x.com", "1000.00",
                                                 created="2023-11-15T10:00:00Z")))
    read(ws, delivery("samcart", samcart_payload("Refund", 77, "d@x.com", "1000.00", created="2023-11-16T10:00:00Z",
                                                 extra={"refund": {"amount": "250.00"}}), key="k2"))
    read(ws, delivery("samcart", samcart_payload("Subscription Canceled", 77, "d@x.com", "1000.00",
                                                 created="2023-11-17T10:00:00Z", extra={"subscription": {"id": 12}}),
                      key="k3"))
    assert orders(ws) == [("samcart", "samcart:77", "d@x.com", 100000, "usd", "Masterclass")]
    assert refunds(ws)[0][2:] == ("samcart:77", 25000, "usd")
    assert ws.conn.execute("SELECT subscription_id, status FROM subscriptions").fetchall() == \
        [("samcart:12", "canceled")]


def test_samcart_rebill_is_an_order_of_its_own_not_a_rewrite_of_the_first_sale(ws):
    """A monthly plan: the first sale $49.00, then a rebill of the same order for $29.00 (charge 555)
    and one whose notice names no charge. LTV must see 49 + 29 + 29, not the last amount alone."""
    read(ws, delivery("samcart", samcart_payload("Order", 80, "m@x.com", "49.00", created="2023-11-01T10:00:00Z")))
    read(ws, delivery("samcart", samcart_payload("Subscription Charged", 80, "m@x.com", "29.00",
                                                 created="2023-12-01T10:00:00Z", extra={"charge": {"id": 555}}),
                      key="k2"))
    read(ws, delivery("samcart", samcart_payload("Subscription Charged", 80, "m@x.com", "29.00",
                                                 created="2024-01-01T10:00:00Z"), key="k3"))
    rows = orders(ws)
    assert [(r[1], r[3]) for r in rows[:2]] == [("samcart:80", 4900), ("samcart:charge:555", 2900)]
    assert rows[2][1].startswith("samcart:80:rebill:") and rows[2][3] == 2900
    assert sum(r[3] for r in rows) == 10700


@pytest.mark.parametrize("kind,body,headers,words", [
    ("shopify", b"not json", {"x-shopify-topic": "orders/create"}, "not JSON"),
    ("shopify", [1, 2], {"x-shopify-topic": "orders/create"}, "not a JSON object"),
    ("woocommerce", {"total": "5"}, {"x-wc-webhook-topic": "order.created"}, "without an id"),
    ("stripe", {"type": "charge.succeeded"}, {}, "not a Stripe event"),
    ("thrivecart", b"event=order.success&currency=USD&order[total]=100", {}, "without an order_id"),
    ("thrivecart", b"event=order.success&order_id=1&currency=USD&order[total]=1.5", {}, "whole number of cents"),
    ("samcart", {"type": "Order", "order": {"id": 1, "total": "abc"}}, {}, "not an amount"),
])
def test_unreadable_payloads_say_why_in_one_line(ws, kind, body, headers, words):
    with pytest.raises(Unreadable, match=words):
        apply(ws.conn, delivery(kind, body, headers))


def test_a_relay_without_webhooks_is_said_once_not_an_error(ws, options):
    from segdesk.sync.connectors.relay_hooks import OLD_RELAY
    from segdesk.sync.engine import run_sync

    with pull_server([]) as relay:
        add(ws, "relay", name="site", secret=TOKEN, base_url=relay.url)
        report = run_sync(ws, options=options())
    assert report.ok and report.sources[0].notes == [OLD_RELAY]


def test_drip_events_of_the_wrong_shape_are_unreadable_and_the_ones_not_read_are_ignored(ws):
    from tests.sync.fakes_drip import clicked_email, tag_event

    assert read(ws, delivery("drip", {"event": "subscriber.opened_email", "data": {}})) is False
    for body, words in (({"event": "subscriber.clicked_email", "data": ["not", "an", "object"]}, "without its data"),
                        (tag_event("subscriber.applied_tag", "a@x.com", "  ", "2023-11-20T10:00:00Z"), "or the tag"),
                        ({**clicked_email("a@x.com", "2023-11-20T10:00:00Z", "S"), "occurred_at": "yesterday"},
                         "email or occurred_at")):
        with pytest.raises(Unreadable, match=words):
            read(ws, delivery("drip", body))
    # A second Drip account's hook source keeps its own origin, beside the first's rows.
    read(ws, delivery("drip", tag_event("subscriber.applied_tag", "a@x.com", "Lead", "2023-11-20T10:00:00Z"),
                      source="drip_eu"))
    assert ws.conn.execute("SELECT identifier, tag, origin FROM tags").fetchall() == \
        [("cid:drip:z0000001", "Lead", "drip:drip_eu")]
