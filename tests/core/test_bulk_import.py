"""A big file into a small workspace is a bulk load (indexes dropped, rebuilt at the end).

It must store exactly what the batch-by-batch import stores, count duplicates
and rejects the same way, keep what it read when cancelled, and leave the
workspace as it was when it fails.
"""

from __future__ import annotations

import orjson
import pytest

from segdesk.core import demo, events
from segdesk.core.events import import_events_file, import_parsed, parse_lines
from segdesk.core.progress import Cancelled, Progress
from segdesk.core.stitch import stitch
from segdesk.core.store import open_workspace

EVENT_COLUMNS = ", ".join(events.COLUMNS)


def _lines(n_contacts: int = 40) -> list[bytes]:
    _, stream = demo.scenario(contacts=n_contacts, seed=3)
    return [orjson.dumps(ev) for ev in stream]


def _write(path, lines: list[bytes]):
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def _import(ws, path, *, bulk: bool, monkeypatch, **kw):
    # The threshold decides the path; the file's size decides the expected count.
    monkeypatch.setattr(events, "BULK_MIN_EVENTS", 1 if bulk else 10**12)
    monkeypatch.setattr(events, "BYTES_PER_EVENT_HIGH", 1)
    with open(path, "rb") as f:
        return import_events_file(ws, f, **kw)


def _snapshot(ws) -> dict:
    conn = ws.conn
    return {
        "events": sorted(conn.execute(f"SELECT {EVENT_COLUMNS} FROM events")),
        "devices": sorted(conn.execute("SELECT * FROM devices")),
        "segments": sorted(conn.execute(
            "SELECT s.anonymous_id, s.start_ts, s.end_ts, c.email, s.linked_by FROM device_segments s "
            "JOIN contacts c ON c.id = s.contact_id")),
        "indexes": sorted(conn.execute("SELECT name, sql FROM sqlite_master WHERE tbl_name = 'events'")),
    }


def _bulk_used(monkeypatch) -> list[bool]:
    used: list[bool] = []
    real = events._bulk_load

    def spy(*args):
        used.append(True)
        return real(*args)

    monkeypatch.setattr(events, "_bulk_load", spy)
    return used


def test_bulk_load_stores_what_the_batched_import_stores(tmp_path, monkeypatch):
    lines = _lines()
    # Duplicates inside the file, a malformed line and an invalid event among them.
    mixed = lines[:50] + [b"{not json", lines[3], b'{"type": "page"}'] + lines[50:] + lines[10:20]
    path = _write(tmp_path / "events.jsonl", mixed)
    results, snaps = {}, {}
    for bulk in (False, True):
        used = _bulk_used(monkeypatch)
        with open_workspace(tmp_path / f"ws-{bulk}") as ws:
            results[bulk] = _import(ws, path, bulk=bulk, monkeypatch=monkeypatch, batch_size=100).as_dict()
            stitch(ws)
            snaps[bulk] = _snapshot(ws)
        assert bool(used) == bulk
    assert results[True] == results[False]
    assert results[True]["duplicates"] == 11 and results[True]["rejected"] == 2
    assert results[True]["imported"] == len(lines)
    for key in snaps[False]:
        assert snaps[True][key] == snaps[False][key], key


def test_bulk_load_over_existing_events_drops_only_the_repeats(tmp_path, monkeypatch):
    lines = _lines()
    half = len(lines) // 2
    with open_workspace(tmp_path / "ws") as ws:
        first = _import(ws, _write(tmp_path / "a.jsonl", lines[:half]), bulk=False, monkeypatch=monkeypatch)
        used = _bulk_used(monkeypatch)
        second = _import(ws, _write(tmp_path / "b.jsonl", lines), bulk=True, monkeypatch=monkeypatch)
        assert used
        assert (first.imported, second.imported, second.duplicates) == (half, len(lines) - half, half)
        assert ws.conn.execute("SELECT count(*), count(DISTINCT message_id) FROM events").fetchone() == \
            (len(lines), len(lines))
        # Device figures count each stored event once.
        assert ws.conn.execute("SELECT sum(events) FROM devices").fetchone()[0] == len(lines)
        bad = ws.conn.execute(
            "SELECT count(*) FROM devices d WHERE events != (SELECT count(*) FROM events e "
            "WHERE e.anonymous_id = d.anonymous_id) OR first_seen != (SELECT min(ts) FROM events e "
            "WHERE e.anonymous_id = d.anonymous_id)").fetchone()[0]
        assert bad == 0
        # The unique index is back: the same file again is all duplicates, through either path.
        again = _import(ws, tmp_path / "b.jsonl", bulk=False, monkeypatch=monkeypatch)
        assert (again.imported, again.duplicates) == (0, len(lines))


def test_cancelled_bulk_load_keeps_what_it_read(tmp_path, monkeypatch):
    lines = _lines()
    path = _write(tmp_path / "events.jsonl", lines)
    progress = Progress()
    seen = []

    def on_update(p):
        seen.append(p.counts.get("imported", 0))
        if p.counts.get("imported", 0) >= 200:
            p.cancel()

    progress.on_update = on_update
    with open_workspace(tmp_path / "ws") as ws:
        with pytest.raises(Cancelled):
            _import(ws, path, bulk=True, monkeypatch=monkeypatch, batch_size=100, progress=progress)
        assert ws.conn.execute("SELECT count(*) FROM events").fetchone()[0] == 200
        assert {n for (n,) in ws.conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events'")} >= {
            "events_message_id", "events_device_ts", "events_identity", "events_user"}
        rest = _import(ws, path, bulk=False, monkeypatch=monkeypatch)
        assert (rest.imported, rest.duplicates) == (len(lines) - 200, 200)


def test_failed_bulk_load_leaves_the_workspace_as_it_was(tmp_path, monkeypatch):
    lines = _lines()
    with open_workspace(tmp_path / "ws") as ws:
        _import(ws, _write(tmp_path / "a.jsonl", lines[:100]), bulk=False, monkeypatch=monkeypatch)
        before = _snapshot(ws)

        def items():
            yield from list(parse_lines(lines[100:400]))
            raise OSError("disk went away")

        monkeypatch.setattr(events, "BULK_MIN_EVENTS", 1)
        with pytest.raises(OSError):
            import_parsed(ws, items(), origin="import", expected=300, batch_size=100)
        assert _snapshot(ws) == before
        assert not ws.conn.in_transaction


def test_bulk_load_flags_identity_work_only_when_it_brings_some(tmp_path, monkeypatch):
    lines = _lines()
    pages = [ln for ln in lines if orjson.loads(ln)["type"] == "page"]
    with open_workspace(tmp_path / "ws") as ws:
        stitch(ws)
        dirty = "SELECT dirty FROM identity_state"
        assert ws.conn.execute(dirty).fetchone()[0] == 0
        _import(ws, _write(tmp_path / "pages.jsonl", pages), bulk=True, monkeypatch=monkeypatch)
        assert ws.conn.execute(dirty).fetchone()[0] == 0
        _import(ws, _write(tmp_path / "all.jsonl", lines), bulk=True, monkeypatch=monkeypatch)
        assert ws.conn.execute(dirty).fetchone()[0] == 1
