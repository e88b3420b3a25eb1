"""SamCart over real HTTP on loopback: paging, windows, rebills, refunds, JPY, throttling, a revoked key."""

from __future__ import annotations

import json

import pytest

from segdesk.cli import main
from segdesk.core.store import open_workspace
from segdesk.core.read.journey import journey
from segdesk.sync.connectors import samcart
from segdesk.sync.engine import run_sync
from segdesk.sync.http import HttpOptions

from .fakes import FakeStripe, Killed
from .fakes_samcart import KEY, FakeSamCart
from .helpers import add, dump, revenue, sync_over_loopback
from .loopback import Loopback
from .pull_server import TOKEN, pull_server
from .test_shops_once import order_event, summary
from .test_vendor_rules import FakeClock


@pytest.fixture
def cart(ws):
    add(ws, "samcart", secret=KEY)
    return FakeSamCart()


def sync(ws, fake, options):
    return sync_over_loopback(ws, fake, options, "samcart")


def listed(fake, name: str) -> list:
    return [r.url.params for r in fake.log if r.url.path == f"/v1/{name}"]


def stored(ws, email: str) -> list:
    return ws.conn.execute("SELECT order_id, amount, currency, product FROM orders WHERE email = ? ORDER BY id",
                           (email,)).fetchall()


def test_first_sync_follows_every_page_with_emails_products_and_jpy(ws, cart, options, monkeypatch):
    monkeypatch.setattr(samcart, "PAGE", 2)
    ann, bob, cy = cart.customer("Ann@X.com", "Ann", "Lee"), cart.customer("bob@x.com"), cart.customer("cy@x.com")
    first = cart.order(ann, [("Course", 3999), ("Workbook", 1000)])
    second = cart.order(bob, [("Ebook", 4900)], "JPY")
    cart.order(cy, [("Course", 3999)], status="declined")
    cart.order(cy, [("Course", 3999)], test=True)
    cart.order(cy, [("Coaching", 20000), ("Call", 5000)], status="pending")
    report = sync(ws, cart, options)
    assert report.ok, report.as_dict()
    orders = listed(cart, "orders")
    # Five orders, one of them a test: four live ones on two pages of two, each asked with the filters.
    assert [p.get("offset") for p in orders] == [None, str(second["id"])]
    assert all(p["limit"] == "2" and p["test_mode"] == "false" and "created_at_min" not in p for p in orders)
    assert stored(ws, "ann@x.com") == [(f"samcart:{first['id']}", 4999, "usd", "Course; Workbook")]
    assert revenue(ws, "ann@x.com") == {"usd": 4999}
    assert revenue(ws, "bob@x.com") == {"jpy": 4900}  # no minor unit: 4900 is ¥4,900
    assert stored(ws, "cy@x.com") == []  # declined, test and pending are not money received
    assert ws.conn.execute("SELECT first_name, last_name FROM contacts WHERE email = 'ann@x.com'").fetchone() == (
        "Ann", "Lee")
    assert sync(ws, cart, options).sources[0].changed == {}  # a re-run changes nothing


def test_incremental_sync_rebills_and_partial_and_full_refunds(ws, cart, options):
    ann, bob = cart.customer("ann@x.com"), cart.customer("bob@x.com")
    course = cart.order(ann, [("Course", 10000)])
    ebook = cart.order(bob, [("Ebook", 4900)], "JPY")
    sync(ws, cart, options)
    before = len(cart.log)
    cart.refund(cart.charge_of(course), 2550)
    cart.refund(cart.charge_of(ebook), 4900)
    rebill = cart.rebill(course, 2900)
    cart.refund(rebill, 900)
    old = cart.customer("dee@x.com")
    old["created_at"] = "2020-01-05 10:00:00"  # a buyer from long ago: outside the customers window
    cart.order(old, [("Course", 10000)])
    report = sync(ws, cart, options)
    assert report.ok, report.as_dict()
    windows = {r.url.path: r.url.params.get("created_at_min") for r in cart.log[before:]}
    # The newest order was bob's at 22:04:00; the newest customer bob at 22:02:00; an hour of overlap.
    assert windows["/v1/orders"] == "2023-11-14T21:04:00Z"
    assert windows["/v1/customers"] == "2023-11-14T21:02:00Z"
    assert windows["/v1/refunds"] is None  # SamCart's refund list takes no dates: read whole
    assert f"/v1/customers/{old['id']}" in cart.paths()
    assert revenue(ws, "ann@x.com") == {"usd": 10000 - 2550 + 2900 - 900}
    assert revenue(ws, "bob@x.com") == {"jpy": 0}  # refunded in full
    assert revenue(ws, "dee@x.com") == {"usd": 10000}
    assert stored(ws, "ann@x.com")[1] == (f"samcart:charge:{rebill['id']}", 2900, "usd", "Course")
    kinds = [(e["kind"], e["amount"]) for e in journey(ws.conn, "ann@x.com")["events"] if e["kind"] != "identify"]
    assert kinds == [("order", {"usd": 10000}), ("refund", {"usd": 2550}), ("order", {"usd": 2900}),
                     ("refund", {"usd": 900})]
    asked = len(cart.log)
    assert sync(ws, cart, options).sources[0].changed == {}
    # Refunds already stored are not looked up again: one request per list, nothing per refund.
    assert [r.url.path for r in cart.log[asked:]] == ["/v1/customers", "/v1/orders", "/v1/charges", "/v1/refunds"]


