"""Properties of the stitch: arrival order does not matter, and re-importing changes nothing."""

from __future__ import annotations

import random
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segdesk.core.importing.events import import_events
from segdesk.core.read.journey import journey
from segdesk.core.identity.stitch import stitch
from segdesk.core.store import open_workspace

from .wire import at, identify, page

DEVICES = ["d1", "d2", "d3", "d4"]
EMAILS = ["a@example.com", "B@example.com", "c@example.com"]


@st.composite
def histories(draw):
    events = []
    for i in range(draw(st.integers(1, 25))):
        aid = draw(st.sampled_from(DEVICES))
        t = at(draw(st.integers(0, 5)), draw(st.integers(0, 23)), draw(st.integers(0, 59)))
        if draw(st.booleans()):
            events.append(page(aid, t, mid=f"p{i}"))
        else:
            method = draw(st.sampled_from(["form", "link", "manual"]))
            if draw(st.integers(0, 4)) == 0:
                events.append(identify(aid, t, contact_id="crm-1", method=method, mid=f"i{i}"))
            else:
                events.append(identify(aid, t, email=draw(st.sampled_from(EMAILS)), method=method, mid=f"i{i}"))
    return events


def _snapshot(ws) -> dict:
    emails = [r[0] for r in ws.conn.execute("SELECT email FROM contacts ORDER BY email")]
    return {e: journey(ws.conn, e) for e in emails}


def _stitched(events) -> dict:
    folder = Path(tempfile.mkdtemp())
    try:
        with open_workspace(folder) as ws:
            for chunk in (events[: len(events) // 2], events[len(events) // 2:]):
                import_events(ws, chunk, origin="t")
                stitch(ws)
            return _snapshot(ws)
    finally:
        shutil.rmtree(folder)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories(), st.randoms(use_true_random=False))
def test_import_order_does_not_change_the_stitched_result(events, rnd: random.Random):
    shuffled = list(events)
    rnd.shuffle(shuffled)
    assert _stitched(events) == _stitched(shuffled)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(histories())
def test_reimporting_the_same_events_changes_nothing(events):
    folder = Path(tempfile.mkdtemp())
    try:
        with open_workspace(folder) as ws:
            import_events(ws, events, origin="t")
            stitch(ws)
            before = _snapshot(ws)
            again = import_events(ws, events, origin="t")
            result = stitch(ws)
            assert again.imported == 0 and again.duplicates == len(events)
            assert not result.changed_contacts and not result.changed_devices
            assert _snapshot(ws) == before
    finally:
        shutil.rmtree(folder)
