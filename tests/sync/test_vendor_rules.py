"""What each vendor's documentation requires, against fakes as strict as the vendor (issue 22).

Each test names the rule it checks; docs/connectors.md lists the vendor page behind it.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from segdesk.core.read.journey import journey
from segdesk.sync.connectors import activecampaign, hubspot, keap, kit, paypal
from segdesk.sync.engine import run_sync
from segdesk.sync.http import HttpOptions, RateLimit, _Window

from .fakes import FakeStripe
from .fakes_crm import FakeActiveCampaign, FakeKeap, FakeKit
from .fakes_hubspot import FakeHubSpot
from .fakes_paypal import FakePayPal
from .helpers import add
from .loopback import Loopback

NOW = datetime.now(timezone.utc).replace(microsecond=0)


class FakeClock:
    """Time that moves only when the code under test sleeps; every sleep is recorded."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def clocked(clock: FakeClock, **transports) -> HttpOptions:
    return HttpOptions(transports=transports, sleep=clock.sleep, clock=clock.time, max_attempts=4)


def revenue(ws, email):
    return journey(ws.conn, email)["contact"]["revenue"]


def count(ws, sql, *args):
    return ws.conn.execute(sql, args).fetchone()[0]


# -- 4. rate limits without Retry-After --------------------------------------------------------


def test_kit_plain_text_429_is_waited_out_for_the_documented_minute(ws, monkeypatch):
    monkeypatch.setattr(kit, "PAGE", 10)
    clock, fake = FakeClock(), FakeKit()
    for i in range(45):
        fake.person(f"k{i}@example.com", tags=("customer",) if i % 2 else ())
    fake.limit = (4, 60.0, clock.time)  # the key's minute is shared with another app: 4 left per 60 s
    add(ws, "kit", secret="kit_key")
    report = run_sync(ws, options=clocked(clock, kit=fake.transport()))
    assert report.ok, report.as_dict()
    assert count(ws, "SELECT count(*) FROM contact_keys") == 45
    # Every 429 (plain "Retry later", no Retry-After) waited the full documented 60 s window.
    waits = [s for s in clock.sleeps if s >= 1]
    assert waits and set(waits) == {60.0}


@pytest.mark.parametrize(("kind", "window"), [("hubspot", 10.0), ("activecampaign", 1.0), ("kit", 60.0),
                                              ("keap", 60.0), ("paypal", 60.0)])
def test_a_429_without_retry_after_waits_the_vendors_window_and_doubles(ws, kind, window):
    fakes = {"hubspot": FakeHubSpot, "activecampaign": FakeActiveCampaign, "kit": FakeKit, "keap": FakeKeap}
    fake = FakePayPal(NOW) if kind == "paypal" else fakes[kind]()
    if kind == "paypal":
        fake.payment("p@example.com", "10.00")
    else:
        fake.person("p@example.com", tags=("customer",))
    secrets = {"hubspot": "pat-na1-xyz", "activecampaign": "ac-token", "kit": "kit_key", "keap": "KeapAK-token",
               "paypal": "paypal-secret"}
    config = {"activecampaign": {"base_url": "https://acme.api-us1.com"},
              "paypal": {"client_id": "client-1", "since": (NOW - timedelta(days=5)).isoformat()}}.get(kind, {})
    add(ws, kind, secret=secrets[kind], **config)
    fake.faults = [("429-text",), ("429-json",)]
    clock = FakeClock()
    report = run_sync(ws, options=clocked(clock, **{kind: fake.transport()}))
    assert report.ok, report.as_dict()
    assert [s for s in clock.sleeps if s >= window] == [window, 2 * window]


def test_client_side_limits_hold_together_per_second_and_per_minute():
    clock = FakeClock()
    window = _Window((RateLimit(10, 1.0), RateLimit(240, 60.0)), clock.time, clock.sleep)
    for _ in range(250):
        window.wait()
    # 240 calls fit the first minute at 10 per second (24 s); the 241st waits for the minute to pass.
    assert clock.now - 1000.0 >= 60.0
    assert all(s <= 60.0 for s in clock.sleeps)


# -- 1. Keap -------------------------------------------------------------------------------------


def test_keap_api_key_travels_in_x_keap_api_key_and_oauth_as_bearer(tmp_path):
    from segdesk.core.store import open_workspace

    for secret, header in (("KeapAK-token", "x-keap-api-key"), ("oauth-access-1", "authorization")):
        ws = open_workspace(tmp_path / secret)
        fake = FakeKeap()
        fake.oauth_tokens = {"oauth-access-1"}
        fake.person("a@example.com")
        add(ws, "keap", secret=secret)
        report = run_sync(ws, options=HttpOptions(transports={"keap": fake.transport()}, sleep=lambda s: None))
        assert report.ok, report.as_dict()
        assert all(header in r.headers for r in fake.log)
        assert keap.limits(secret) == ((RateLimit(10, 1.0), RateLimit(240, 60.0)) if secret.startswith("KeapAK-")
                                       else (RateLimit(25, 1.0), RateLimit(1500, 60.0)))
        ws.close()


