"""The report caches of issue 20 (tags per contact, revenue per contact) give what the live queries give,
and never a stale answer: after any write a report is right before the refresh (live) and after it (cached).

Each check builds the report twice on the same data: once as it is (cache in use when fresh) and once
with the caches marked stale, which sends every reader down the live path ``grouped.py`` always had.
"""

from __future__ import annotations

import json

import pytest

from segdesk.core.importing.csv_import import import_contacts, import_orders
from segdesk.core.refresh import refresh_after_import
from segdesk.core.reports import build_report
from segdesk.core.reports.contact_value import refresh_contact_value, value_table
from segdesk.core.reports.model import parse_range

CASES = [("ltv", {"by": "source"}), ("ltv", {"by": "tag"}), ("ltv", {"by": "cohort_month"}),
         ("ltv", {"by": "campaign", "since": "2025-12", "until": "2026-02-10", "timezone": "America/New_York"}),
         ("ltv", {"by": "source", "filters": {"tag": "webinar"}}), ("roas", {"by": "campaign"}), ("campaigns", {})]


@pytest.fixture
def ws(small_demo):  # tests/core/conftest.py
    return small_demo


def _json(ws, name, params) -> str:
    return json.dumps(build_report(ws.conn, name, **params).to_json(), sort_keys=True, default=str)


def _live(ws, name, params) -> str:
    """The report with both caches marked stale (readers compute live), the marks then undone."""
    ws.conn.execute("SAVEPOINT live")
    ws.conn.execute("UPDATE report_value_state SET dirty = 1")
    ws.conn.execute("UPDATE report_tags_state SET dirty = 1")
    assert value_table(ws.conn, parse_range(ws.conn, None, None, None)) is None
    try:
        return _json(ws, name, params)
    finally:
        ws.conn.execute("ROLLBACK TO live")
        ws.conn.execute("RELEASE live")


def _state(ws) -> tuple:
    return ws.conn.execute("SELECT (SELECT dirty FROM report_value_state), (SELECT count(*) FROM report_value_dirty), "
                           "(SELECT dirty FROM report_tags_state)").fetchone()


@pytest.mark.parametrize("name,params", CASES)
def test_cached_reports_equal_the_live_ones(ws, name, params):
    assert _state(ws) == (0, 0, 0)
    assert value_table(ws.conn, parse_range(ws.conn, None, None, None)) == "report_contact_value"
    cached = _json(ws, name, params)
    assert cached == _live(ws, name, params)
    assert '"rows": []' not in cached


def test_a_new_order_is_counted_before_and_after_the_refresh(ws):
    email, cid = ws.conn.execute("SELECT email, id FROM contacts WHERE canonical_id = id AND email IS NOT NULL "
                                 "ORDER BY id LIMIT 1").fetchone()
    before = build_report(ws.conn, "ltv", by="source").rows
    import_orders(ws, f"order_id,email,amount,currency,created_at\ncache-1,{email},1234.00,gbp,2026-02-01T10:00:00Z\n")
    assert _state(ws)[0] == 1 and value_table(ws.conn, parse_range(ws.conn, None, None, None)) is None
    stale = build_report(ws.conn, "ltv", by="source").rows
    # Only the new currency's revenue moved: 123400 minor units of GBP, in the contact's row.
    gained = {r["key"]: r["revenue"].get("gbp", 0) for r in stale}
    had = {r["key"]: r["revenue"].get("gbp", 0) for r in before}
    assert sum(gained.values()) - sum(had.values()) == 123_400
    refresh_after_import(ws)
    assert _state(ws) == (0, 0, 0)
    assert build_report(ws.conn, "ltv", by="source").rows == stale
    assert ws.conn.execute("SELECT rev FROM report_contact_value WHERE contact_id = ? AND currency = 'gbp'",
                           (cid,)).fetchone() == (123_400,)


