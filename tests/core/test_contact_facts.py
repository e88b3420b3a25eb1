"""The caches of migration 0023 (per-contact facts, the data's clock, visitors per channel) never change a figure.

Every check builds the LTV, ROAS and campaign reports twice on the same data: as they are (caches
in use when fresh) and with caches marked stale, which sends readers down the live path. That is
done after each kind of write that can move a cached row (a new contact, a merge, a moved
first_seen, new visits and identifies, a new order, an erase), before the refresh (the caches must
step aside by themselves) and after it (rebuilt, and used again). Each write is also checked to
have moved the figure it should, so the comparisons cannot pass on unchanged data.
"""

from __future__ import annotations

import json

import pytest

from segdesk.core.identity import people
from segdesk.core.importing.csv_import import import_contacts, import_orders
from segdesk.core.importing.events import import_events
from segdesk.core.operations import erase
from segdesk.core.refresh import refresh_after_import, refresh_reports
from segdesk.core.reports import LTV_BY, ROAS_BY, build_report
from segdesk.core.reports.campaigns import VISITORS_FRESH, _visitors
from segdesk.core.reports.cohort import CACHED_AS_OF, LIVE_AS_OF, as_of
from segdesk.core.reports.contact_facts import facts_source
from segdesk.core.reports.model import parse_range

CASES = ([("ltv", {"by": by}) for by in LTV_BY]
         + [("ltv", {"by": "campaign", "since": "2025-12", "until": "2026-02-10", "timezone": "America/New_York"}),
            ("ltv", {"by": "source", "filters": {"tag": "webinar"}}),
            ("ltv", {"by": "source", "filters": {"source": "google"}})]
         + [("roas", {"by": by}) for by in ROAS_BY]
         + [("campaigns", {}), ("campaigns", {"since": "2026-01-01", "until": "2026-02-01"})])
STALE = {"facts": "UPDATE report_facts_state SET dirty = 1", "clock": "UPDATE report_clock SET dirty = 1",
         "visitors": "UPDATE report_visitors_state SET dirty = 1", "value": "UPDATE report_value_state SET dirty = 1",
         "tags": "UPDATE report_tags_state SET dirty = 1"}


@pytest.fixture
def ws(small_demo):  # tests/core/conftest.py
    return small_demo


def _reports(ws) -> str:
    return json.dumps([build_report(ws.conn, name, **params).to_json() for name, params in CASES],
                      sort_keys=True, default=str)


def _live(ws, stale=tuple(STALE)) -> str:
    """The reports with these caches marked stale (their readers compute live), the marks then undone."""
    ws.conn.execute("SAVEPOINT live")
    for name in stale:
        ws.conn.execute(STALE[name])
    try:
        if "facts" in stale:
            assert facts_source(ws.conn) != "report_contact_facts"
        if "clock" in stale:
            assert ws.conn.execute(CACHED_AS_OF).fetchone() is None
        return _reports(ws)
    finally:
        ws.conn.execute("ROLLBACK TO live")
        ws.conn.execute("RELEASE live")


def _fresh(ws) -> bool:
    return (facts_source(ws.conn) == "report_contact_facts" and ws.conn.execute(CACHED_AS_OF).fetchone() is not None
            and ws.conn.execute(VISITORS_FRESH).fetchone()[0] == 1)


def _check(ws) -> str:
    """Cached figures equal live ones now; returns them."""
    got = _reports(ws)
    assert got == _live(ws)
    return got


def _ltv(ws, by="source") -> dict:
    return {r["key"]: r for r in build_report(ws.conn, "ltv", by=by).rows}


@pytest.mark.parametrize("stale", [("facts",), ("value",), ("clock", "visitors"), tuple(STALE)])
def test_cached_figures_equal_live_ones(ws, stale):
    assert _fresh(ws)
    cached = _reports(ws)
    assert cached == _live(ws, stale)
    assert ws.conn.execute(CACHED_AS_OF).fetchone()[0] == ws.conn.execute(LIVE_AS_OF).fetchone()[0]
    everything = parse_range(ws.conn, None, None, None)
    assert len(_visitors(ws.conn, everything)) > 3
    for name, params in CASES:  # no case is vacuous
        assert build_report(ws.conn, name, **params).rows, (name, params)