def test_keap_oauth_grant_refreshes_its_expired_token_and_keeps_the_rotated_refresh_token(ws, options):
    import orjson

    from segdesk.sync.sources import get_source, secret_of

    fake = FakeKeap()
    fake.refresh_tokens = {"refresh-0"}
    fake.oauth_tokens = {"stale-access"}  # still accepted, but the grant says it expired an hour ago
    fake.person("oauth@example.com")
    grant = {"client_id": "client-id", "client_secret": "client-secret", "refresh_token": "refresh-0",
             "access_token": "stale-access", "expires_at": (NOW - timedelta(hours=1)).isoformat()}
    add(ws, "keap", secret=orjson.dumps(grant).decode())
    assert run_sync(ws, options=options(keap=fake.transport())).ok
    stored = orjson.loads(secret_of(ws, get_source(ws.conn, "keap")))
    assert (stored["access_token"], stored["refresh_token"]) == ("oauth-access-1", "oauth-refresh-1")
    assert all(r.headers["authorization"] == "Bearer oauth-access-1" for r in fake.log if r.url.path != "/token")
    assert run_sync(ws, options=options(keap=fake.transport())).ok
    assert fake.refreshes == 1  # a token good for 24 h is used, not refreshed again


def test_keap_refund_of_an_old_order_is_read_again(ws, options):
    fake = FakeKeap()
    p = fake.person("old@example.com")
    order = fake.order(p, 100.0, when=NOW - timedelta(days=40))
    fake.order(p, 20.0)
    add(ws, "keap", secret="KeapAK-token")
    assert run_sync(ws, options=options(keap=fake.transport())).ok
    assert revenue(ws, "old@example.com") == {"usd": 12000}
    fake.catch_up()
    fake.refund_order(order, 30.0)  # today, on a 40-day-old order
    assert run_sync(ws, options=options(keap=fake.transport())).ok
    assert revenue(ws, "old@example.com") == {"usd": 9000}


# -- 2. PayPal -----------------------------------------------------------------------------------


def paypal_ws(ws, fake, days=5):
    add(ws, "paypal", secret="paypal-secret", client_id="client-1", since=(NOW - timedelta(days=days)).isoformat())


def test_paypal_splits_a_window_that_is_too_large_until_it_fits(ws, options, monkeypatch):
    monkeypatch.setattr(paypal, "PAGE", 20)
    fake = FakePayPal(NOW)
    fake.cap = 25
    for i in range(100):
        fake.payment(f"big{i}@example.com", "1.00", when=NOW - timedelta(days=3, minutes=i))
    paypal_ws(ws, fake)
    report = run_sync(ws, options=options(paypal=fake.transport()))
    assert report.ok, report.as_dict()
    assert count(ws, "SELECT count(*) FROM orders") == 100
    assert count(ws, "SELECT sum(amount) FROM orders") == 10000


def test_paypal_reversals_and_chargebacks_reduce_revenue_like_refunds(ws, options):
    fake = FakePayPal(NOW)
    fake.payment("rev@example.com", "50.00", status="V")  # reversed: the money went back to the buyer
    back = fake.payment("back@example.com", "40.00")
    fake.refund(back, "40.00", code="T1106")  # payment reversal
    charged = fake.payment("cb@example.com", "30.00")
    fake.refund(charged, "12.50", code="T1201")  # chargeback
    paypal_ws(ws, fake)
    assert run_sync(ws, options=options(paypal=fake.transport())).ok
    assert revenue(ws, "rev@example.com") == {"usd": 0}
    assert revenue(ws, "back@example.com") == {"usd": 0}
    assert revenue(ws, "cb@example.com") == {"usd": 1750}


def test_paypal_pending_payment_is_read_again_until_it_settles(ws, options):
    fake = FakePayPal(NOW)
    slow = fake.payment("echeck@example.com", "80.00", status="P", when=NOW - timedelta(days=4))
    paypal_ws(ws, fake)
    assert run_sync(ws, options=options(paypal=fake.transport())).ok
    assert count(ws, "SELECT count(*) FROM orders") == 0  # not money received yet
    for _ in range(2):  # still pending: asked again each sync, however long
        assert run_sync(ws, options=options(paypal=fake.transport())).ok
    tid = slow["transaction_info"]["transaction_id"]
    assert len([r for r in fake.log if r.url.params.get("transaction_id") == tid]) == 3
    slow["transaction_info"]["transaction_status"] = "S"
    assert run_sync(ws, options=options(paypal=fake.transport())).ok
    assert revenue(ws, "echeck@example.com") == {"usd": 8000}