def test_a_new_tag_shows_before_and_after_the_refresh(ws):
    email = ws.conn.execute("SELECT email FROM contacts WHERE canonical_id = id AND email IS NOT NULL "
                            "ORDER BY id LIMIT 1").fetchone()[0]
    import_contacts(ws, f"email,tags\n{email},cache-test\n")
    assert _state(ws)[2] == 1
    rows = {r["key"]: r["contacts"] for r in build_report(ws.conn, "ltv", by="tag").rows}
    assert rows["cache-test"] == 1
    refresh_after_import(ws)
    assert _state(ws) == (0, 0, 0)
    assert {r["key"]: r["contacts"] for r in build_report(ws.conn, "ltv", by="tag").rows} == rows
    assert _json(ws, "ltv", {"by": "tag"}) == _live(ws, "ltv", {"by": "tag"})


def test_a_moved_anchor_rewrites_only_that_contact(ws):
    # A contact never seen on the site: its anchor is first_seen. Moving it changes its LTV windows.
    import_contacts(ws, "email,created_at\nshop-only@example.com,2026-01-05T09:00:00Z\n")
    import_orders(ws, "order_id,email,amount,currency,created_at\nshop-1,shop-only@example.com,80.00,usd,"
                      "2026-01-20T10:00:00Z\n")
    refresh_after_import(ws)
    cid = ws.conn.execute("SELECT c.id FROM contacts c JOIN report_orders r ON r.contact_id = c.id "
                          "LEFT JOIN report_first_touch f ON f.contact_id = c.id "
                          "WHERE c.canonical_id = c.id AND f.contact_id IS NULL LIMIT 1").fetchone()
    before = _json(ws, "ltv", {"by": "cohort_month"})
    with ws.conn:
        ws.conn.execute("UPDATE contacts SET first_seen = '2020-01-01T00:00:00.000Z' WHERE id = ?", cid)
    assert _state(ws)[:2] == (0, 1)
    assert value_table(ws.conn, parse_range(ws.conn, None, None, None)) is None
    live = _json(ws, "ltv", {"by": "cohort_month"})
    assert live != before  # a 2020 cohort appears
    with ws.conn:
        assert refresh_contact_value(ws.conn) == 1
    assert _state(ws) == (0, 0, 0)
    assert _json(ws, "ltv", {"by": "cohort_month"}) == live == _live(ws, "ltv", {"by": "cohort_month"})


IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1"


def test_device_facts_follow_new_events_and_erases(ws):
    from segdesk.core.importing.events import import_events
    from segdesk.core.reports.device_facts import LATEST, _facts, device_facts

    def live():
        return {aid: _facts(raw) for aid, raw in ws.conn.execute(LATEST.format(where=""))}

    assert ws.conn.execute("SELECT dirty, upto FROM report_devices_state").fetchone() == (
        0, ws.conn.execute("SELECT max(id) FROM events").fetchone()[0])
    cached = device_facts(ws.conn)
    assert cached == live() and len(cached) > 100
    # A desktop device's newest page view now comes from an iPhone: it becomes a phone.
    aid = next(a for a, (kind, _c) in sorted(cached.items()) if kind == "desktop")
    import_events(ws, [{"type": "page", "anonymousId": aid, "messageId": "cache-phone", "timestamp": "2026-02-27T10:00:00Z",
                        "context": {"userAgent": IPHONE, "page": {"url": "https://shop.example.com/"},
                                    "location": {"country": "DE"}}}], origin="test")
    assert device_facts(ws.conn)[aid] == ("phone", "DE")  # stale cache: parsed live
    phone = _json(ws, "ltv", {"by": "source", "filters": {"device": "phone"}})
    refresh_after_import(ws)
    assert ws.conn.execute("SELECT kind, country FROM report_device_facts WHERE anonymous_id = ?",
                           (aid,)).fetchone() == ("phone", "DE")
    assert device_facts(ws.conn) == live()
    assert _json(ws, "ltv", {"by": "source", "filters": {"device": "phone"}}) == phone
    with ws.conn:
        ws.conn.execute("DELETE FROM events WHERE message_id = 'cache-phone'")
    assert device_facts(ws.conn)[aid] == cached[aid]  # the erase made it stale: live again
    refresh_after_import(ws)
    assert device_facts(ws.conn) == live() and device_facts(ws.conn)[aid] == cached[aid]
