"""HubSpot, ActiveCampaign, Kit, Keap and PayPal against their fakes: the same checks for each."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest

from segdesk.core.read.journey import journey
from segdesk.core.store import open_workspace
from segdesk.sync.connectors import activecampaign, activecampaign_orders, hubspot, keap, kit, paypal
from segdesk.sync.engine import run_sync

from .fakes import Killed
from .fakes_crm import FakeActiveCampaign, FakeKeap, FakeKit
from .fakes_hubspot import FakeHubSpot
from .fakes_paypal import FakePayPal
from .helpers import add, dump

NOW = datetime.now(timezone.utc).replace(microsecond=0)


@dataclass
class Vendor:
    kind: str
    make: type
    module: object
    secret: str
    config: dict
    error: str
    people_path: str  # the request path of the main list

    def fake(self):
        return self.make(NOW) if self.kind == "paypal" else self.make()

    def populate(self, fake, n: int, start: int = 0) -> None:
        if start and self.kind != "paypal":
            fake.catch_up()
        for i in range(start, start + n):
            email = f"Person{i}@Example.com "
            if self.kind == "paypal":
                age = timedelta(days=40) if not start else timedelta(hours=2)  # new ones are recent
                fake.payment(email, f"{10 + i}.00", when=NOW - age + timedelta(minutes=i))
            else:
                p = fake.person(email, f"First{i}", f"Last{i}", tags=("customer",) if i % 3 == 0 else ())
                if i % 4:
                    continue
                # Each CRM's money, so a kill and resume is checked on its orders too.
                if self.kind == "keap":
                    fake.order(p, 49.0 + i, refund=9.0 if i % 8 == 0 else 0.0)
                elif self.kind == "hubspot":
                    fake.deal([p], f"{49 + i}.00", stage="closedwon" if i % 8 else "appointmentscheduled")
                elif self.kind == "activecampaign":
                    fake.order(p["email"], 4900 + i)
                    fake.deal(p, 9900 + i, status="1" if i % 8 else "0")
                elif self.kind == "kit":
                    fake.purchase(p["email"], 49.0 + i)

    def rows(self, ws) -> int:
        table = "orders" if self.kind == "paypal" else "contact_keys"
        return ws.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


VENDORS = [
    Vendor("hubspot", FakeHubSpot, hubspot, "pat-na1-xyz", {"deals_as_orders": True},
           "HubSpot rejected the private app token: Authentication credentials not found.",
           "/crm/v3/objects/contacts/search"),
    Vendor("activecampaign", FakeActiveCampaign, activecampaign, "ac-token",
           {"base_url": "https://acme.api-us1.com", "deals_as_orders": True},
           "ActiveCampaign rejected the API token: No Result found for Subscriber with id 0", "/api/3/contacts"),
    Vendor("kit", FakeKit, kit, "kit_key", {}, "Kit rejected the API key: The access token is invalid",
           "/v4/subscribers"),
    Vendor("keap", FakeKeap, keap, "KeapAK-token", {},
           "Keap rejected the API key: Invalid Access Token", "/crm/rest/v1/contacts"),
    Vendor("paypal", FakePayPal, paypal, "paypal-secret", {"client_id": "client-1", "since": "2025-06-01"},
           "PayPal rejected the client credentials: Client Authentication failed", "/v1/reporting/transactions"),
]
IDS = [v.kind for v in VENDORS]


@pytest.fixture(autouse=True)
def small_pages(monkeypatch):
    for module in (hubspot, activecampaign, activecampaign_orders, kit, keap):
        monkeypatch.setattr(module, "PAGE", 20)
    monkeypatch.setattr(paypal, "PAGE", 20)


def setup(ws, vendor, n=70):
    fake = vendor.fake()
    vendor.populate(fake, n)
    add(ws, vendor.kind, secret=vendor.secret, **vendor.config)
    return fake


@pytest.mark.parametrize("vendor", VENDORS, ids=IDS)
def test_pages_then_increment_fetches_only_new(ws, options, vendor):
    fake = setup(ws, vendor)
    report = run_sync(ws, options=options(**{vendor.kind: fake.transport()}))
    assert report.ok, report.as_dict()
    assert vendor.rows(ws) == 70
    assert len([p for p in fake.paths() if p == vendor.people_path]) >= 4  # several pages
    first = len(fake.log)
    vendor.populate(fake, 3, start=70)
    report = run_sync(ws, options=options(**{vendor.kind: fake.transport()}))
    assert report.ok, report.as_dict()
    assert vendor.rows(ws) == 73
    fetched = report.sources[0].counts
    main = "transactions" if vendor.kind == "paypal" else "contacts" if vendor.kind != "kit" else "subscribers"
    assert fetched[main] <= 10, fetched  # the new records and a small overlap, not all 73
    assert len(fake.log) - first < first
    email = "person71@example.com"
    assert journey(ws.conn, email)["contact"]["email"] == email


@pytest.mark.parametrize("vendor", VENDORS, ids=IDS)
@pytest.mark.parametrize("fault", [("429", 3), ("500",), ("timeout",)], ids=["429", "500", "timeout"])
def test_transient_faults_are_retried(ws, options, sleeps, vendor, fault):
    fake = setup(ws, vendor, 30)
    fake.faults = [fault]
    report = run_sync(ws, options=options(**{vendor.kind: fake.transport()}))
    assert report.ok, report.as_dict()
    assert report.sources[0].retries == 1
    assert vendor.rows(ws) == 30
    if fault[0] == "429":
        assert 3.0 in sleeps


@pytest.mark.parametrize("vendor", VENDORS, ids=IDS)
def test_revoked_key_is_one_clear_line(ws, options, vendor):
    fake = setup(ws, vendor, 5)
    fake.revoked = True
    report = run_sync(ws, options=options(**{vendor.kind: fake.transport()}))
    assert report.sources[0].status == "failed"
    assert report.sources[0].reason == vendor.error


@pytest.mark.parametrize("vendor", VENDORS, ids=IDS)
def test_killed_mid_stream_then_resumed_equals_uninterrupted(tmp_path, options, vendor):
    whole = open_workspace(tmp_path / "whole")
    fake = vendor.fake()
    vendor.populate(fake, 90)
    add(whole, vendor.kind, secret=vendor.secret, **vendor.config)
    run_sync(whole, options=options(**{vendor.kind: fake.transport()}))

    broken = open_workspace(tmp_path / "broken")
    add(broken, vendor.kind, secret=vendor.secret, **vendor.config)
    fake.log.clear()
    kills = 0
    for n in (2, 2, 3, 3, 3, 3, 3):  # enough kills to land in the later streams (tags, orders, deals) too
        fake.kill_after, fake.served = n, 0
        try:
            run_sync(broken, options=options(**{vendor.kind: fake.transport()}))
        except Killed:
            kills += 1
    fake.kill_after = None
    assert kills >= 2
    assert whole.conn.execute("SELECT count(*) FROM orders").fetchone()[0] >= 10  # money too: 11 won deals, 23 orders...
    assert run_sync(broken, options=options(**{vendor.kind: fake.transport()})).ok
    whole_dump, broken_dump = dump(whole), dump(broken)
    # Cursors that hold the run's start time differ by when each ran; the data must not.
    whole_dump.pop("cursors"), broken_dump.pop("cursors")
    assert broken_dump == whole_dump


def test_hubspot_search_cap_rewindows(ws, options, monkeypatch):
    fake = FakeHubSpot()
    fake.cap = 60  # the real cap is 10,000; the rule is the same
    monkeypatch.setattr(hubspot, "SEARCH_CAP", 60)
    for i in range(150):
        fake.person(f"p{i}@example.com")
    add(ws, "hubspot", secret="pat-na1-xyz")
    assert run_sync(ws, options=options(hubspot=fake.transport())).ok
    assert ws.conn.execute("SELECT count(*) FROM contact_keys").fetchone()[0] == 150
    searches = [r for r in fake.log if r.url.path == "/crm/v3/objects/contacts/search"]
    windows = {r["filterGroups"][0]["filters"][0]["value"] for r in map(fake.body, searches)}
    assert len(windows) >= 3


def test_tags_land_on_crm_ids(ws, options):
    fake = FakeActiveCampaign()
    fake.person("tagged@example.com", tags=("customer", "webinar"))
    add(ws, "activecampaign", secret="ac-token", base_url="https://acme.api-us1.com")
    run_sync(ws, options=options(activecampaign=fake.transport()))
    assert ws.conn.execute("SELECT identifier, tag FROM tags ORDER BY tag").fetchall() == [
        ("cid:ac:1", "customer"), ("cid:ac:1", "webinar")]


def test_paypal_refund_and_zero_decimal(ws, options):
    fake = FakePayPal(NOW)
    pay = fake.payment("yen@example.jp", "4900", "JPY")
    fake.payment("usd@example.com", "49.99")
    fake.refund(pay, "900", when=NOW - timedelta(days=1))
    add(ws, "paypal", secret="paypal-secret", client_id="client-1", since=(NOW - timedelta(days=5)).isoformat())
    assert run_sync(ws, options=options(paypal=fake.transport())).ok
    assert journey(ws.conn, "yen@example.jp")["contact"]["revenue"] == {"jpy": 4000}
    assert journey(ws.conn, "usd@example.com")["contact"]["revenue"] == {"usd": 4999}