# -- 5. HubSpot ------------------------------------------------------------------------------------


def test_hubspot_contact_changed_just_before_a_sync_is_not_skipped(ws, options):
    fake = FakeHubSpot()
    fake.catch_up()
    late = fake.person("late@example.com")
    fake.person("seen@example.com")
    fake.unindexed.add(late["id"])  # changed first, but the search index has not caught up yet
    add(ws, "hubspot", secret="pat-na1-xyz")
    assert run_sync(ws, options=options(hubspot=fake.transport())).ok
    assert count(ws, "SELECT count(*) FROM contact_keys") == 1
    fake.unindexed.clear()
    assert run_sync(ws, options=options(hubspot=fake.transport())).ok
    assert count(ws, "SELECT count(*) FROM contact_keys") == 2


def test_hubspot_reads_more_records_than_the_cap_sharing_one_timestamp(ws, options, monkeypatch):
    monkeypatch.setattr(hubspot, "SEARCH_CAP", 60)
    fake = FakeHubSpot()
    fake.cap = 60  # HubSpot's is 10,000; the rule is the same
    instant = NOW - timedelta(days=1)
    for i in range(150):  # an import: 150 contacts modified in the same millisecond
        fake.person(f"same{i}@example.com", updated=instant)
    for i in range(5):
        fake.person(f"after{i}@example.com")
    add(ws, "hubspot", secret="pat-na1-xyz")
    report = run_sync(ws, options=options(hubspot=fake.transport()))
    assert report.ok, report.as_dict()
    assert count(ws, "SELECT count(*) FROM contact_keys") == 155


# -- 6. ActiveCampaign -----------------------------------------------------------------------------


def test_activecampaign_filter_is_read_in_the_accounts_time_zone(ws, options):
    fake = FakeActiveCampaign()  # the account is at UTC-5 and reads filter times as its own wall clock
    fake.person("first@example.com")
    add(ws, "activecampaign", secret="ac-token", base_url="https://acme.api-us1.com")
    assert run_sync(ws, options=options(activecampaign=fake.transport())).ok
    fake.catch_up()
    fake.person("new@example.com")
    assert run_sync(ws, options=options(activecampaign=fake.transport())).ok
    assert journey(ws.conn, "new@example.com")["contact"]["email"] == "new@example.com"


def test_activecampaign_tag_assignments_are_paged_in_a_stable_order(ws, options, monkeypatch):
    monkeypatch.setattr(activecampaign, "PAGE", 20)
    monkeypatch.setattr(activecampaign, "TAG_OVERLAP", 20)
    fake = FakeActiveCampaign()
    for i in range(90):
        fake.person(f"t{i}@example.com", tags=("customer",))
    add(ws, "activecampaign", secret="ac-token", base_url="https://acme.api-us1.com")
    assert run_sync(ws, options=options(activecampaign=fake.transport())).ok
    fake.catch_up()
    for i in range(3):
        fake.person(f"n{i}@example.com", tags=("webinar",))
    assert run_sync(ws, options=options(activecampaign=fake.transport())).ok
    assert count(ws, "SELECT count(*) FROM tags") == 93
    assert count(ws, "SELECT count(*) FROM tags WHERE tag = 'webinar'") == 3


# -- 4. Kit tags -------------------------------------------------------------------------------------


def test_kit_tags_are_paged_to_the_end_and_removals_noticed(ws, options, monkeypatch):
    monkeypatch.setattr(kit, "PAGE", 10)
    fake = FakeKit()
    people = [fake.person(f"k{i}@example.com", tags=(f"tag{i:02d}",)) for i in range(25)]
    add(ws, "kit", secret="kit_key")
    assert run_sync(ws, options=options(kit=fake.transport())).ok
    assert count(ws, "SELECT count(*) FROM tags") == 25  # three pages of tags
    fake.untag(people[3], "tag03")
    fake.extra_tags = ("tag03",)  # the tag itself still exists, with nobody on it
    assert run_sync(ws, options=options(kit=fake.transport())).ok
    assert count(ws, "SELECT count(*) FROM tags") == 24
    assert count(ws, "SELECT count(*) FROM tags WHERE tag = 'tag03'") == 0


# -- 7. a 403 says what is missing -------------------------------------------------------------------


def test_missing_scope_or_permission_is_reported_as_such(ws, options):
    hub = FakeHubSpot()
    hub.person("a@example.com")
    hub.scopes = set()
    pp = FakePayPal(NOW)
    pp.payment("b@example.com", "5.00")
    pp.reporting = False
    add(ws, "hubspot", secret="pat-na1-xyz")
    paypal_ws(ws, pp)
    report = run_sync(ws, options=options(hubspot=hub.transport(), paypal=pp.transport()))
    reasons = {r.kind: r.reason for r in report.sources}
    assert reasons == {
        "hubspot": "HubSpot: the private app token lacks the scope crm.objects.contacts.read",
        "paypal": "PayPal: these client credentials lack the Transaction Search permission "
                  "(Authorization failed due to insufficient permissions.)",
    }


