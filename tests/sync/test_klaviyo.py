"""Klaviyo against its fake over real HTTP on loopback: profiles, lists as tags, clicks, orders."""

from __future__ import annotations

from segdesk.core.importing.csv_import import import_orders
from segdesk.core.reports import build_report
from segdesk.sync.connectors import klaviyo
from segdesk.sync.engine import run_sync
from segdesk.sync.http import HttpOptions

from .fakes_email import PK, FakeKlaviyo
from .helpers import add, query_params
from .loopback import Loopback


def sync(ws, options, fake):
    with Loopback(fake) as transport:
        return run_sync(ws, options=options(klaviyo=transport))


def setup(ws):
    fake = FakeKlaviyo()
    ann = fake.profile("Ann@Example.com", "Ann", "Lee")
    bob = fake.profile("bob@example.com", "Bob")
    fake.put_on("L1", "Newsletter", ann, bob)
    fake.put_on("L2", "VIP", ann)
    fake.event("M_CLICK", ann, "2026-03-02T10:00:00+00:00", **{"Campaign Name": "Spring Sale",
                                                               "URL": "https://shop.example.com/sale"})
    fake.event("M_OPEN", bob, "2026-03-02T10:01:00+00:00", **{"Campaign Name": "Spring Sale"})
    fake.event("M_ORDER", ann, "2026-03-03T10:00:00+00:00", **{"$value": 49.5, "OrderId": "1001",
                                                               "ItemNames": ["Mug"]})
    fake.event("M_REFUND", ann, "2026-03-04T10:00:00+00:00", **{"$value": 49.5, "OrderId": "1001"})
    add(ws, "klaviyo", secret=PK)
    return fake, ann, bob


def tags(ws) -> list:
    return ws.conn.execute("SELECT identifier, tag FROM tags ORDER BY identifier, tag").fetchall()


def test_first_then_incremental_sync(ws, options):
    fake, ann, bob = setup(ws)
    report = sync(ws, options, fake)
    assert report.ok, report.as_dict()
    assert all(r.headers["revision"] == "2024-10-15" for r in fake.log)
    assert ws.conn.execute("SELECT first_name, last_name FROM contacts WHERE email = 'ann@example.com'"
                           ).fetchone() == ("Ann", "Lee")
    assert tags(ws) == [(f"cid:klaviyo:{ann}", "Newsletter"), (f"cid:klaviyo:{ann}", "VIP"),
                        (f"cid:klaviyo:{bob}", "Newsletter")]
    assert ws.conn.execute("SELECT email, ts, platform, campaign, url FROM email_clicks").fetchall() == [
        ("ann@example.com", "2026-03-02T10:00:00.000Z", "klaviyo", "spring sale", "https://shop.example.com/sale")]
    assert ws.conn.execute("SELECT order_id, email, amount, currency, product FROM orders").fetchall() == [
        ("1001", "ann@example.com", 4950, "usd", "Mug")]
    assert ws.conn.execute("SELECT order_id, amount FROM refunds").fetchall() == [("1001", 4950)]

    fake.catch_up()
    fake.profile("bob@example.com", "Bob", "Ray")
    fake.put_on("L2", "VIP", bob)  # Ann left VIP, Bob joined
    fake.log.clear()
    report = sync(ws, options, fake)
    assert report.ok, report.as_dict()
    assert report.sources[0].counts["profiles"] == 1  # only Bob changed
    assert "greater-than(updated," in query_params(fake, "/api/profiles/")[0]["filter"]
    assert all("greater-than(datetime," in p["filter"] for p in query_params(fake, "/api/events/"))
    assert tags(ws) == [(f"cid:klaviyo:{ann}", "Newsletter"), (f"cid:klaviyo:{bob}", "Newsletter"),
                        (f"cid:klaviyo:{bob}", "VIP")]
    assert ws.conn.execute("SELECT count(*) FROM email_clicks").fetchone()[0] == 1


def test_pages_to_the_end_by_links_next(ws, options, monkeypatch):
    monkeypatch.setattr(klaviyo, "PAGE", 2)
    fake = FakeKlaviyo()
    for i in range(5):
        fake.profile(f"p{i}@example.com")
    add(ws, "klaviyo", secret=PK)
    assert sync(ws, options, fake).ok
    assert [p.get("page[cursor]") for p in query_params(fake, "/api/profiles/")] == [None, "2", "4"]
    assert ws.conn.execute("SELECT count(*) FROM contact_keys WHERE key LIKE 'klaviyo:%'").fetchone()[0] == 5


def test_page_size_over_the_maximum_is_refused_like_klaviyo(ws, options, monkeypatch):
    monkeypatch.setattr(klaviyo, "PAGE", 101)
    fake, *_ = setup(ws)
    assert sync(ws, options, fake).sources[0].reason == (
        "Klaviyo answered 400 for /api/profiles/: Page size must be at most 100.")


class Clock:
    """A clock that moves only when slept on, so the waits computed are exact."""

    def __init__(self) -> None:
        self.now, self.sleeps = 1000.0, []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def test_429_honours_retry_after_and_remaining_zero_pauses(ws):
    fake, *_ = setup(ws)
    fake.faults = [("429", 7)]
    fake.remaining = 2  # the second answer says RateLimit-Remaining: 0, Reset: 42
    clock = Clock()
    with Loopback(fake) as transport:
        report = run_sync(ws, options=HttpOptions(transports={"klaviyo": transport}, sleep=clock.sleep,
                                                  clock=lambda: clock.now, max_attempts=4))
    assert report.ok, report.as_dict()
    assert clock.sleeps == [7.0, 42.0]  # Retry-After, then the steady window's reset; nothing else


def test_revoked_key_is_one_line(ws, options):
    fake, *_ = setup(ws)
    fake.revoked = True
    report = sync(ws, options, fake)
    assert (report.sources[0].status, report.sources[0].reason) == (
        "failed", "Klaviyo rejected the private API key: Missing or invalid private key.")


def test_an_order_another_source_has_counts_once(ws, options):
    # The shop's own order 1001 (imported) is the one Klaviyo relays as Placed Order 1001: one order.
    # Order 1002 reached SegDesk only through Klaviyo: it counts. Revenue 49.50 + 20.00 = 69.50.
    fake, ann, bob = setup(ws)
    fake.events = [e for e in fake.events if e["metric"] != "M_REFUND"]
    fake.event("M_ORDER", bob, "2026-03-05T10:00:00+00:00", **{"$value": "20.00", "OrderId": "1002"})
    import_orders(ws, "order_id,email,amount,currency,created_at\n1001,ann@example.com,49.50,usd,"
                      "2026-03-03T10:00:05Z\n")
    assert sync(ws, options, fake).ok
    summary = build_report(ws.conn, "summary").to_json()
    assert (summary["orders"], summary["revenue"]) == (2, {"usd": 6950})
