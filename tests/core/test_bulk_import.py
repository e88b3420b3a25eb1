"""A big file into a small workspace is a bulk load (indexes dropped, rebuilt at the end).

It must store exactly what the batch-by-batch import stores, count duplicates
and rejects the same way, keep what it read when cancelled, and leave the
workspace as it was when it fails. "bulk" reads the file in this process;
"parallel" has worker processes parse it in chunks (``parallel_import``).
"""

from __future__ import annotations

import functools
import json

import orjson
import pytest

from segdesk.core import demo
from segdesk.core.importing import event_rows, events, parallel_import
from segdesk.core.importing.event_rows import parse_lines
from segdesk.core.importing.events import import_events_file, import_parsed
from segdesk.core.progress import Cancelled, Progress
from segdesk.core.identity.stitch import stitch
from segdesk.core.store import open_workspace
from segdesk.errors import ImportFailed

from . import import_faults

# A parallel load of a big enough file packs its events with a dictionary it trains, a
# batched import stores them plain until the refresh compacts them: the same JSON either way.
EVENT_COLUMNS = ", ".join(event_rows.COLUMNS[:-1] + ["event_json(raw, message_id, anonymous_id, ts)"])


def _lines(n_contacts: int = 40) -> list[bytes]:
    _, stream = demo.scenario(contacts=n_contacts, seed=3)
    return [orjson.dumps(ev) for ev in stream]


def _write(path, lines: list[bytes]):
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def _import(ws, path, *, mode: str, monkeypatch, **kw):
    """``mode``: "batched", "bulk" (one process) or "parallel" (two worker processes)."""
    # The thresholds decide the path; the file's size decides the expected count.
    monkeypatch.setattr(events, "BULK_MIN_EVENTS", 10**12 if mode == "batched" else 1)
    monkeypatch.setattr(events, "PARALLEL_MIN_EVENTS", 1)
    monkeypatch.setattr(events, "BYTES_PER_EVENT_HIGH", 1)
    with open(path, "rb") as f:
        return import_events_file(ws, f, workers=2 if mode == "parallel" else 1, **kw)


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


@pytest.mark.parametrize("mode", ["bulk", "parallel"])
def test_bulk_load_stores_what_the_batched_import_stores(tmp_path, monkeypatch, mode):
    lines = _lines()
    # Duplicates inside the file, malformed lines and invalid events among them, in the
    # first and the last chunk, and blank lines: line numbers must survive the chunking.
    mixed = (lines[:50] + [b"{not json", lines[3], b'{"type": "page"}', b""] + lines[50:] + lines[10:20]
             + [b"  ", b'{"type": "identify", "anonymousId": "a"}', b"[1]"])
    path = _write(tmp_path / "events.jsonl", mixed)
    results, snaps = {}, {}
    for how in ("batched", mode):
        used = _bulk_used(monkeypatch)
        with open_workspace(tmp_path / f"ws-{how}") as ws:
            results[how] = _import(ws, path, mode=how, monkeypatch=monkeypatch, batch_size=100).as_dict()
            stitch(ws)
            snaps[how] = _snapshot(ws)
            assert ws.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert bool(used) == (how != "batched")
    assert results[mode] == results["batched"]
    assert results[mode]["duplicates"] == 11 and results[mode]["rejected"] == 4
    assert [e["line"] for e in results[mode]["errors"]] == [51, 53, len(mixed) - 1, len(mixed)]
    assert results[mode]["imported"] == len(lines)
    for key in snaps["batched"]:
        assert snaps[mode][key] == snaps["batched"][key], key


@pytest.mark.parametrize("mode", ["bulk", "parallel"])
def test_bulk_load_over_existing_events_drops_only_the_repeats(tmp_path, monkeypatch, mode):
    lines = _lines()
    half = len(lines) // 2
    with open_workspace(tmp_path / "ws") as ws:
        first = _import(ws, _write(tmp_path / "a.jsonl", lines[:half]), mode="batched", monkeypatch=monkeypatch)
        used = _bulk_used(monkeypatch)
        second = _import(ws, _write(tmp_path / "b.jsonl", lines), mode=mode, monkeypatch=monkeypatch)
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
        # The unique index is back: the same file again is all duplicates, through any path.
        for how in ("batched", mode):
            again = _import(ws, tmp_path / "b.jsonl", mode=how, monkeypatch=monkeypatch)
            assert (again.imported, again.duplicates) == (0, len(lines))
        assert ws.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_cancelled_bulk_load_keeps_what_it_read(tmp_path, monkeypatch):
    lines = _lines()
    path = _write(tmp_path / "events.jsonl", lines)
    progress = Progress()

    def on_update(p):
        if p.counts.get("imported", 0) >= 200:
            p.cancel()

    progress.on_update = on_update
    with open_workspace(tmp_path / "ws") as ws:
        with pytest.raises(Cancelled):
            _import(ws, path, mode="bulk", monkeypatch=monkeypatch, batch_size=100, progress=progress)
        assert ws.conn.execute("SELECT count(*) FROM events").fetchone()[0] == 200
        assert {n for (n,) in ws.conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events'")} >= {
            "events_message_id", "events_device_ts", "events_identity", "events_user"}
        rest = _import(ws, path, mode="batched", monkeypatch=monkeypatch)
        assert (rest.imported, rest.duplicates) == (len(lines) - 200, 200)