def test_an_order_read_while_pending_is_read_again_until_it_settles(ws, cart, options):
    ann = cart.customer("ann@x.com")
    waiting = cart.order(ann, [("Coaching", 25000)], status="pending")
    sync(ws, cart, options)
    assert stored(ws, "ann@x.com") == []
    cart.tick(180)  # three hours of other sales: beyond the overlap
    cart.order(cart.customer("bob@x.com"), [("Ebook", 900)])
    sync(ws, cart, options)
    cart.settle(waiting)
    sync(ws, cart, options)
    # Bob's order (01:04) alone would start the window at 00:04; the pending order of 22:02 pulls it back.
    assert listed(cart, "orders")[-1]["created_at_min"] == "2023-11-14T22:02:00Z"
    assert stored(ws, "ann@x.com") == [(f"samcart:{waiting['id']}", 25000, "usd", "Coaching")]
    settled = len(cart.log)
    sync(ws, cart, options)  # settled: the window no longer reaches back for it
    assert [p["created_at_min"] for p in listed(cart, "orders")[-1:]] == ["2023-11-15T00:04:00Z"]
    assert len(cart.log) - settled == 4


def test_throttling_honours_retry_after_the_quota_headers_and_the_minute(ws, cart):
    cart.order(cart.customer("ann@x.com"), [("Course", 100)])
    cart.faults = [("throttle", 3), ("spent", 7), ("429-json",)]
    clock = FakeClock()
    with Loopback(cart) as transport:
        report = run_sync(ws, options=HttpOptions(transports={"samcart": transport}, sleep=clock.sleep,
                                                  clock=clock.time, max_attempts=4))
    assert report.ok, report.as_dict()
    # A 429 with Retry-After: 3 s; a page that spent the quota: its RateLimit-Reset (7 s) before the next
    # request; a 429 without a hint: SamCart's one-minute window. Nothing else waited.
    assert clock.sleeps == [3.0, 7.0, 60.0]
    assert revenue(ws, "ann@x.com") == {"usd": 100}


def test_a_revoked_key_a_plan_without_the_api_and_a_page_over_100_are_one_line_each(ws, cart, options, monkeypatch):
    cart.revoked = True
    (result,) = sync(ws, cart, options).sources
    assert result.reason == "SamCart rejected the API key: Invalid authentication credentials"
    cart.revoked, cart.no_api = False, True
    (result,) = sync(ws, cart, options).sources
    assert result.reason == ("SamCart refused the API key: API access is not available on this plan (the plan may "
                             "not include API access, or the account is not active)")
    cart.no_api = False
    monkeypatch.setattr(samcart, "PAGE", 101)
    (result,) = sync(ws, cart, options).sources
    assert result.reason.endswith("The limit may not be greater than 100.")


