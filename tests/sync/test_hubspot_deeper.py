"""Issue 15 item 7, HubSpot: lifecycle stage and lists as tags, won deals as orders when asked.

The fake (tests/sync/fakes_hubspot.py) is served over real HTTP on loopback where a test says so; the
expected values are worked out by hand from the records each test makes.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from segdesk.core.reports import build_report
from segdesk.sync.connectors import hubspot, hubspot_lists
from segdesk.sync.engine import run_sync

from .fakes import FakeStripe
from .fakes_hubspot import FakeHubSpot
from .helpers import add, revenue, sync_over_loopback

TOKEN = "pat-na1-xyz"


def tags(ws, prefix: str = "") -> set[tuple[str, str]]:
    return set(ws.conn.execute("SELECT identifier, tag FROM tags WHERE tag LIKE ?", (f"{prefix}%",)).fetchall())


def deal_orders(ws) -> list[tuple]:
    return ws.conn.execute("SELECT order_id, email, amount, currency, created_at FROM orders "
                           "WHERE origin = 'hubspot' ORDER BY order_id").fetchall()


def deal_requests(fake) -> list:
    return [r for r in fake.log if "deals" in r.url.path]


def test_lifecycle_stage_is_one_tag_that_moves_with_the_contact(ws, options):
    fake = FakeHubSpot()
    ann = fake.person("ann@example.com")
    add(ws, "hubspot", secret=TOKEN)
    assert sync_over_loopback(ws, fake, options, "hubspot").ok
    assert tags(ws, "lifecycle:") == {("cid:hubspot:1", "lifecycle:lead")}
    fake.catch_up()
    fake.set_stage(ann, "customer")
    assert sync_over_loopback(ws, fake, options, "hubspot").ok
    assert tags(ws, "lifecycle:") == {("cid:hubspot:1", "lifecycle:customer")}


def test_contact_lists_are_tags_read_to_the_end_and_lost_when_left(ws, options, monkeypatch):
    monkeypatch.setattr(hubspot_lists, "MEMBERS_PAGE", 10)
    monkeypatch.setattr(hubspot_lists, "LISTS_PAGE", 2)
    fake = FakeHubSpot()  # plus one company list, "Target accounts", that is no contact's tag
    people = [fake.person(f"p{i}@example.com", tags=("Newsletter",) + (("Webinar",) if i < 3 else ()))
              for i in range(25)]
    add(ws, "hubspot", secret=TOKEN)
    assert sync_over_loopback(ws, fake, options, "hubspot").ok
    listed = {tag for _, tag in tags(ws) if not tag.startswith("lifecycle:")}
    assert listed == {"Newsletter", "Webinar"}
    assert len([t for t in tags(ws) if t[1] == "Newsletter"]) == 25  # three pages of members
    fake.leave(people[4], "Newsletter")  # leaving a list does not touch the contact's modified date
    fake.leave(people[0], "Webinar")
    assert run_sync(ws, options=options(hubspot=fake.transport())).ok
    assert len([t for t in tags(ws) if t[1] == "Newsletter"]) == 24
    assert ("cid:hubspot:5", "Newsletter") not in tags(ws)
    assert {i for i, t in tags(ws) if t == "Webinar"} == {"cid:hubspot:2", "cid:hubspot:3"}


def test_a_token_without_the_lists_scope_still_syncs_contacts_with_a_note(ws, options):
    fake = FakeHubSpot()
    fake.person("ann@example.com", tags=("Newsletter",))
    fake.scopes.discard("crm.lists.read")
    add(ws, "hubspot", secret=TOKEN)
    report = run_sync(ws, options=options(hubspot=fake.transport()))
    assert report.ok, report.as_dict()
    assert report.sources[0].notes == ["lists skipped: HubSpot: the private app token lacks the scope crm.lists.read"]
    assert ws.conn.execute("SELECT count(*) FROM contact_keys").fetchone() == (1,)


def test_deals_are_left_alone_unless_the_marketer_asks(ws, options):
    fake = FakeHubSpot()
    ann = fake.person("ann@example.com")
    fake.deal([ann], "1500.00")
    add(ws, "hubspot", secret=TOKEN)
    assert run_sync(ws, options=options(hubspot=fake.transport())).ok
    assert deal_requests(fake) == []
    assert deal_orders(ws) == []


def test_won_deals_become_orders_paged_then_incrementally(ws, options, monkeypatch):
    monkeypatch.setattr(hubspot, "PAGE", 20)
    fake = FakeHubSpot()
    people = [fake.person(f"buyer{i}@example.com") for i in range(45)]
    closed = datetime(2026, 3, 2, 15, 30, tzinfo=timezone.utc)
    for i, p in enumerate(people):  # 45 deals: every fifth is still open, one is lost
        stage = "appointmentscheduled" if i % 5 == 4 else "closedlost" if i == 1 else "closedwon"
        fake.deal([p], f"{100 + i}.50", stage=stage, closed=closed)
    fake.deal([people[0]], "4900", currency="JPY", stage="contractsigned", closed=closed)  # a custom pipeline
    fake.deal([], "75.00")  # won, but no contact associated
    add(ws, "hubspot", secret=TOKEN, deals_as_orders=True)
    report = run_sync(ws, options=options(hubspot=fake.transport()))
    assert report.ok, report.as_dict()
    searches = [r for r in fake.log if r.url.path == "/crm/v3/objects/deals/search"]
    assert len(searches) == 3  # 47 deals, 20 a page
    rows = deal_orders(ws)
    assert len(rows) == 45 - 9 - 1 + 2  # 36 won in the default pipeline, the yen deal, the contactless one
    assert ("hubspot-deal:9000", "buyer0@example.com", 10050, "usd", "2026-03-02T15:30:00.000Z") in rows
    assert ("hubspot-deal:9045", "buyer0@example.com", 4900, "jpy", "2026-03-02T15:30:00.000Z") in rows
    assert ("hubspot-deal:9046", None, 7500, "usd") == rows[-1][:4]
    assert revenue(ws, "buyer0@example.com") == {"jpy": 4900, "usd": 10050}
    assert revenue(ws, "buyer1@example.com") == {}  # lost

    fake.catch_up()
    fake.move_deal(fake.deals[4], "closedwon")   # the open deal is won: 104.50
    fake.move_deal(fake.deals[2], "closedlost")  # a won deal is reopened and lost: its order goes
    fake.log.clear()
    report = run_sync(ws, options=options(hubspot=fake.transport()))
    assert report.ok, report.as_dict()
    assert report.sources[0].counts["deals"] <= 5  # the two changed deals (and a small overlap), not all 47
    assert revenue(ws, "buyer4@example.com") == {"usd": 10450}
    assert revenue(ws, "buyer2@example.com") == {}
    assert len(deal_orders(ws)) == 37


def test_a_won_deal_and_its_stripe_charge_count_once(ws, options):
    hub, stripe = FakeHubSpot(), FakeStripe()
    ann = hub.person("ann@example.com")
    when = datetime.fromtimestamp(1_700_000_000, timezone.utc)
    hub.deal([ann], "1500.00", closed=when)
    stripe.charge(150000, customer=stripe.customer("ann@example.com")["id"], created=1_700_000_000 + 3600)
    add(ws, "hubspot", secret=TOKEN, deals_as_orders=True)
    add(ws, "stripe")
    report = run_sync(ws, options=options(hubspot=hub.transport(), stripe=stripe.transport()))
    assert report.ok, report.as_dict()
    assert report.orders_matched == 1
    summary = build_report(ws.conn, "summary").to_json()
    assert (summary["orders"], summary["revenue"]) == (1, {"usd": 150000})


def test_deals_without_their_scope_are_one_line(ws, options):
    fake = FakeHubSpot()
    fake.deal([fake.person("ann@example.com")], "10.00")
    fake.scopes.discard("crm.objects.deals.read")
    add(ws, "hubspot", secret=TOKEN, deals_as_orders=True)
    report = run_sync(ws, options=options(hubspot=fake.transport()))
    assert report.sources[0].status == "failed"
    assert report.sources[0].reason == "HubSpot: the private app token lacks the scope crm.objects.deals.read"


def test_a_revoked_token_with_deals_on_is_one_line_and_keeps_the_orders(ws, options):
    fake = FakeHubSpot()
    fake.deal([fake.person("ann@example.com")], "10.00")
    add(ws, "hubspot", secret=TOKEN, deals_as_orders=True)
    assert run_sync(ws, options=options(hubspot=fake.transport())).ok
    fake.revoked = True
    report = run_sync(ws, options=options(hubspot=fake.transport()))
    assert report.sources[0].reason == "HubSpot rejected the private app token: Authentication credentials not found."
    assert len(deal_orders(ws)) == 1


@pytest.mark.parametrize("on_again", [False, True])
def test_turning_deals_off_removes_their_orders_and_on_again_reads_them_all(ws, options, on_again):
    from segdesk.sync.sources import get_source, update_source

    fake = FakeHubSpot()
    fake.deal([fake.person("ann@example.com")], "10.00")
    add(ws, "hubspot", secret=TOKEN, deals_as_orders=True)
    assert run_sync(ws, options=options(hubspot=fake.transport())).ok
    source = get_source(ws.conn, "hubspot")
    update_source(ws, source.name, {**source.config, "deals_as_orders": False})
    assert run_sync(ws, options=options(hubspot=fake.transport())).ok
    assert deal_orders(ws) == []
    if on_again:
        update_source(ws, source.name, {**source.config, "deals_as_orders": True})
        assert run_sync(ws, options=options(hubspot=fake.transport())).ok
        assert len(deal_orders(ws)) == 1


def test_the_option_is_kept_with_the_source_from_the_command_line(tmp_path, monkeypatch, capsys):
    import orjson

    from segdesk.cli import main

    monkeypatch.setenv("HS_TOKEN", TOKEN)
    wsdir = str(tmp_path / "ws")
    assert main(["--workspace", wsdir, "sources", "add", "hubspot", "--secret-env", "HS_TOKEN",
                 "--deals-as-orders", "--json"]) == 0
    assert orjson.loads(capsys.readouterr().out)["config"] == {"deals_as_orders": True}
    assert main(["--workspace", wsdir, "sources", "add", "kit", "--secret-env", "HS_TOKEN", "--deals-as-orders"]) == 1
    assert capsys.readouterr().err.strip().splitlines() == [
        "segdesk: --deals-as-orders is for HubSpot and ActiveCampaign sources"]


def test_an_erased_persons_won_deal_does_not_bring_them_back(ws, options):
    from segdesk.core.identity import people

    fake = FakeHubSpot()
    ann, bob = fake.person("ann@example.com"), fake.person("bob@example.com")
    fake.deal([bob], "20.00")
    add(ws, "hubspot", secret=TOKEN, deals_as_orders=True)
    assert run_sync(ws, options=options(hubspot=fake.transport())).ok
    people.erase(ws, "ann@example.com")
    fake.catch_up()
    fake.deal([ann], "1500.00")  # won after she was erased
    assert run_sync(ws, options=options(hubspot=fake.transport())).ok
    assert [e for (e,) in ws.conn.execute("SELECT email FROM contacts")] == ["bob@example.com"]
    # Not even as an order with her name taken off: bob's is the only one.
    assert ws.conn.execute("SELECT order_id, email FROM orders").fetchall() == [("hubspot-deal:9000", "bob@example.com")]
    assert revenue(ws, "bob@example.com") == {"usd": 2000}


def test_a_workspace_synced_before_stages_were_read_gets_them_for_unchanged_contacts(ws, options):
    import orjson

    fake = FakeHubSpot()
    fake.person("old@example.com")
    add(ws, "hubspot", secret=TOKEN)
    assert run_sync(ws, options=options(hubspot=fake.transport())).ok
    with ws.conn:  # as an older SegDesk left it: no stage tags, the contacts' window alone as the cursor
        ws.conn.execute("DELETE FROM tags")
        ws.conn.execute("UPDATE sync_state SET cursor = ?", (orjson.dumps({"gte": 4102444800000}).decode(),))
    assert run_sync(ws, options=options(hubspot=fake.transport())).ok
    assert tags(ws, "lifecycle:") == {("cid:hubspot:1", "lifecycle:lead")}
    assert ws.conn.execute("SELECT count(*) FROM contact_keys").fetchone() == (1,)
