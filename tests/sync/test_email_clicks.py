"""Email-click touches from a platform's report change attribution, once per click (hand-computed)."""

from __future__ import annotations

from segdesk.core.importing.csv_import import import_orders
from segdesk.core.importing.events import import_events
from segdesk.core.read.journey import journey
from segdesk.core.identity.people import erase
from segdesk.core.reports import build_report
from segdesk.core.identity.suppression import suppress
from segdesk.core.read.timeline import build_timeline
from segdesk.sync.connectors import klaviyo, mailchimp
from segdesk.sync.engine import run_sync

from ..core.wire import at, identify, page
from .fakes_email import KEY, LIST, PK, FakeKlaviyo, FakeMailchimp, mc_time
from .helpers import add, killed_then_resumed_equals_whole
from .loopback import Loopback

SHOP = "https://shop.example.com/"
FB = SHOP + "?utm_source=facebook&utm_medium=cpc&utm_campaign=spring"
FROM_EMAIL = SHOP + "?utm_source=mailchimp&utm_medium=email&utm_campaign=Spring%20Sale"


def mc(ts: str) -> str:
    return ts[:19] + "+00:00"


def credits(ws, model: str, by: str) -> dict:
    report = build_report(ws.conn, "attribution", model=model, by=by, lookback_days=90).to_json()
    return {row["key"]: row["credit"] for row in report["rows"]}


def setup(ws, options, clicks):
    import_events(ws, [page("a1", at(0), FB), identify("a1", at(0, minutes=1), email="ann@example.com"),
                       page("b1", at(0), SHOP, "https://www.google.com/"),
                       identify("b1", at(0, minutes=1), email="bob@example.com"),
                       page("b1", at(5, hours=1, minutes=0.5), FROM_EMAIL)], origin="test")
    import_orders(ws, "order_id,email,amount,currency,created_at\n"
                      f"o1,ann@example.com,100.00,usd,{at(4)}\no2,bob@example.com,50.00,usd,{at(6)}\n")
    fake = FakeMailchimp()
    fake.member("ann@example.com", "Ann")
    fake.member("bob@example.com", "Bob")
    fake.campaign("c1", "Spring Sale")  # a touch of campaign "spring sale", like the utm
    for email, ts in clicks:
        fake.click("c1", email, mc(ts))
    add(ws, "mailchimp", secret=KEY, list_id=LIST)
    with Loopback(fake) as transport:
        assert run_sync(ws, options=options(mailchimp=transport)).ok
    return fake


def test_a_click_is_a_touch_that_moves_credit(ws, options):
    # Ann: facebook on day 0, clicked the email on day 3 (the pixel never saw that visit), bought 100.00
    # on day 4. Bob (google, then his landing from the email on day 5) bought 50.00 on day 6.
    setup(ws, options, [("ann@example.com", at(3, hours=1))])
    # Last touch: Ann's 100.00 moves from facebook to the click; Bob's 50.00 is his landing's.
    assert credits(ws, "last_touch", "source") == {"mailchimp": {"usd": 15000.0}}
    # Linear: Ann 50.00 spring + 50.00 Spring Sale; Bob 25.00 (not set) + 25.00 Spring Sale.
    assert credits(ws, "linear", "campaign") == {"spring": {"usd": 5000.0}, "spring sale": {"usd": 7500.0},
                                                 "(not set)": {"usd": 2500.0}}
    assert credits(ws, "first_touch", "source")["facebook"] == {"usd": 10000.0}  # the click came later
    clicks = [e for e in journey(ws.conn, "ann@example.com")["events"] if e["kind"] == "email_click"]
    assert clicks == [{"time": at(3, hours=1), "kind": "email_click", "platform": "mailchimp",
                       "campaign": "spring sale", "url": "https://shop.example.com/sale",
                       "channel": {"source": "mailchimp", "medium": "email", "campaign": "spring sale"}}]
    entry = next(e for e in build_timeline(journey(ws.conn, "ann@example.com"), str) if e.kind == "email_click")
    assert (entry.what, entry.detail) == ("Email click", "spring sale · https://shop.example.com/sale · from mailchimp")