def test_cancelled_parallel_load_keeps_the_chunks_it_appended(tmp_path, monkeypatch):
    lines = _lines()
    path = _write(tmp_path / "events.jsonl", lines)
    progress = Progress()
    kept = []

    def on_update(p):
        if p.status == "Importing events" and not kept:
            kept.append(p.counts["imported"])
            p.cancel()

    progress.on_update = on_update
    with open_workspace(tmp_path / "ws") as ws:
        with pytest.raises(Cancelled):
            _import(ws, path, mode="parallel", monkeypatch=monkeypatch, progress=progress)
        assert 0 < kept[0] < len(lines)
        assert ws.conn.execute("SELECT count(*) FROM events").fetchone()[0] == kept[0]
        # A killed import leaves its shards behind; the next one clears them.
        (tmp_path / "ws" / ".import-killed").mkdir()
        (tmp_path / "ws" / ".import-killed" / "chunk0.sqlite").write_bytes(b"x" * 1000)
        rest = _import(ws, path, mode="parallel", monkeypatch=monkeypatch)
        assert (rest.imported, rest.duplicates) == (len(lines) - kept[0], kept[0])
        assert not list((tmp_path / "ws").glob(".import-*")), "shards are deleted"


def _workers_fail_with(monkeypatch, fault) -> None:
    """The import's worker processes run ``fault(chunk)`` before parsing each chunk."""
    monkeypatch.setattr(parallel_import, "FileFill", functools.partial(parallel_import.FileFill, before_chunk=fault))


@pytest.mark.parametrize("fault, message", [
    (import_faults.crash_on_chunk_2, "a parsing process stopped unexpectedly (exit code 3)"),
    (import_faults.disk_full_on_chunk_5, "No space left on device"),
])
def test_failed_parallel_load_leaves_the_workspace_as_it_was(tmp_path, monkeypatch, fault, message):
    lines = _lines()
    real_fill = parallel_import.FileFill
    with open_workspace(tmp_path / "ws") as ws:
        _import(ws, _write(tmp_path / "a.jsonl", lines[:100]), mode="batched", monkeypatch=monkeypatch)
        before = _snapshot(ws)
        _workers_fail_with(monkeypatch, fault)
        with pytest.raises(ImportFailed, match="the import stopped and stored nothing") as err:
            _import(ws, _write(tmp_path / "b.jsonl", lines), mode="parallel", monkeypatch=monkeypatch)
        assert message in str(err.value) and "\n" not in str(err.value)
        assert _snapshot(ws) == before
        assert not ws.conn.in_transaction
        assert ws.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert not list((tmp_path / "ws").glob(".import-*")), "shards are deleted"
        # Nothing half-done: the same import, healthy this time, stores everything once.
        monkeypatch.setattr(parallel_import, "FileFill", real_fill)
        again = _import(ws, tmp_path / "b.jsonl", mode="parallel", monkeypatch=monkeypatch)
        assert (again.imported, again.duplicates) == (len(lines) - 100, 100)


def test_parallel_load_without_processes_reads_the_file_here(tmp_path, monkeypatch):
    """Where worker processes cannot start (no /dev/shm for their queues, a process limit)."""
    lines = _lines()
    path = _write(tmp_path / "events.jsonl", lines[:30] + [b"{oops"] + lines[30:])

    def no_processes(*args, **kw):
        raise OSError(38, "Function not implemented")

    monkeypatch.setattr(parallel_import, "_Workers", no_processes)
    used = _bulk_used(monkeypatch)
    with open_workspace(tmp_path / "ws") as ws:
        result = _import(ws, path, mode="parallel", monkeypatch=monkeypatch)
        assert used
        assert (result.imported, result.rejected, result.errors) == (len(lines), 1, [(31, result.errors[0][1])])
        assert ws.conn.execute("SELECT count(*) FROM events").fetchone()[0] == len(lines)
        assert not list((tmp_path / "ws").glob(".import-*"))


