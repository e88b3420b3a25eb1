"""HighLevel against its fake over real HTTP on loopback: contacts, tags, attribution touches, won deals."""

from __future__ import annotations

import pytest

from segdesk.core.importing.events import import_events
from segdesk.core.read.journey import journey
from segdesk.core.reports import build_report
from segdesk.errors import InvalidInput
from segdesk.sync.connectors import highlevel

from ..core.wire import at, identify, page
from .fakes_highlevel import LOCATION, TOKEN, FakeHighLevel
from .helpers import add, query_params, sync_over_loopback, tag_rows as tags

ADS = {"url": "https://shop.example.com/webinar", "referrer": "https://www.facebook.com/", "utmSource": "facebook",
       "utmMedium": "cpc", "campaign": "spring", "sessionSource": "Paid Social", "medium": "form"}
NEWSLETTER = {"url": "https://shop.example.com/offer", "utmSource": "newsletter", "utmMedium": "email",
              "campaign": "june offer", "sessionSource": "Email", "medium": "form"}


def sync(ws, options, fake):
    return sync_over_loopback(ws, fake, options, "highlevel")


def touches(ws, email: str) -> list:
    """The contact's page views as the journey shows them: (time, source, medium, campaign)."""
    return [(e["time"], e["channel"]["source"], e["channel"]["medium"], e["channel"]["campaign"])
            for e in journey(ws.conn, email)["events"] if e["kind"] == "page"]


@pytest.fixture
def fake():
    f = FakeHighLevel()
    ann = f.contact("Ann@Example.com", "Ann", "Lee", tags=("customer", "webinar"), first_touch=ADS,
                    added=at(0))
    bob = f.contact("bob@example.com", "Bob", added=at(1))
    f.opportunity(ann, 1500.0, "Coaching", when=at(3))
    f.opportunity(bob, 300.0, "Audit", status="open")
    return f


def test_first_then_second_sync_with_tags_and_attribution(ws, options, fake):
    add(ws, "highlevel", secret=TOKEN, location_id=LOCATION)
    report = sync(ws, options, fake)
    assert report.ok, report.as_dict()
    assert all(r.headers["version"] == "2021-07-28" for r in fake.log)
    ann = f"cid:highlevel:{next(iter(fake.contacts))}"
    assert tags(ws) == [(ann, "customer"), (ann, "webinar")]
    # Ann's first attribution is a touch at her dateAdded: facebook / cpc / spring. No orders unless asked.
    assert touches(ws, "ann@example.com") == [(at(0), "facebook", "cpc", "spring")]
    assert ws.conn.execute("SELECT count(*) FROM orders").fetchone() == (0,)
    assert not any("/opportunities/" in p for p in fake.paths())

    contact = fake.contact("ann@example.com", "Ann", "Lee", tags=("webinar", "vip"), last_touch=NEWSLETTER)
    report = sync(ws, options, fake)
    assert report.ok, report.as_dict()
    assert tags(ws) == [(ann, "vip"), (ann, "webinar")]
    # A new last attribution: one more touch, at the dateUpdated it was first read with.
    assert touches(ws, "ann@example.com") == [(at(0), "facebook", "cpc", "spring"),
                                              (contact["dateUpdated"], "newsletter", "email", "june offer")]
    again = sync(ws, options, fake)  # nothing new: nothing stored twice
    assert again.ok and again.sources[0].changed == {}


def test_won_opportunities_are_orders_when_chosen_and_leave_when_no_longer_won(ws, options, fake):
    add(ws, "highlevel", secret=TOKEN, location_id=LOCATION, opportunities_as_orders=True, currency="eur")
    assert sync(ws, options, fake).ok
    assert query_params(fake, "/opportunities/search")[0]["status"] == "won"
    assert ws.conn.execute("SELECT email, amount, currency, product, created_at FROM orders").fetchall() == [
        ("ann@example.com", 150000, "eur", "Coaching", at(3))]
    # Last touch of Ann's 1,500.00 is her facebook arrival.
    report = build_report(ws.conn, "attribution", model="last_touch", by="source", lookback_days=90).to_json()
    assert {r["key"]: r["credit"] for r in report["rows"]} == {"facebook": {"eur": 150000.0}}
    next(iter(fake.opportunities.values()))["status"] = "lost"
    assert sync(ws, options, fake).ok
    assert ws.conn.execute("SELECT count(*) FROM orders").fetchone() == (0,)


