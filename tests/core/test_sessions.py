"""Sessions and touchpoints (docs/SPEC.md §4), and their incremental upkeep."""

from __future__ import annotations

import random
import tempfile

from segdesk.core.importing.events import import_events
from segdesk.core.identity.people import erase
from segdesk.core.refresh import refresh_after_import
from segdesk.core.reports.sessions import sessionize
from segdesk.core.store import open_workspace

from .wire import at, identify, page

SHOP = "https://shop.example.com/"
FB = SHOP + "?utm_source=facebook&utm_medium=cpc"
GOOGLE = "https://www.google.com/"


def _sessions(ws, aid=None):
    sql = "SELECT anonymous_id, start_ts, pages, source, medium FROM sessions"
    rows = ws.conn.execute(sql + " ORDER BY anonymous_id, start_ts, first_event_id").fetchall()
    return [r[1:] for r in rows if aid is None or r[0] == aid] if aid else rows


def _ws(tmp_path, events):
    ws = open_workspace(tmp_path / "ws")
    import_events(ws, events, origin="test")
    refresh_after_import(ws)
    return ws


def test_gap_under_30_minutes_continues_and_30_starts_a_new_session(tmp_path):
    ws = _ws(tmp_path, [page("d", at(0)), page("d", at(0, minutes=29.9)), page("d", at(0, minutes=59))])
    assert [s[1] for s in _sessions(ws, "d")] == [3]
    ws2 = _ws(tmp_path / "b", [page("d", at(0)), page("d", at(0, minutes=30))])
    assert [s[1] for s in _sessions(ws2, "d")] == [1, 1]


def test_a_different_non_direct_channel_starts_a_session_and_direct_does_not(tmp_path):
    ws = _ws(tmp_path, [page("d", at(0), FB), page("d", at(0, minutes=1)),  # internal page: direct, same session
                        page("d", at(0, minutes=2), SHOP, GOOGLE),          # google: new session
                        page("d", at(0, minutes=3), SHOP, GOOGLE)])         # same channel: continues
    assert _sessions(ws, "d") == [(at(0), 2, "facebook", "cpc"), (at(0, minutes=2), 2, "google.com", "organic")]


def test_session_channel_is_its_first_page_view(tmp_path):
    ws = _ws(tmp_path, [page("d", at(0)), page("d", at(0, minutes=5), FB)])
    assert _sessions(ws, "d") == [(at(0), 1, "(direct)", "(none)"), (at(0, minutes=5), 1, "facebook", "cpc")]


def test_email_link_landing_page_gets_medium_email_unless_utm(tmp_path):
    ws = _ws(tmp_path, [identify("d", at(0), email="a@x.com", method="link"), page("d", at(0, minutes=0.05)),
                        identify("e", at(0), email="b@x.com", method="link"),
                        page("e", at(0, minutes=0.05), FB)])
    assert _sessions(ws, "d") == [(at(0, minutes=0.05), 1, "email", "email")]
    assert _sessions(ws, "e") == [(at(0, minutes=0.05), 1, "facebook", "cpc")]


def test_first_touch_is_the_earliest_session_on_any_device_with_anonymous_history(tmp_path):
    ws = _ws(tmp_path, [page("phone", at(-5), SHOP, GOOGLE), page("laptop", at(0), FB),
                        identify("laptop", at(0, minutes=1), email="a@x.com"),
                        identify("phone", at(2), email="a@x.com", method="link"), page("phone", at(2))])
    row = ws.conn.execute("SELECT t.source, t.start_ts FROM contact_touches t JOIN contacts c ON c.id = t.contact_id "
                          "WHERE c.email = 'a@x.com' ORDER BY t.start_ts LIMIT 1").fetchone()
    assert row == ("google.com", at(-5))


def test_sessionize_is_pure():
    pages = [(1, at(0), "(direct)", "(none)", None, None, None), (2, at(1), "(direct)", "(none)", None, None, None)]
    assert [s[3] for s in sessionize(pages)] == [1, 1]


def _random_events(rng, n, day0=0):
    events = []
    for _ in range(n):
        dev = f"d{rng.randrange(6)}"
        url, ref = rng.choice([(SHOP, ""), (FB, ""), (SHOP, GOOGLE)])
        events.append(page(dev, at(day0 + rng.uniform(0, 3)), url, ref))
        if rng.random() < 0.1:
            events.append(identify(dev, at(day0 + rng.uniform(0, 3)), email=f"{dev}@x.com",
                                   method=rng.choice(["form", "link"])))
    return events


def test_incremental_update_equals_a_full_rebuild():
    rng = random.Random(5)
    for _ in range(8):
        first, later = _random_events(rng, 60), _random_events(rng, 30, day0=rng.uniform(0, 3))
        inc = open_workspace(tempfile.mkdtemp())
        import_events(inc, first, origin="t")
        refresh_after_import(inc)
        import_events(inc, later, origin="t")
        changed = refresh_after_import(inc)
        full = open_workspace(tempfile.mkdtemp())
        import_events(full, first + later, origin="t")
        refresh_after_import(full)
        cols = "anonymous_id, start_ts, last_ts, pages, source, medium, campaign"
        q = f"SELECT {cols} FROM sessions ORDER BY anonymous_id, start_ts, first_event_id"
        assert inc.conn.execute(q).fetchall() == full.conn.execute(q).fetchall()
        q = "SELECT c.email, t.start_ts, t.source FROM contact_touches t JOIN contacts c ON c.id = t.contact_id ORDER BY 1, 2"
        assert inc.conn.execute(q).fetchall() == full.conn.execute(q).fetchall()
        assert not changed.sessions.full_rebuild and changed.sessions.devices
        inc.close()
        full.close()


def test_erase_removes_the_sessions_of_erased_events(tmp_path):
    ws = _ws(tmp_path, [page("d", at(0), FB), identify("d", at(0, minutes=1), email="a@x.com")])
    erase(ws, "a@x.com")
    refresh_after_import(ws)
    assert _sessions(ws) == []
