"""The stitch writes only what changed; what it leaves must equal a stitch from nothing.

Each step changes the evidence of a generated workspace (new identifies, a shared
device, a waiting CRM id, a merge and its undo, an erase), stitches, and compares
the derived tables with those of a copy whose derived tables were emptied first
(the bench's full re-stitch). It also checks what the stitch reports and marks:
the changed devices are exactly those whose spans differ, and every contact
those spans had or have is listed for the reports' refresh.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from segdesk.core import demo
from segdesk.core.identity import people
from segdesk.core.importing.csv_import import import_contacts
from segdesk.core.importing.events import import_events
from segdesk.core.identity import component
from segdesk.core.identity import full as full_module
from segdesk.core.identity.stitch import stitch
from segdesk.core.store import open_workspace

from .stitch_check import derived, from_nothing
from .wire import at, identify


def _spans_by_device(conn) -> dict[str, set[tuple]]:
    out: dict[str, set[tuple]] = {}
    for row in conn.execute("SELECT * FROM device_segments"):
        out.setdefault(row[0], set()).add(row)
    return out


@pytest.fixture
def ws(tmp_path):
    with open_workspace(tmp_path / "ws") as w:
        demo.generate(w, contacts=120, seed=5, now=datetime(2026, 3, 1, tzinfo=UTC))
        yield w


def _emails(ws, n):
    return [r[0] for r in ws.conn.execute("SELECT email FROM contacts ORDER BY id LIMIT ?", (n,))]


def _devices(ws, n):
    return [r[0] for r in ws.conn.execute("SELECT anonymous_id FROM devices ORDER BY anonymous_id LIMIT ?", (n,))]


def _new_links(ws):
    a, b, c = _emails(ws, 3)
    d1, d2, d3 = _devices(ws, 3)
    import_events(ws, [identify(d1, at(-30), email=a), identify(d1, at(-20), email=b),
                       identify(d1, at(-20), email=c, mid="zz-same-instant"),
                       identify(d2, at(-10), contact_id="999", method="link"),
                       identify(d3, at(-5), email="someone.new@example.com")], origin="t")


def _waiting_id_arrives(ws):
    import_contacts(ws, f"email,contact_id\n{_emails(ws, 5)[4]},ac:999\n", origin="crm2")


def _merge(ws):
    a, b = _emails(ws, 12)[10:12]
    with ws.conn:
        ws.conn.execute("INSERT INTO manual_merges(email_a, email_b, merged_at) VALUES (?, ?, ?)", (a, b, at(0)))


def _unmerge(ws):
    with ws.conn:
        ws.conn.execute("DELETE FROM manual_merges")


def _erase(ws):
    people.erase(ws, _emails(ws, 20)[19])


def _nothing(ws):
    with ws.conn:
        ws.conn.execute("UPDATE identity_state SET dirty = 1")


STEPS = [_new_links, _waiting_id_arrives, _merge, _unmerge, _erase, _nothing]


def test_each_stitch_equals_a_stitchfrom_nothing(ws, tmp_path, monkeypatch):
    monkeypatch.setattr(people, "stitch", lambda ws: None)  # erase's own stitch: the test stitches
    for i, step in enumerate(STEPS):
        step(ws)
        before = _spans_by_device(ws.conn)
        with ws.conn:
            ws.conn.execute("DELETE FROM first_touch_dirty")
        result = stitch(ws)
        after = _spans_by_device(ws.conn)
        assert derived(ws.conn) == from_nothing(ws, tmp_path / f"copy{i}"), step.__name__
        # Only the erase (events deleted) needs the full stitch; the rest re-resolve their components.
        assert result.full == (step is _erase), step.__name__

        differ = {aid for aid in before.keys() | after.keys() if before.get(aid) != after.get(aid)}
        assert result.changed_devices == differ, step.__name__
        spans = [s for aid in differ for s in before.get(aid, set()) | after.get(aid, set())]
        marked = {r[0] for r in ws.conn.execute("SELECT contact_id FROM first_touch_dirty")}
        assert marked == {s[3] for s in spans}, step.__name__
        assert marked <= result.changed_contacts, step.__name__
        if step is _nothing:
            assert not result.changed_contacts and not result.changed_devices


@pytest.mark.parametrize("full", [False, True], ids=["component", "full"])
def test_a_failed_stitch_leaves_the_workspace_as_it_was(ws, monkeypatch, full):
    _merge(ws)  # no new contact: the stitch's first write is a scratch table
    before = derived(ws.conn)

    def fail(conn, contacts=None):
        raise RuntimeError("disk full")

    monkeypatch.setattr(full_module, "write_first_seen", fail)
    monkeypatch.setattr(component, "write_first_seen", fail)
    with pytest.raises(RuntimeError):
        stitch(ws, full=full)
    assert derived(ws.conn) == before
    assert ws.conn.execute("SELECT dirty FROM identity_state").fetchone()[0] == 1
    assert ws.conn.execute("SELECT name FROM sqlite_temp_master").fetchall() == []
