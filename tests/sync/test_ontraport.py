"""Ontraport against its fake over real HTTP on loopback: contacts, tags, transactions as orders."""

from __future__ import annotations

import json

import pytest

from segdesk.core.importing.csv_import import import_orders
from segdesk.core.reports import build_report
from segdesk.errors import InvalidInput
from segdesk.sync.connectors import ontraport

from .fakes_ontraport import APP_ID, KEY, FakeOntraport
from .helpers import add, query_params, sync_over_loopback, tag_rows as tags


def sync(ws, options, fake):
    return sync_over_loopback(ws, fake, options, "ontraport")


@pytest.fixture
def fake():
    f = FakeOntraport()
    ann = f.contact("Ann@Example.com", "Ann", "Lee", tags=("Customer", "Webinar"))
    bob = f.contact("bob@example.com", "Bob")
    f.transaction(ann, "49.00", product="Course")           # paid
    f.transaction(bob, "20.00", status=2, product="Ebook")   # refunded in full
    f.transaction(bob, "99.00", status=5)                    # declined: no money
    return f


def test_first_then_incremental_sync(ws, options, fake):
    add(ws, "ontraport", secret=KEY, app_id=APP_ID)
    report = sync(ws, options, fake)
    assert report.ok, report.as_dict()
    assert ws.conn.execute("SELECT email, first_name, last_name FROM contacts ORDER BY email").fetchall() == [
        ("ann@example.com", "Ann", "Lee"), ("bob@example.com", "Bob", None)]
    assert tags(ws) == [("cid:ontraport:1", "Customer"), ("cid:ontraport:1", "Webinar")]
    assert ws.conn.execute("SELECT order_id, email, amount, currency, product FROM orders ORDER BY 1").fetchall() == [
        ("ontraport:1", "ann@example.com", 4900, "usd", "Course"),
        ("ontraport:2", "bob@example.com", 2000, "usd", "Ebook")]
    assert ws.conn.execute("SELECT order_id, amount FROM refunds").fetchall() == [("ontraport:2", 2000)]
    summary = build_report(ws.conn, "summary").to_json()
    assert summary["revenue"] == {"usd": 4900}  # 49.00 + 20.00 - 20.00 refunded
    first = query_params(fake, "/Contacts")[0]
    assert "condition" not in first and first["sort"] == "dlm" and first["range"] == "50"

    fake.catch_up()
    fake.contact("ann@example.com", "Ann", "Lee", tags=("Webinar", "VIP"))  # Customer removed, VIP added
    fake.transactions["1"]["status"] = "2"  # Ann's course refunded since
    fake.log.clear()
    report = sync(ws, options, fake)
    assert report.ok, report.as_dict()
    assert report.sources[0].counts["contacts"] == 1  # only Ann changed
    condition = json.loads(query_params(fake, "/Contacts")[0]["condition"])
    assert condition[0]["field"] == {"field": "dlm"} and condition[0]["op"] == ">"
    assert tags(ws) == [("cid:ontraport:1", "VIP"), ("cid:ontraport:1", "Webinar")]
    assert build_report(ws.conn, "summary").to_json()["revenue"] == {"usd": 0}


def test_a_transaction_that_turns_void_is_removed(ws, options, fake):
    add(ws, "ontraport", secret=KEY, app_id=APP_ID)
    assert sync(ws, options, fake).ok
    fake.transactions["1"]["status"] = "4"
    assert sync(ws, options, fake).ok
    assert ws.conn.execute("SELECT order_id FROM orders").fetchall() == [("ontraport:2",)]


def test_a_transaction_is_not_taken_for_another_route_s_order_of_the_same_number(ws, options, fake):
    # Ontraport's transaction 1 (49.00) and a shop's order 1 (30.00) are two purchases: 79.00 in all.
    import_orders(ws, "order_id,email,amount,currency,created_at\n1,cy@example.com,30.00,usd,2026-03-01T10:00:00Z\n")
    add(ws, "ontraport", secret=KEY, app_id=APP_ID)
    assert sync(ws, options, fake).ok
    summary = build_report(ws.conn, "summary").to_json()
    assert (summary["orders"], summary["revenue"]) == (3, {"usd": 7900})  # with Bob's refunded 20.00


def test_pages_of_50_to_the_end(ws, options):
    fake = FakeOntraport()
    people = [fake.contact(f"p{i}@example.com", f"P{i}") for i in range(120)]
    for p in people[:55]:
        fake.transaction(p, "10.00")
    add(ws, "ontraport", secret=KEY, app_id=APP_ID)
    assert sync(ws, options, fake).ok
    assert [p["start"] for p in query_params(fake, "/Contacts")] == ["0", "50", "100"]
    assert [p["start"] for p in query_params(fake, "/Transactions")] == ["0", "50"]
    assert ws.conn.execute("SELECT count(*) FROM contact_keys WHERE key LIKE 'ontraport:%'").fetchone() == (120,)
    assert ws.conn.execute("SELECT count(*), sum(amount) FROM orders").fetchone() == (55, 55000)


def test_a_range_over_50_is_cut_to_50_so_only_a_short_page_ends(ws, options, monkeypatch):
    # Ontraport cuts range to 50 without a word: a connector asking 100 would read 50 and stop.
    monkeypatch.setattr(ontraport, "PAGE", 100)
    fake = FakeOntraport()
    for i in range(60):
        fake.contact(f"p{i}@example.com")
    add(ws, "ontraport", secret=KEY, app_id=APP_ID)
    assert sync(ws, options, fake).ok
    assert ws.conn.execute("SELECT count(*) FROM contact_keys").fetchone() == (50,)  # why PAGE is 50


def test_429_waits_the_minute_and_remaining_zero_pauses_for_reset(ws, options, sleeps, fake):
    fake.faults = [("429-text",)]  # Ontraport's 429 has no Retry-After
    fake.remaining = 1  # the next answer says X-Rate-Limit-Remaining: 0, Reset: 37
    add(ws, "ontraport", secret=KEY, app_id=APP_ID)
    report = sync(ws, options, fake)
    assert report.ok, report.as_dict()
    assert sleeps[0] == 60.0 and 36.0 < sleeps[1] <= 37.0


def test_revoked_key_is_one_line(ws, options, fake):
    add(ws, "ontraport", secret=KEY, app_id=APP_ID)
    fake.revoked = True
    report = sync(ws, options, fake)
    assert (report.sources[0].status, report.sources[0].reason) == (
        "failed", "Ontraport rejected the App ID and API key: Your App ID and API Key do not authenticate.")


def test_a_source_without_its_app_id_is_refused(ws):
    with pytest.raises(InvalidInput, match=r"^an Ontraport source needs --app-id"):
        add(ws, "ontraport", secret=KEY)