def test_the_click_the_pixel_saw_counts_once(ws, options):
    # Bob: google on day 0; on day 5 at 10:00 he clicks, and the pixel records the landing 30 s later
    # (utm from Mailchimp's link tracking): one touch, not two. Order of 50.00 on day 6, linear:
    # organic 2500, email 2500 (two touches would have given email 3333.33).
    setup(ws, options, [("bob@example.com", at(5, hours=1))])
    assert credits(ws, "linear", "medium") == {"organic": {"usd": 2500.0}, "email": {"usd": 2500.0},
                                               "cpc": {"usd": 10000.0}}


def test_a_later_click_of_the_same_email_is_its_own_touch(ws, options):
    # The same as above plus a second click at 11:30, 90 minutes after the visit: three touches of
    # Bob's 50.00: organic 1666.67, email 3333.33 (largest remainder to the cent of a cent).
    setup(ws, options, [("bob@example.com", at(5, hours=1)), ("bob@example.com", at(5, hours=2.5))])
    linear = credits(ws, "linear", "medium")
    assert linear["organic"] == {"usd": 1666.67} and linear["email"] == {"usd": 3333.33}


def test_mailchimp_killed_mid_sync_then_resumed_loses_and_repeats_nothing(tmp_path, options, monkeypatch):
    monkeypatch.setattr(mailchimp, "PAGE", 2)

    def make():
        fake = FakeMailchimp()
        for i in range(7):
            fake.member(f"p{i}@example.com", f"P{i}", tags=("a",) if i % 2 else ("b",))
        for c in ("c1", "c2"):
            fake.campaign(c, c.upper())
            for i in range(5):
                fake.click(c, f"p{i}@example.com", mc(at(i, hours=2)))
        return fake
    killed_then_resumed_equals_whole(tmp_path, options, "mailchimp", make, KEY, list_id=LIST)


def test_klaviyo_killed_mid_sync_then_resumed_loses_and_repeats_nothing(tmp_path, options, monkeypatch):
    monkeypatch.setattr(klaviyo, "PAGE", 2)

    def make():
        fake = FakeKlaviyo()
        pids = [fake.profile(f"p{i}@example.com", f"P{i}") for i in range(7)]
        fake.put_on("L1", "Newsletter", *pids[:5])
        for i, pid in enumerate(pids):
            fake.event("M_CLICK", pid, mc(at(i)), **{"Campaign Name": "C"})
            fake.event("M_ORDER", pid, mc(at(i, hours=1)), **{"$value": 10 + i, "OrderId": f"o{i}"})
        return fake
    killed_then_resumed_equals_whole(tmp_path, options, "klaviyo", make, PK)


def test_an_erased_person_s_clicks_go_and_stay_gone(ws, options):
    fake = setup(ws, options, [("ann@example.com", at(3, hours=1)), ("nobody@example.com", at(3, hours=2))])
    erase(ws, "ann@example.com")
    assert ws.conn.execute("SELECT email FROM email_clicks").fetchall() == [("nobody@example.com",)]
    with ws.conn:
        suppress(ws.conn, ["email:nobody@example.com"])  # erased before: never a contact here
        ws.conn.execute("DELETE FROM sync_state")  # the next sync reads everything again
    with Loopback(fake) as transport:
        assert run_sync(ws, options=options(mailchimp=transport)).ok
    assert ws.conn.execute("SELECT count(*) FROM email_clicks").fetchone() == (0,)
    assert ws.conn.execute("SELECT count(*) FROM contacts WHERE email = 'ann@example.com'").fetchone() == (0,)


def test_a_sync_that_brings_clicks_says_touches_changed(ws, options):
    fake = setup(ws, options, [])
    fake.catch_up()
    fake.click("c1", "ann@example.com", mc_time(fake.tick()))  # a click made since the last sync
    with Loopback(fake) as transport:
        report = run_sync(ws, options=options(mailchimp=transport))
    assert report.sources[0].changed == {"email_clicks": 1}
    changes = report.changes
    assert changes.events and changes.reports and not changes.orders