def test_a_google_click_id_kept_beside_the_landing_page_names_google(ws, options):
    fake = FakeHighLevel()
    fake.contact("cy@example.com", "Cy", added=at(2), first_touch={"url": "https://shop.example.com/?ref=x",
                                                                   "gclid": "Cj0KCQ", "sessionSource": "Paid Search"})
    add(ws, "highlevel", secret=TOKEN, location_id=LOCATION)
    assert sync(ws, options, fake).ok
    assert touches(ws, "cy@example.com") == [(at(2), "google", "cpc", None)]


def test_a_buyer_the_pixel_saw_gets_no_attribution_touch(ws, options, fake):
    import_events(ws, [page("a1", at(0), "https://shop.example.com/"),
                       identify("a1", at(0, minutes=1), email="ann@example.com")], origin="test")
    add(ws, "highlevel", secret=TOKEN, location_id=LOCATION)
    assert sync(ws, options, fake).ok
    assert touches(ws, "ann@example.com") == [(at(0), "(direct)", "(none)", None)]  # the pixel's own visit only


def test_pages_to_the_end_by_next_page_url(ws, options, monkeypatch):
    monkeypatch.setattr(highlevel, "PAGE", 2)
    fake = FakeHighLevel()
    for i in range(5):
        fake.contact(f"p{i}@example.com", f"P{i}")
    add(ws, "highlevel", secret=TOKEN, location_id=LOCATION)
    assert sync(ws, options, fake).ok
    pages = query_params(fake, "/contacts/")
    assert [p.get("startAfterId") for p in pages] == [None, *(c["id"] for c in list(fake.contacts.values())[1:5:2])]
    assert ws.conn.execute("SELECT count(*) FROM contact_keys WHERE key LIKE 'highlevel:%'").fetchone() == (5,)


def test_limit_over_100_is_refused_like_highlevel(ws, options, monkeypatch, fake):
    monkeypatch.setattr(highlevel, "PAGE", 101)
    add(ws, "highlevel", secret=TOKEN, location_id=LOCATION)
    assert sync(ws, options, fake).sources[0].reason == (
        "HighLevel answered 422 for /contacts/: limit must not be greater than 100")


def test_429_waits_retry_after_else_the_ten_second_window(ws, options, sleeps, fake):
    fake.faults = [("429", 3), ("429-json",)]
    add(ws, "highlevel", secret=TOKEN, location_id=LOCATION)
    report = sync(ws, options, fake)
    assert report.ok, report.as_dict()
    assert sleeps[:2] == [3.0, 20.0]  # Retry-After; then the window, doubled for the second 429 in a row


def test_revoked_token_and_another_location_are_one_line(ws, options, fake):
    add(ws, "highlevel", secret=TOKEN, location_id=LOCATION)
    add(ws, "highlevel", "other", secret=TOKEN, location_id="someoneElse000000000")
    fake.revoked = True
    report = sync(ws, options, fake)
    assert report.sources[0].reason == "HighLevel rejected the private integration token: Invalid JWT"
    fake.revoked = False
    report = sync(ws, options, fake)
    assert report.sources[1].reason == ("HighLevel refused the private integration token for /contacts/: it needs "
                                        "the scopes contacts.readonly (and opportunities.readonly for orders)")


def test_a_source_without_its_location_is_refused(ws):
    with pytest.raises(InvalidInput, match=r"^a HighLevel source needs --location-id"):
        add(ws, "highlevel", secret=TOKEN)
