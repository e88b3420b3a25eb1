"""Issue 15 item 7, ActiveCampaign: its e-commerce orders, and won deals when asked, as orders counted once."""

from __future__ import annotations

from datetime import datetime, timezone

from segdesk.core.reports import build_report
from segdesk.sync.connectors import activecampaign, activecampaign_orders
from segdesk.sync.engine import run_sync

from .fakes import FakeStripe
from .fakes_crm import FakeActiveCampaign
from .helpers import add, revenue, sync_over_loopback

TOKEN, URL = "ac-token", "https://acme.api-us1.com"


def ac_orders(ws, prefix: str) -> list[tuple]:
    return ws.conn.execute("SELECT order_id, email, amount, currency FROM orders WHERE order_id LIKE ? "
                           "ORDER BY id", (f"{prefix}%",)).fetchall()


def test_ecommerce_orders_paged_then_incrementally_with_the_customers_email(ws, options, monkeypatch):
    monkeypatch.setattr(activecampaign_orders, "PAGE", 20)
    monkeypatch.setattr(activecampaign_orders, "OVERLAP", 20)
    fake = FakeActiveCampaign()
    for i in range(45):
        fake.order(f"buyer{i % 15}@example.com", 4900 + i)
    fake.order("cart@example.com", 9900, cart=True)  # abandoned: no externalid
    fake.order("yen@example.jp", 4900, currency="JPY", with_email=True)
    add(ws, "activecampaign", secret=TOKEN, base_url=URL)
    report = sync_over_loopback(ws, fake, options, "activecampaign")
    assert report.ok, report.as_dict()
    assert len([r for r in fake.log if r.url.path == "/api/3/ecomOrders"]) == 3  # 47 orders, 20 a page
    rows = ac_orders(ws, "ac-order:")
    assert len(rows) == 46
    assert rows[0] == ("ac-order:1", "buyer0@example.com", 4900, "usd")  # the email from its ecomCustomer
    assert rows[-1] == ("ac-order:47", "yen@example.jp", 4900, "jpy")  # cents, or yen for JPY
    # buyer0 bought orders 1, 16 and 31: 49.00 + 49.15 + 49.30
    assert revenue(ws, "buyer0@example.com") == {"usd": 14745}
    fake.catch_up()
    fake.order("late@example.com", 1234)
    fake.log.clear()
    report = run_sync(ws, options=options(activecampaign=fake.transport()))
    assert report.ok, report.as_dict()
    assert report.sources[0].counts["ecom_orders"] <= 21  # from a page back, not all 48
    assert revenue(ws, "late@example.com") == {"usd": 1234}
    assert len(ac_orders(ws, "ac-order:")) == 47


def test_deals_are_not_read_unless_asked(ws, options):
    fake = FakeActiveCampaign()
    fake.deal(fake.person("ann@example.com"), 150000)
    add(ws, "activecampaign", secret=TOKEN, base_url=URL)
    assert run_sync(ws, options=options(activecampaign=fake.transport())).ok
    assert [r for r in fake.log if r.url.path == "/api/3/deals"] == []
    assert ac_orders(ws, "ac-deal:") == []


def test_won_deals_become_orders_and_a_lost_one_stops_counting(ws, options, monkeypatch):
    monkeypatch.setattr(activecampaign, "PAGE", 20)  # deals page like contacts
    fake = FakeActiveCampaign()
    people = [fake.person(f"d{i}@example.com") for i in range(30)]
    deals = [fake.deal(p, 10000 + i, status="1" if i % 3 else "0") for i, p in enumerate(people)]
    add(ws, "activecampaign", secret=TOKEN, base_url=URL, deals_as_orders=True)
    assert run_sync(ws, options=options(activecampaign=fake.transport())).ok
    assert len([r for r in fake.log if r.url.path == "/api/3/deals"]) == 2  # 30 deals, 20 a page
    assert len(ac_orders(ws, "ac-deal:")) == 20  # every third is open
    assert revenue(ws, "d1@example.com") == {"usd": 10001}
    first_time = ws.conn.execute("SELECT created_at FROM orders WHERE order_id = 'ac-deal:3'").fetchone()
    fake.catch_up()
    fake.move_deal(deals[0], "1")  # won now
    fake.move_deal(deals[1], "2")  # lost after it was won
    deals[2]["title"], deals[2]["updated"] = "Renamed", fake.tick()  # edited: its time stays
    fake.log.clear()
    report = run_sync(ws, options=options(activecampaign=fake.transport()))
    assert report.ok, report.as_dict()
    assert report.sources[0].counts["deals"] <= 5
    assert revenue(ws, "d0@example.com") == {"usd": 10000}
    assert revenue(ws, "d1@example.com") == {}
    assert ws.conn.execute("SELECT created_at FROM orders WHERE order_id = 'ac-deal:3'").fetchone() == first_time
    assert len(ac_orders(ws, "ac-deal:")) == 20


def test_an_ecommerce_order_and_its_stripe_charge_count_once(ws, options):
    ac, stripe = FakeActiveCampaign(), FakeStripe()
    order = ac.order("ann@example.com", 4999)
    paid = int(datetime.fromisoformat(order["orderDate"]).astimezone(timezone.utc).timestamp()) + 60
    stripe.charge(4999, customer=stripe.customer("ann@example.com")["id"], created=paid)
    add(ws, "activecampaign", secret=TOKEN, base_url=URL)
    add(ws, "stripe")
    report = run_sync(ws, options=options(activecampaign=ac.transport(), stripe=stripe.transport()))
    assert report.ok, report.as_dict()
    summary = build_report(ws.conn, "summary").to_json()
    assert (summary["orders"], summary["revenue"]) == (1, {"usd": 4999})


def test_a_revoked_token_is_one_line_and_keeps_the_orders(ws, options):
    fake = FakeActiveCampaign()
    fake.order("ann@example.com", 4999)
    add(ws, "activecampaign", secret=TOKEN, base_url=URL)
    assert run_sync(ws, options=options(activecampaign=fake.transport())).ok
    fake.revoked = True
    report = run_sync(ws, options=options(activecampaign=fake.transport()))
    assert report.sources[0].reason == "ActiveCampaign rejected the API token: No Result found for Subscriber with id 0"
    assert len(ac_orders(ws, "ac-order:")) == 1