# -- 8. over real HTTP ----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["stripe", "hubspot", "activecampaign", "kit", "keap", "paypal"])
def test_every_connector_syncs_over_real_http_on_loopback(ws, options, kind):
    if kind == "stripe":
        fake = FakeStripe()
        fake.charge(1500, email="net@example.com")
    elif kind == "paypal":
        fake = FakePayPal(NOW)
        fake.payment("net@example.com", "15.00")
    else:
        fake = {"hubspot": FakeHubSpot, "activecampaign": FakeActiveCampaign, "kit": FakeKit,
                "keap": FakeKeap}[kind]()
        p = fake.person("net@example.com", tags=("customer",))
        if kind == "keap":
            fake.order(p, 15.0)
    secrets = {"stripe": "sk_test_secret", "hubspot": "pat-na1-xyz", "activecampaign": "ac-token",
               "kit": "kit_key", "keap": "KeapAK-token", "paypal": "paypal-secret"}
    config = {"activecampaign": {"base_url": "https://acme.api-us1.com"},
              "paypal": {"client_id": "client-1", "since": (NOW - timedelta(days=5)).isoformat()}}.get(kind, {})
    add(ws, kind, secret=secrets[kind], **config)
    with Loopback(fake) as transport:
        report = run_sync(ws, options=options(**{kind: transport}))
    assert report.ok, report.as_dict()
    assert journey(ws.conn, "net@example.com")["contact"]["email"] == "net@example.com"


# -- 8. the fakes refuse what the vendor refuses ----------------------------------------------------


def _ask(fake, method, url, **kwargs):
    import httpx

    with httpx.Client(transport=fake.transport()) as client:
        return client.request(method, url, **kwargs).status_code


def test_each_fake_refuses_a_wrong_auth_scheme_and_an_oversized_page():
    stripe_ok = {"Authorization": "Bearer sk_test_x", "Stripe-Version": "2025-03-31.basil"}
    search = {"filterGroups": [], "sorts": [], "limit": 201}
    cases = [
        (FakeStripe(), "GET", "https://api.stripe.com/v1/charges", {"Authorization": "Basic sk_test_x"}, {}, 401),
        (FakeStripe(), "GET", "https://api.stripe.com/v1/charges", {"Authorization": "Bearer sk_test_x"}, {}, 400),
        (FakeStripe(), "GET", "https://api.stripe.com/v1/invoices?expand[]=data.payment_intent", stripe_ok, {}, 400),
        (FakeHubSpot(), "POST", "https://api.hubapi.com/crm/v3/objects/contacts/search",
         {"Authorization": "pat-na1-xyz"}, {"json": search}, 401),
        (FakeHubSpot(), "POST", "https://api.hubapi.com/crm/v3/objects/contacts/search",
         {"Authorization": "Bearer pat-na1-xyz"}, {"json": search}, 400),
        (FakeActiveCampaign(), "GET", "https://a.api-us1.com/api/3/contacts", {"Authorization": "Bearer ac-token"},
         {}, 403),
        (FakeActiveCampaign(), "GET", "https://a.api-us1.com/api/3/contacts?limit=101", {"Api-Token": "ac-token"},
         {}, 400),
        (FakeKit(), "GET", "https://api.kit.com/v4/subscribers", {"Authorization": "Bearer kit_key"}, {}, 401),
        (FakeKit(), "GET", "https://api.kit.com/v4/subscribers?per_page=1001", {"X-Kit-Api-Key": "kit_key"}, {},
         422),
        (FakeKeap(), "GET", "https://api.infusionsoft.com/crm/rest/v1/contacts",
         {"Authorization": "Bearer KeapAK-token"}, {}, 401),
        (FakeKeap(), "GET", "https://api.infusionsoft.com/crm/rest/v1/orders?order=id",
         {"X-Keap-API-Key": "KeapAK-token"}, {}, 400),
        (FakePayPal(NOW), "GET", "https://api-m.paypal.com/v1/reporting/transactions?start_date=2026-01-01T00:00:00Z"
         "&end_date=2026-02-15T00:00:00Z&page_size=100&page=1", {"Authorization": "Bearer A21AA-token"}, {}, 400),
        (FakePayPal(NOW), "GET", "https://api-m.paypal.com/v1/reporting/transactions?start_date=2026-01-01T00:00:00Z"
         "&end_date=2026-01-15T00:00:00Z&page_size=501&page=1", {"Authorization": "Bearer A21AA-token"}, {}, 400),
    ]
    for fake, method, url, headers, kwargs, status in cases:
        assert _ask(fake, method, url, headers=headers, **kwargs) == status, url
