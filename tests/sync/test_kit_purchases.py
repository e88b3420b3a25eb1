"""Issue 15 item 7, Kit: purchases as orders (counted once with the processor's charge), and tags added and removed."""

from __future__ import annotations

from datetime import datetime, timezone

from segdesk.core.reports import build_report
from segdesk.sync.connectors import kit
from segdesk.sync.engine import run_sync

from .fakes import FakeStripe
from .fakes_crm import FakeKit
from .helpers import add, revenue, sync_over_loopback

KEY = "kit_key"


def purchase_rows(ws) -> list[tuple]:
    return ws.conn.execute("SELECT order_id, email, amount, currency, product FROM orders "
                           "WHERE origin = 'kit' ORDER BY id").fetchall()


def tag_rows(ws) -> set[tuple[str, str]]:
    return set(ws.conn.execute("SELECT identifier, tag FROM tags").fetchall())


def test_purchases_are_read_to_the_end_then_only_the_new_ones(ws, options, monkeypatch):
    monkeypatch.setattr(kit, "PAGE", 10)
    fake = FakeKit()
    for i in range(25):
        fake.purchase(f"buyer{i % 5}@example.com", 10.25 + i)
    fake.purchase("two@example.com", 81.53, products=("Phantom Hourglass", "Twilight Princess"))
    fake.purchase("yen@example.jp", 4900, currency="JPY")
    fake.purchase("pending@example.com", 5.00, status="pending")
    add(ws, "kit", secret=KEY)
    report = sync_over_loopback(ws, fake, options, "kit")
    assert report.ok, report.as_dict()
    assert len([r for r in fake.log if r.url.path == "/v4/purchases"]) == 3  # 28 purchases, 10 a page
    rows = purchase_rows(ws)
    assert len(rows) == 27  # the pending one is not money received
    assert ("kit-purchase:26", "two@example.com", 8153, "usd", "Phantom Hourglass; Twilight Princess") in rows
    assert ("kit-purchase:27", "yen@example.jp", 4900, "jpy", "Course") in rows
    # buyer0 bought purchases 1, 6, 11, 16, 21: 10.25 + 15.25 + 20.25 + 25.25 + 30.25
    assert revenue(ws, "buyer0@example.com") == {"usd": 10125}

    fake.purchase("new@example.com", 12.00)
    fake.log.clear()
    report = run_sync(ws, options=options(kit=fake.transport()))
    assert report.ok, report.as_dict()
    assert len([r for r in fake.log if r.url.path == "/v4/purchases"]) == 1  # the newest page held it all
    assert revenue(ws, "new@example.com") == {"usd": 1200}
    assert len(purchase_rows(ws)) == 28


def test_a_purchase_and_its_stripe_charge_count_once(ws, options):
    fake, stripe = FakeKit(), FakeStripe()
    p = fake.purchase("ann@example.com", 49.00)
    paid = int(datetime.fromisoformat(p["transaction_time"].replace("Z", "+00:00")).timestamp())
    stripe.charge(4900, customer=stripe.customer("ann@example.com")["id"], created=paid + 5)
    add(ws, "kit", secret=KEY)
    add(ws, "stripe")
    report = run_sync(ws, options=options(kit=fake.transport(), stripe=stripe.transport()))
    assert report.ok, report.as_dict()
    assert report.orders_matched == 1
    summary = build_report(ws.conn, "summary").to_json()
    assert (summary["orders"], summary["revenue"]) == (1, {"usd": 4900})


def test_tags_added_and_removed_between_syncs_and_a_deleted_tag_leaves_everyone(ws, options):
    fake = FakeKit()
    ann = fake.person("ann@example.com", tags=("lead",))
    bob = fake.person("bob@example.com", tags=("lead", "webinar"))
    add(ws, "kit", secret=KEY)
    assert run_sync(ws, options=options(kit=fake.transport())).ok
    assert tag_rows(ws) == {("cid:kit:1", "lead"), ("cid:kit:2", "lead"), ("cid:kit:2", "webinar")}
    ann["tags"].append("customer")  # tagging does not change a subscriber's updated time
    fake.untag(bob, "lead")
    assert run_sync(ws, options=options(kit=fake.transport())).ok
    assert tag_rows(ws) == {("cid:kit:1", "lead"), ("cid:kit:1", "customer"), ("cid:kit:2", "webinar")}
    fake.untag(bob, "webinar")  # the webinar tag is deleted from the account: nobody holds it, it is not listed
    assert run_sync(ws, options=options(kit=fake.transport())).ok
    assert tag_rows(ws) == {("cid:kit:1", "lead"), ("cid:kit:1", "customer")}


def test_a_revoked_key_is_one_line_and_keeps_the_purchases(ws, options):
    fake = FakeKit()
    fake.purchase("ann@example.com", 49.00)
    add(ws, "kit", secret=KEY)
    assert run_sync(ws, options=options(kit=fake.transport())).ok
    fake.revoked = True
    report = run_sync(ws, options=options(kit=fake.transport()))
    assert report.sources[0].reason == "Kit rejected the API key: The access token is invalid"
    assert len(purchase_rows(ws)) == 1


def test_an_erased_persons_new_purchase_does_not_bring_them_back(ws, options):
    from segdesk.core.identity import people

    fake = FakeKit()
    fake.purchase("ann@example.com", 49.00)
    add(ws, "kit", secret=KEY)
    assert run_sync(ws, options=options(kit=fake.transport())).ok
    people.erase(ws, "ann@example.com")
    fake.purchase("ann@example.com", 12.00)
    assert run_sync(ws, options=options(kit=fake.transport())).ok
    assert purchase_rows(ws) == []
