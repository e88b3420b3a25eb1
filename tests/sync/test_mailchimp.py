"""Mailchimp against its fake over real HTTP on loopback: members, tags, clicks as touches."""

from __future__ import annotations

import pytest

from segdesk.errors import InvalidInput
from segdesk.sync.connectors import mailchimp
from segdesk.sync.engine import run_sync

from .fakes_email import KEY, LIST, FakeMailchimp
from .helpers import add, query_params
from .loopback import Loopback

ERROR = ("Mailchimp rejected the API key: Your API key may be invalid, or you've attempted to access the wrong "
         "datacenter.")


@pytest.fixture
def fake():
    f = FakeMailchimp()
    f.member("Ann@Example.com ", "Ann", "Lee", tags=("customer", "webinar"))
    f.member("bob@example.com", "Bob", "", tags=())
    f.campaign("c1", "Spring Sale", subject="20% off")
    f.click("c1", "ann@example.com", "2026-03-02T10:00:00+00:00")
    f.open("c1", "bob@example.com", "2026-03-02T10:05:00+00:00")
    return f


def sync(ws, options, fake):
    with Loopback(fake) as transport:
        return run_sync(ws, options=options(mailchimp=transport))


def names(ws, email: str) -> tuple:
    return ws.conn.execute("SELECT first_name, last_name FROM contacts WHERE email = ?", (email,)).fetchone()


def tags(ws) -> list:
    return ws.conn.execute("SELECT identifier, tag FROM tags ORDER BY identifier, tag").fetchall()


def test_first_then_incremental_sync(ws, options, fake):
    add(ws, "mailchimp", secret=KEY, list_id=LIST)
    report = sync(ws, options, fake)
    assert report.ok, report.as_dict()
    assert names(ws, "ann@example.com") == ("Ann", "Lee")
    ann_key = f"cid:mailchimp:{fake.members[next(iter(fake.members))]['id']}"
    assert tags(ws) == [(ann_key, "customer"), (ann_key, "webinar")]
    clicks = ws.conn.execute("SELECT email, ts, platform, campaign, url FROM email_clicks").fetchall()
    assert clicks == [("ann@example.com", "2026-03-02T10:00:00.000Z", "mailchimp", "spring sale",
                       "https://shop.example.com/sale")]  # the open is not a click
    # Basic auth on the key's data center; the members sorted by change, no filter the first time.
    first = query_params(fake, "/members")[0]
    assert "since_last_changed" not in first and first["sort_field"] == "last_changed"

    fake.catch_up()
    fake.member("ann@example.com", "Ann", "Lee-Park", tags=("webinar", "vip"))  # customer removed, vip added
    fake.member("cy@example.com", "Cy", "Doe")
    fake.log.clear()
    report = sync(ws, options, fake)
    assert report.ok, report.as_dict()
    assert report.sources[0].counts["members"] == 2  # only the changed ones
    assert "since_last_changed" in query_params(fake, "/members")[0]
    assert "since" in query_params(fake, "/email-activity")[0]
    assert names(ws, "ann@example.com") == ("Ann", "Lee-Park")
    assert tags(ws) == [(ann_key, "vip"), (ann_key, "webinar")]
    assert ws.conn.execute("SELECT count(*) FROM email_clicks").fetchone()[0] == 1  # nothing repeated


def test_pages_to_the_end(ws, options, monkeypatch):
    monkeypatch.setattr(mailchimp, "PAGE", 2)
    fake = FakeMailchimp()
    for i in range(5):
        fake.member(f"p{i}@example.com", f"P{i}")
    add(ws, "mailchimp", secret=KEY, list_id=LIST)
    assert sync(ws, options, fake).ok
    assert [p["offset"] for p in query_params(fake, "/members")] == ["0", "2", "4"]
    assert ws.conn.execute("SELECT count(*) FROM contact_keys WHERE key LIKE 'mailchimp:%'").fetchone()[0] == 5


def test_count_over_the_maximum_is_refused_like_mailchimp(ws, options, monkeypatch, fake):
    monkeypatch.setattr(mailchimp, "PAGE", 1001)
    add(ws, "mailchimp", secret=KEY, list_id=LIST)
    report = sync(ws, options, fake)
    assert report.sources[0].reason.startswith("Mailchimp answered 400")


def test_429_waits_the_window_then_doubles(ws, options, sleeps, fake):
    fake.faults = [("429-json",), ("429-json",)]  # Mailchimp sends no Retry-After
    add(ws, "mailchimp", secret=KEY, list_id=LIST)
    report = sync(ws, options, fake)
    assert report.ok, report.as_dict()
    assert sleeps[:2] == [10.0, 20.0]
    assert report.sources[0].retries == 2


def test_revoked_key_is_one_line(ws, options, fake):
    add(ws, "mailchimp", secret=KEY, list_id=LIST)
    fake.revoked = True
    fake.auth_error = {"title": "API Key Invalid", "status": 401, "detail": ERROR.split(": ", 1)[1]}
    report = sync(ws, options, fake)
    assert (report.sources[0].status, report.sources[0].reason) == ("failed", ERROR)


def test_key_of_another_data_center_and_key_without_one(ws, options, fake):
    add(ws, "mailchimp", "other", secret=KEY.replace("-us6", "-us7"), list_id=LIST)
    add(ws, "mailchimp", "bare", secret=KEY.split("-")[0], list_id=LIST)
    report = sync(ws, options, fake)
    reasons = {s.name: s.reason for s in report.sources}
    assert reasons["other"] == ERROR
    assert reasons["bare"].startswith("Mailchimp: the API key does not end in its data center (e.g. …-us6)")


def test_a_source_without_its_audience_is_refused_in_one_line(ws):
    with pytest.raises(InvalidInput, match=r"^a Mailchimp source needs --list-id \(the audience id"):
        add(ws, "mailchimp", secret=KEY)
    assert ws.conn.execute("SELECT count(*) FROM sources").fetchone() == (0,)
