"""Drip against its fake over real HTTP on loopback: subscribers, tags added and removed, paging, limits."""

from __future__ import annotations

import pytest

from segdesk.errors import InvalidInput
from segdesk.sync.connectors import drip

from .fakes_drip import ACCOUNT, TOKEN, FakeDrip
from .helpers import add, query_params, sync_over_loopback, tag_rows as tags


def sync(ws, options, fake):
    return sync_over_loopback(ws, fake, options, "drip")


@pytest.fixture
def fake():
    f = FakeDrip()
    f.subscriber("Ann@Example.com ", "Ann", "Lee", tags=("Customer", "webinar"))
    f.subscriber("bob@example.com", "Bob", status="unsubscribed")
    return f


def test_first_then_second_sync_sees_tags_added_and_removed(ws, options, fake):
    add(ws, "drip", secret=TOKEN, account_id=ACCOUNT)
    report = sync(ws, options, fake)
    assert report.ok, report.as_dict()
    ann = f"cid:drip:{fake.subscribers['ann@example.com']['id']}"
    assert ws.conn.execute("SELECT email, first_name, last_name FROM contacts ORDER BY email").fetchall() == [
        ("ann@example.com", "Ann", "Lee"), ("bob@example.com", "Bob", None)]  # unsubscribed ones too
    assert tags(ws) == [(ann, "Customer"), (ann, "webinar")]
    assert query_params(fake, "/subscribers")[0]["status"] == "all"
    assert all(r.headers["user-agent"].startswith("SegDesk") for r in fake.log)

    fake.subscriber("ann@example.com", "Ann", "Lee", tags=("webinar", "VIP"))  # Customer removed, VIP added
    fake.subscriber("cy@example.com", "Cy")
    report = sync(ws, options, fake)
    assert report.ok, report.as_dict()
    assert tags(ws) == [(ann, "VIP"), (ann, "webinar")]
    # Read whole again, but only what changed is written: Cy (contact and key), VIP added, Customer removed.
    assert report.sources[0].changed == {"contacts": 1, "contact_ids": 1, "tags": 2}


def test_pages_to_the_end_by_total_pages(ws, options, monkeypatch):
    monkeypatch.setattr(drip, "PAGE", 2)
    fake = FakeDrip()
    for i in range(5):
        fake.subscriber(f"p{i}@example.com", f"P{i}")
    add(ws, "drip", secret=TOKEN, account_id=ACCOUNT)
    assert sync(ws, options, fake).ok
    assert [(p["page"], p["per_page"]) for p in query_params(fake, "/subscribers")] == [("1", "2"), ("2", "2"),
                                                                                        ("3", "2")]
    assert ws.conn.execute("SELECT count(*) FROM contact_keys WHERE key LIKE 'drip:%'").fetchone() == (5,)


def test_per_page_over_the_maximum_is_refused_like_drip(ws, options, monkeypatch, fake):
    monkeypatch.setattr(drip, "PAGE", 1001)
    add(ws, "drip", secret=TOKEN, account_id=ACCOUNT)
    assert sync(ws, options, fake).sources[0].reason == (
        "Drip answered 422 for /v2/9999999/subscribers: per_page must be less than or equal to 1000")


def test_429_without_retry_after_waits_out_the_hour_in_steps(ws, options, sleeps, fake):
    # Drip's hourly limiter sends no Retry-After: each wait is the hour, capped at 120 s (sync/http.py).
    fake.faults = [("429-json",), ("429-json",)]
    add(ws, "drip", secret=TOKEN, account_id=ACCOUNT)
    report = sync(ws, options, fake)
    assert report.ok, report.as_dict()
    assert sleeps[:2] == [120.0, 120.0] and report.sources[0].retries == 2


def test_remaining_zero_pauses_the_next_call(ws, options, sleeps, fake, monkeypatch):
    monkeypatch.setattr(drip, "PAGE", 1)
    fake.remaining = 1  # the first answer says X-RateLimit-Remaining: 0 (and Drip sends no reset time)
    add(ws, "drip", secret=TOKEN, account_id=ACCOUNT)
    assert sync(ws, options, fake).ok
    assert len(sleeps) == 1 and 0 < sleeps[0] <= 1.0  # one pause of (what is left of) a second


def test_revoked_token_is_one_line(ws, options, fake):
    add(ws, "drip", secret=TOKEN, account_id=ACCOUNT)
    fake.revoked = True
    report = sync(ws, options, fake)
    assert (report.sources[0].status, report.sources[0].reason) == (
        "failed", "Drip rejected the API token: You must provide a valid API token")


def test_another_account_is_one_line_and_a_source_without_one_is_refused(ws, options, fake):
    add(ws, "drip", secret=TOKEN, account_id="1234567")
    assert sync(ws, options, fake).sources[0].reason == (
        "Drip answered 404 for /v2/1234567/subscribers: The resource you requested was not found")
    with pytest.raises(InvalidInput, match=r"^a Drip source needs --account-id"):
        add(ws, "drip", "other", secret=TOKEN)