def test_a_new_contact_and_a_moved_first_seen(ws):
    before = _ltv(ws, "cohort_month")
    import_contacts(ws, "email,created_at\nnew-facts@example.com,2019-06-05T09:00:00Z\n")
    assert facts_source(ws.conn) != "report_contact_facts"  # listed: readers go live
    assert _check(ws) == _reports(ws)
    refresh_after_import(ws)  # the stitch makes it canonical and dates it
    assert _fresh(ws)
    _check(ws)
    assert _ltv(ws, "cohort_month")["2019-06"]["contacts"] == 1 and "2019-06" not in before
    with ws.conn:
        ws.conn.execute("UPDATE contacts SET first_seen = '2018-02-01T00:00:00.000Z' "
                        "WHERE email = 'new-facts@example.com'")
    assert facts_source(ws.conn) != "report_contact_facts"
    moved = _check(ws)
    rows = _ltv(ws, "cohort_month")
    assert rows["2018-02"]["contacts"] == 1 and "2019-06" not in rows
    refresh_reports(ws)
    assert _fresh(ws) and _check(ws) == moved


def test_a_merge_removes_a_contact_from_the_cohort(ws):
    a, b = [r[0] for r in ws.conn.execute(
        "SELECT c.email FROM contacts c JOIN report_first_touch f ON f.contact_id = c.id "
        "WHERE c.canonical_id = c.id AND c.email IS NOT NULL ORDER BY c.id LIMIT 2")]
    contacts = sum(r["contacts"] for r in _ltv(ws).values())
    people.merge(ws, a, b)  # the stitch alone: touches and caches not yet refreshed
    assert facts_source(ws.conn) != "report_contact_facts"
    merged = _check(ws)
    assert sum(r["contacts"] for r in _ltv(ws).values()) == contacts - 1
    refresh_reports(ws)
    assert _fresh(ws) and _check(ws) == merged


def test_new_visits_orders_and_an_erase(ws):
    newest = as_of(ws.conn)
    visitors = _visitors(ws.conn, parse_range(ws.conn, None, None, None))
    events = [{"type": "page", "anonymousId": "facts-new-device", "messageId": "facts-1",
               "timestamp": "2026-03-20T10:00:00Z",
               "context": {"page": {"url": "https://shop.example.com/?utm_source=podcast&utm_medium=audio&"
                                           "utm_campaign=spring"}}},
              {"type": "identify", "anonymousId": "facts-new-device", "messageId": "facts-2",
               "timestamp": "2026-03-20T10:01:00Z", "traits": {"email": "listener@example.com"},
               "context": {"segdesk": {"method": "form"}}}]
    import_events(ws, events, origin="test")
    assert ws.conn.execute(CACHED_AS_OF).fetchone() is None  # a newer event: the clock is read live
    assert as_of(ws.conn) == "2026-03-20T10:01:00.000Z" != newest
    _check(ws)
    refresh_after_import(ws)
    assert _fresh(ws)
    visited = _check(ws)
    assert _ltv(ws)["podcast"]["contacts"] == 1
    now = _visitors(ws.conn, parse_range(ws.conn, None, None, None))
    assert now[("podcast", "audio", "spring")] == 1 and ("podcast", "audio", "spring") not in visitors

    import_orders(ws, "order_id,email,amount,currency,created_at\n"
                      "facts-o1,listener@example.com,120.00,usd,2026-04-02T08:00:00Z\n")
    assert ws.conn.execute(CACHED_AS_OF).fetchone() is None and as_of(ws.conn) == "2026-04-02T08:00:00.000Z"
    paid = _check(ws)
    assert paid != visited and _ltv(ws)["podcast"]["revenue"] == {"usd": 12000}
    refresh_after_import(ws)
    assert _fresh(ws) and _check(ws) == paid

    erase(ws, "listener@example.com")
    assert _fresh(ws)
    gone = _check(ws)
    assert "podcast" not in _ltv(ws) and as_of(ws.conn) == newest
    assert _visitors(ws.conn, parse_range(ws.conn, None, None, None)) == visitors
    assert gone != paid
    # A migration that changes session rules deletes the high-water mark: sessions are rebuilt whole.
    with ws.conn:
        ws.conn.execute("DELETE FROM settings WHERE key = 'sessions.events_upto'")
    assert ws.conn.execute(VISITORS_FRESH).fetchone()[0] == 0
    refresh_reports(ws)
    assert _fresh(ws) and _check(ws) == gone
