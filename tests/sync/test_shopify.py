"""Shopify over real HTTP on loopback: paging, increments, refunds, JPY, the cost throttle, journeys as touches."""

from __future__ import annotations

import json

import pytest

from segdesk.cli import main
from segdesk.core.importing.events import import_events
from segdesk.core.read.journey import journey
from segdesk.core.reports import build_report
from segdesk.sync.connectors import shopify

from .fakes_shops import SHOPIFY_TOKEN, FakeShopify
from .helpers import add, revenue, sync_over_loopback

FB_FIRST = {"firstVisit": {"occurredAt": "2023-11-14T20:00:00Z", "landingPage": "https://demo.example/?utm_source=facebook",
                           "referrerUrl": "https://m.facebook.com/", "utmParameters": {
                               "source": "facebook", "medium": "cpc", "campaign": "spring", "term": None,
                               "content": None}},
            "lastVisit": {"occurredAt": "2023-11-14T21:50:00Z", "landingPage": "https://demo.example/cart",
                          "referrerUrl": "https://www.google.com/", "utmParameters": None}}


@pytest.fixture
def shop(ws):
    add(ws, "shopify", secret=SHOPIFY_TOKEN, shop="Demo.myshopify.com")
    return FakeShopify()


def sync(ws, fake, options):
    return sync_over_loopback(ws, fake, options, "shopify")


def test_first_sync_pages_orders_in_the_shop_currency_with_journeys(ws, shop, options, monkeypatch):
    monkeypatch.setattr(shopify, "PAGE", 2)
    shop.order("Ann@X.com", "49.99", journey=FB_FIRST, products=("Mug", "Tee"))
    shop.order("bob@x.com", "4900.0", "JPY")
    shop.order("cy@x.com", "10.00", status="PENDING")  # not paid yet
    shop.order("dee@x.com", "10.00", test=True)  # a test order
    report = sync(ws, shop, options)
    assert report.ok, report.as_dict()
    assert len(shop.log) == 2  # 2 + 2 orders, two pages
    assert revenue(ws, "ann@x.com") == {"usd": 4999} and revenue(ws, "bob@x.com") == {"jpy": 4900}
    assert ws.conn.execute("SELECT order_id, product FROM orders ORDER BY id").fetchall() == [
        ("450789470", "Mug; Tee"), ("450789471", "Mug")]
    # Both visits of Ann's journey are her touches: facebook / cpc first, google / organic last.
    pages = [(e["channel"]["source"], e["channel"]["medium"]) for e in journey(ws.conn, "ann@x.com")["events"]
             if e["kind"] == "page"]
    assert pages == [("facebook", "cpc"), ("google.com", "organic")]
    first = build_report(ws.conn, "attribution", model="first_touch", by="source").to_json()
    assert [(r["key"], r["credit"]) for r in first["rows"]] == [("facebook", {"usd": 4999.0})]
    assert first["unattributed"] == {"jpy": 4900, "usd": 0}  # Bob had no journey
    again = sync(ws, shop, options)  # nothing new: nothing changes, no touch twice
    assert again.sources[0].changed == {}


def test_incremental_sync_asks_from_the_newest_change_and_nets_refunds(ws, shop, options):
    ann = shop.order("ann@x.com", "100.00")
    bob = shop.order("bob@x.com", "4900", "JPY")
    sync(ws, shop, options)
    newest = max(o["updatedAt"] for o in shop.orders)
    before = len(shop.log)
    shop.refund(ann, "25.50")  # partial
    shop.refund(bob, "4900")  # full
    shop.order("cy@x.com", "12.00")
    report = sync(ws, shop, options)
    asked = [json.loads(r.content)["variables"]["query"] for r in shop.log[before:]]
    # The fake's clock starts at 22:13:20 and moves a minute per change: the newest stored change is
    # Bob's order at 22:15:20, and the next sync asks from 10 minutes before it.
    assert newest == "2023-11-14T22:15:20Z" and asked == ["updated_at:>='2023-11-14T22:05:20.000Z'"]
    assert report.sources[0].counts["orders"] == 3
    assert revenue(ws, "ann@x.com") == {"usd": 7450}  # 100.00 - 25.50
    assert revenue(ws, "bob@x.com") == {"jpy": 0}
    assert revenue(ws, "cy@x.com") == {"usd": 1200}


def test_the_cost_throttle_and_429s_are_waited_out(ws, shop, options, sleeps, monkeypatch):
    monkeypatch.setattr(shopify, "PAGE", 1)
    shop.order("ann@x.com", "1.00")
    shop.order("bob@x.com", "2.00")
    # THROTTLED (752 asked, 100 left, 100/s back): 6.52 s; a page leaving 12 points: 1.00 s before the
    # next 112-point query; a 429 with Retry-After: 2 s; a 429 without: the 1 s window doubled, 2 s.
    shop.faults = [("throttled", 752, 100), ("low", 12), ("429", 2), ("429-json",)]
    report = sync(ws, shop, options)
    assert report.ok, report.as_dict()
    assert sleeps == pytest.approx([6.52, 1.0, 2.0, 2.0])
    assert revenue(ws, "bob@x.com") == {"usd": 200}


def test_a_revoked_token_is_one_line_and_keeps_what_was_stored(ws, shop, options):
    shop.order("ann@x.com", "5.00")
    sync(ws, shop, options)
    shop.revoked = True
    report = sync(ws, shop, options)
    (result,) = report.sources
    assert result.status == "failed" and "\n" not in result.reason
    assert result.reason == ("Shopify rejected the Admin API access token: [API] Invalid API key or access "
                             "token (unrecognized login or wrong password)")
    assert revenue(ws, "ann@x.com") == {"usd": 500}


def test_a_token_without_customer_data_access_says_so_in_one_line(ws, shop, options):
    shop.order("ann@x.com", "5.00")
    shop.faults = [("denied",)]
    (result,) = sync(ws, shop, options).sources
    assert result.reason == (
        "Shopify refused part of the orders query: Access denied for customerJourneySummary field. "
        "(the app needs read_orders and access to protected customer data)")


def test_a_buyer_the_pixel_saw_gets_no_second_record_of_the_visit(ws, shop, options):
    import_events(ws, [{"type": "identify", "anonymousId": "a1", "messageId": "i1",
                        "timestamp": "2023-11-14T21:55:00.000Z", "traits": {"email": "ann@x.com"}}], origin="relay:site")
    shop.order("ann@x.com", "49.99", journey=FB_FIRST)
    sync(ws, shop, options)
    assert ws.conn.execute("SELECT count(*) FROM events WHERE type = 'page'").fetchone() == (0,)
    assert revenue(ws, "ann@x.com") == {"usd": 4999}


def test_sources_add_shopify_checks_the_shop_address(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SHOP_TOKEN", SHOPIFY_TOKEN)
    wsdir = str(tmp_path / "w")
    assert main(["--workspace", wsdir, "sources", "add", "shopify", "--shop", "demo.example.com",
                 "--secret-env", "SHOP_TOKEN"]) == 1
    assert capsys.readouterr().err.strip().count("\n") == 0
    assert main(["--workspace", wsdir, "sources", "add", "shopify", "--shop", "Demo.myshopify.com",
                 "--secret-env", "SHOP_TOKEN", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["config"] == {"shop": "demo.myshopify.com"}
    assert main(["--workspace", wsdir, "sources", "list"]) == 0
    assert "demo.myshopify.com" in capsys.readouterr().out  # where it reads from