def test_segdesk_sync_with_a_revoked_key_prints_one_line_and_exits_1(tmp_path, capsys, monkeypatch):
    fake = FakeSamCart()
    fake.order(fake.customer("ann@x.com"), [("Course", 500)])
    with Loopback(fake) as transport:
        url = f"http://127.0.0.1:{transport.port}"  # loopback: plain http is allowed
        monkeypatch.setenv("SAMCART_KEY", KEY)
        wsdir = str(tmp_path / "w")
        assert main(["--workspace", wsdir, "sources", "add", "samcart", "--base-url", url,
                     "--secret-env", "SAMCART_KEY"]) == 0
        assert main(["--workspace", wsdir, "sync"]) == 0
        fake.revoked = True
        capsys.readouterr()
        assert main(["--workspace", wsdir, "sync"]) == 1
    err = [line for line in capsys.readouterr().err.splitlines() if "SamCart" in line]
    assert len(err) == 1 and err[0].endswith("SamCart rejected the API key: Invalid authentication credentials")
    assert main(["--workspace", wsdir, "report", "summary", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["revenue"] == {"usd": 500}  # what the first sync stored stays


def test_a_samcart_order_paid_through_stripe_counts_once(ws, options):
    cart, stripe = FakeSamCart(), FakeStripe()
    order = cart.order(cart.customer("ann@x.com"), [("Course", 4999)])  # 2023-11-14 22:02:00 UTC
    cus = stripe.customer("ann@x.com")
    charge = stripe.charge(4999, customer=cus["id"], created=1_699_999_330)  # ten seconds later: the same money
    add(ws, "samcart", secret=KEY)
    add(ws, "stripe")
    with Loopback(cart) as to_cart, Loopback(stripe) as to_stripe:
        report = run_sync(ws, options=options(samcart=to_cart, stripe=to_stripe))
        assert report.ok, report.as_dict()
        assert report.orders_matched == 1
        assert summary(ws) == (1, {"usd": 4999})
        # Refunded in SamCart, which refunds the Stripe charge: Stripe's refund is what the counted copy
        # (the processor's, by default) subtracts; SamCart's own refund row is the same money and adds nothing.
        cart.refund(cart.charge_of(order), 999)
        stripe.refund(charge, 999)
        run_sync(ws, options=options(samcart=to_cart, stripe=to_stripe))
    assert summary(ws) == (1, {"usd": 4000})



def test_the_same_order_from_another_route_under_its_samcart_key_counts_once(ws, options):
    """`samcart:<order id>` is the key every route uses (the relay's SamCart webhooks too)."""
    cart = FakeSamCart()
    order = cart.order(cart.customer("ann@x.com"), [("Ebook", 4900)], "JPY")
    add(ws, "samcart", secret=KEY)
    events = [order_event(f"samcart:{order['id']}", 4900, "JPY", "2023-11-14T22:02:05.000Z")]
    with pull_server(events) as relay, Loopback(cart) as to_cart:
        add(ws, "relay", name="site", secret=TOKEN, base_url=relay.url)
        report = run_sync(ws, options=options(samcart=to_cart))
    assert report.ok, report.as_dict()
    assert summary(ws) == (1, {"jpy": 4900})


def marketplace() -> FakeSamCart:
    fake = FakeSamCart()
    for i in range(7):
        o = fake.order(fake.customer(f"b{i}@x.com"), [("Course", 1000 + i)], "JPY" if i == 3 else "USD")
        if i % 3 == 0:
            fake.refund(fake.charge_of(o), 100)
        if i % 2:
            fake.rebill(o, 500)
    return fake


@pytest.mark.parametrize("deaths", [(2, 1), (6, 4, 3)])
def test_a_sync_killed_between_pages_resumes_without_loss_or_duplicates(tmp_path, options, monkeypatch, deaths):
    monkeypatch.setattr(samcart, "PAGE", 2)
    with open_workspace(tmp_path / "whole") as whole, open_workspace(tmp_path / "broken") as broken:
        for w in (whole, broken):
            add(w, "samcart", secret=KEY)
        assert run_sync(whole, options=options(samcart=marketplace().transport())).ok
        fake = marketplace()
        for n in deaths:  # die after the n-th request of each try
            fake.kill_after, fake.served = n, 0
            with pytest.raises(Killed):
                run_sync(broken, options=options(samcart=fake.transport()))
        fake.kill_after = None
        assert run_sync(broken, options=options(samcart=fake.transport())).ok
        assert dump(broken) == dump(whole)
        # Seven orders and three rebills; three refunds of 100 on orders 0, 3 (in yen) and 6.
        assert broken.conn.execute("SELECT count(*), sum(amount) FROM orders").fetchone() == (10, 7021 + 1500)
        assert broken.conn.execute("SELECT count(*) FROM refunds").fetchone() == (3,)