def test_bulk_load_with_a_reader_open_stays_in_wal(tmp_path, monkeypatch):
    """The app's reader threads keep their connections: the load must not need them closed."""
    lines = _lines()
    with open_workspace(tmp_path / "ws") as ws:
        reader = ws.reader()
        reader.execute("SELECT count(*) FROM events").fetchone()
        modes = []
        ws.conn.set_trace_callback(lambda sql: modes.append(sql) if "journal_mode" in sql else None)
        result = _import(ws, _write(tmp_path / "a.jsonl", lines), mode="parallel", monkeypatch=monkeypatch)
        ws.conn.set_trace_callback(None)
        assert result.imported == len(lines)
        assert modes == ["PRAGMA journal_mode=DELETE"]  # tried, refused, nothing to put back
        assert reader.execute("SELECT count(*) FROM events").fetchone()[0] == len(lines)
        reader.close()


def test_failed_bulk_load_leaves_the_workspace_as_it_was(tmp_path, monkeypatch):
    lines = _lines()
    with open_workspace(tmp_path / "ws") as ws:
        _import(ws, _write(tmp_path / "a.jsonl", lines[:100]), mode="batched", monkeypatch=monkeypatch)
        before = _snapshot(ws)

        def items():
            yield from list(parse_lines(lines[100:400]))
            raise OSError("disk went away")

        monkeypatch.setattr(events, "BULK_MIN_EVENTS", 1)
        with pytest.raises(OSError):
            import_parsed(ws, items(), origin="import", expected=300, batch_size=100)
        assert _snapshot(ws) == before
        assert not ws.conn.in_transaction
        assert ws.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


@pytest.mark.parametrize("mode", ["bulk", "parallel"])
def test_bulk_load_flags_identity_work_only_when_it_brings_some(tmp_path, monkeypatch, mode):
    lines = _lines()
    pages = [ln for ln in lines if orjson.loads(ln)["type"] == "page"]
    with open_workspace(tmp_path / "ws") as ws:
        stitch(ws)
        dirty = "SELECT dirty FROM identity_state"
        assert ws.conn.execute(dirty).fetchone()[0] == 0
        _import(ws, _write(tmp_path / "pages.jsonl", pages), mode=mode, monkeypatch=monkeypatch)
        assert ws.conn.execute(dirty).fetchone()[0] == 0
        _import(ws, _write(tmp_path / "all.jsonl", lines), mode=mode, monkeypatch=monkeypatch)
        assert ws.conn.execute(dirty).fetchone()[0] == 1


@pytest.mark.parametrize("mode", ["bulk", "parallel"])
def test_ctrl_c_in_the_command_line_keeps_what_was_read(tmp_path, monkeypatch, capsys, mode):
    """The first Ctrl-C cancels: the bulk load keeps what it read instead of rolling it all back."""
    import functools
    import os
    import signal

    from segdesk.cli import main
    from segdesk.commands import imports

    lines = _lines()
    path = _write(tmp_path / "events.jsonl", lines)
    monkeypatch.setattr(events, "BULK_MIN_EVENTS", 1)
    monkeypatch.setattr(events, "PARALLEL_MIN_EVENTS", 1)
    monkeypatch.setattr(events, "BYTES_PER_EVENT_HIGH", 1)
    monkeypatch.setattr(parallel_import, "worker_count", lambda: 2 if mode == "parallel" else 1)
    monkeypatch.setattr(imports, "import_events_file", functools.partial(import_events_file, batch_size=100))

    class PressCtrlC:
        def __init__(self, label):
            self.pressed = False

        def __call__(self, progress):
            if progress.status == "Importing events" and not self.pressed:
                self.pressed = True
                os.kill(os.getpid(), signal.SIGINT)

        def done(self):
            pass

    monkeypatch.setattr(imports, "TerminalProgress", PressCtrlC)
    workspace = ["--workspace", str(tmp_path / "ws")]
    assert main([*workspace, "import", "events", str(path), "--json"]) == 1
    err = capsys.readouterr().err
    assert "stopping and keeping what was read" in err and "cancelled; what was stored so far is kept" in err
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    with open_workspace(tmp_path / "ws") as ws:
        kept = ws.conn.execute("SELECT count(*) FROM events").fetchone()[0]
    assert 0 < kept < len(lines)
    monkeypatch.setattr(imports, "TerminalProgress", lambda label: type("Quiet", (), {
        "__call__": lambda self, p: None, "done": lambda self: None})())
    assert main([*workspace, "import", "events", str(path), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["imported"], summary["duplicates"]) == (len(lines) - kept, kept)
