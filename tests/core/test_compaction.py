"""Compact event storage (issue 20 item 1): packed rows read back exactly as they came in,
journeys and reports are the same as from the former (plain) storage, and the
conversion of an existing workspace resumes where an interruption left it.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import orjson
import pytest

from segdesk.cli import main as cli_main
from segdesk.core import compaction, demo
from segdesk.core.importing import packing
from segdesk.core.importing.events import import_events
from segdesk.core.progress import Cancelled, Progress
from segdesk.core.read.journey import journey
from segdesk.core.read.timeline import device_evidence
from segdesk.core import refresh as refresh_module
from segdesk.core.refresh import refresh_after_import
from segdesk.core.reports import LTV_BY, MODELS, build_report
from segdesk.core.store import open_workspace

ROOT = Path(__file__).resolve().parents[2]
EVENTS = 6000


def _plain_workspace(path: Path, monkeypatch, events: int = EVENTS):
    """A workspace as the former storage kept it: every raw event plain JSON, message ids as text.

    No import may train a dictionary meanwhile, and demo.generate runs no
    refresh (which would compact); the assertions prove the rows are plain.
    """
    ws = open_workspace(path)
    with monkeypatch.context() as m:
        m.setattr(packing, "MIN_SAMPLES", 10**9)
        demo.generate(ws, contacts=events // 20, devices=events // 5, events=events, seed=5)
    with ws.conn:
        ws.conn.execute("UPDATE events SET message_id = message_text(message_id)")
    assert ws.conn.execute("SELECT count(*) FROM events WHERE typeof(message_id) != 'text'").fetchone()[0] == 0
    assert ws.conn.execute("SELECT count(*) FROM event_dicts").fetchone()[0] == 0
    assert ws.conn.execute("SELECT count(*) FROM events WHERE substr(raw, 1, 1) NOT IN (x'7b', '{')").fetchone()[0] == 0
    return ws


def _raws(conn) -> dict[int, bytes]:
    return dict(conn.execute(f"SELECT id, {packing.SQL} FROM events"))


def _everything(ws) -> str:
    """Every contact's journey and device evidence, and every report, as one JSON text."""
    conn = ws.reader()
    conn.row_factory = None
    emails = [e for (e,) in conn.execute("SELECT email FROM contacts WHERE canonical_id = id ORDER BY email")]
    out = {"journeys": {e: journey(conn, e) for e in emails},
           "evidence": {e: device_evidence(conn, e) for e in emails[:100]}}
    reports = {"summary": {}, "campaigns": {}}
    reports.update({f"ltv-{by}": {"by": by} for by in LTV_BY})
    reports.update({f"attribution-{m}": {"model": m} for m in MODELS})
    reports.update({f"roas-{by}": {"by": by} for by in ("source", "campaign")})
    for label, params in reports.items():
        name = label.split("-")[0]
        out[label] = build_report(conn, name, **params).to_json()
    # The device filter reads each device's latest raw event (its user agent).
    out["ltv-phone"] = build_report(conn, "ltv", by="source", filters={"device": "phone"}).to_json()
    conn.close()
    return json.dumps(out, sort_keys=True, default=str)


def test_pack_gives_back_the_exact_bytes():
    lines = [
        b'{"type":"page","anonymousId":"a1","messageId":"m-1","timestamp":"2026-01-02T03:04:05.678Z","context":{}}',
        # The cut fields elsewhere, a key spelt with an escape, a nested "messageId", odd spacing.
        b'{"context":{"messageId":"m-2"},"messageId":"m-2", "anonymousId" : "a2","type":"page",'
        b'"timestamp":"2026-01-02T03:04:05Z","x":"\\u00e9\\n"}',
        '{"type":"track","userId":"u","messageId":"m-3","timestamp":"2026-01-02","event":"Café ☕"}'.encode(),
    ]
    rows = [(line, *(orjson.loads(line).get(k) for k in ("messageId", "anonymousId", "timestamp"))) for line in lines]
    dictionary = packing.train([packing.strip(*r) + b'{"n":%d}' % i for i, r in enumerate(rows * 1000)])
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE event_dicts (version INTEGER PRIMARY KEY, dict BLOB NOT NULL, trained_at TEXT NOT NULL)")
    packer = packing.add_dictionary(conn, dictionary)
    unpack = packing.Unpacker(conn)
    for raw, mid, aid, ts in rows:
        packed = packer.pack(raw, mid, aid, ts)
        assert packed[0] == 1 and len(packed) < len(raw)
        assert unpack(packed, mid, aid, ts) == raw
        assert unpack(raw, mid, aid, ts) == raw  # plain rows pass through
    # The first row's random fields are cut, so the rest is what is compressed.
    assert packing.strip(*rows[0]) == b'{"type":"page",\x02,\x01,\x03,"context":{}}'


def test_compacted_storage_gives_the_same_journeys_and_reports(tmp_path, monkeypatch):
    ws = _plain_workspace(tmp_path / "ws", monkeypatch)
    before_raw = _raws(ws.conn)
    # Sessions and report caches as the former storage built them (this refresh must not compact).
    monkeypatch.setattr(refresh_module, "compaction_pending", lambda conn: False)
    refresh_after_import(ws)
    before = _everything(ws)
    monkeypatch.undo()
    pages = ws.conn.execute("PRAGMA page_count").fetchone()[0]
    result = compaction.compact_events(ws.conn, batch=1000)
    assert result.trained and result.packed == len(before_raw)
    # Every event was packed: the file is vacuumed, and the disk given back.
    assert result.vacuumed and ws.conn.execute("PRAGMA page_count").fetchone()[0] * 2 < pages
    assert ws.conn.execute("SELECT count(*) FROM events WHERE substr(raw, 1, 1) IN (x'7b', '{')").fetchone()[0] == 0
    stored = ws.conn.execute("SELECT sum(length(raw)) FROM events").fetchone()[0]
    assert stored * 5 < sum(map(len, before_raw.values()))  # a fifth of the plain JSON at most
    assert _raws(ws.conn) == before_raw
    # UUID message ids are now 16-byte keys (the demo's are all UUIDs), read back as the same text.
    assert ws.conn.execute("SELECT count(*) FROM events WHERE length(message_id) = 16").fetchone()[0] == len(before_raw)
    assert _everything(ws) == before
    # Events arriving now (a sync) are packed as they are stored, and read the same.
    more = [{"type": "page", "anonymousId": "new-device", "messageId": f"late-{i}", "timestamp": f"2026-03-0{i}T10:00:00Z",
             "context": {"page": {"url": f"https://shop.example.com/p{i}?utm_source=news"}}} for i in range(1, 4)]
    import_events(ws, more, origin="relay")
    rows = ws.conn.execute(f"SELECT raw, {packing.SQL} FROM events WHERE anonymous_id = 'new-device' ORDER BY id").fetchall()
    assert [r[0][0] for r in rows] == [1, 1, 1]
    assert [orjson.loads(r[1]) for r in rows] == more
    assert not compaction.pending(ws.conn)
    ws.close()


def test_a_big_file_is_packed_as_it_is_imported_and_reads_like_the_plain_one(tmp_path, monkeypatch):
    from segdesk.core.importing import events as events_module

    sc, stream = demo.scenario(contacts=200, devices=800, events=5000, seed=3)
    lines = [orjson.dumps(ev) for ev in stream]
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    monkeypatch.setattr(events_module, "PARALLEL_MIN_EVENTS", 1)
    monkeypatch.setattr(events_module, "BYTES_PER_EVENT_HIGH", 1)
    with open_workspace(tmp_path / "ws") as ws:
        with open(path, "rb") as f:
            events_module.import_events_file(ws, f, workers=2)
        assert ws.conn.execute("SELECT count(*) FROM events WHERE substr(raw, 1, 1) IN (x'7b', '{')").fetchone()[0] == 0
        assert sorted(_raws(ws.conn).values()) == sorted(lines)
        assert not compaction.pending(ws.conn)  # nothing left for a conversion to read


def test_events_stored_again_before_the_conversion_keep_their_first_copy(tmp_path, monkeypatch):
    """After the upgrade, before the conversion, a re-delivered event is not recognised (its first
    copy's id is still text): the conversion drops the later copy and its device count."""
    ws = _plain_workspace(tmp_path / "ws", monkeypatch)
    before = _raws(ws.conn)
    devices = dict(ws.conn.execute("SELECT anonymous_id, events FROM devices"))
    again = [orjson.loads(raw) for raw in list(before.values())[100:103]]
    assert import_events(ws, again, origin="relay").imported == 3  # stored twice, for now
    compaction.compact_events(ws.conn, batch=1000)
    assert _raws(ws.conn) == before  # the same ids: the first copies stayed
    assert dict(ws.conn.execute("SELECT anonymous_id, events FROM devices")) == devices
    assert import_events(ws, again, origin="relay").duplicates == 3  # recognised from now on
    ws.close()


def test_compaction_cancelled_half_way_resumes_without_loss_or_double_packing(tmp_path, monkeypatch):
    ws = _plain_workspace(tmp_path / "ws", monkeypatch)
    before = _raws(ws.conn)
    updates = []
    progress = Progress(on_update=lambda p: updates.append(p.fraction) or (len(updates) == 3 and p.cancel()))
    with pytest.raises(Cancelled):
        compaction.compact_events(ws.conn, progress, batch=1000)
    packed = ws.conn.execute("SELECT count(*) FROM events WHERE substr(raw, 1, 1) NOT IN (x'7b', '{')").fetchone()[0]
    assert packed == 2000  # two batches committed before the cancel was seen
    assert compaction.pending(ws.conn)
    assert _raws(ws.conn) == before  # half packed, half plain: all readable
    done = Progress()
    result = compaction.compact_events(ws.conn, done, batch=1000)
    assert result.packed == len(before) - 2000 and not result.trained
    assert done.status == "Compacted stored events" and done.fraction == 1.0
    assert _raws(ws.conn) == before
    assert not compaction.pending(ws.conn)
    ws.close()


KILLER = """
import os, signal, sys
from segdesk.core import compaction
from segdesk.core.store import open_workspace
ws = open_workspace(sys.argv[1])
seen = []
def trace(sql):
    # Killed inside the third batch's transaction: its rows are updated, its commit never comes.
    if sql.startswith("UPDATE event_compaction"):
        seen.append(sql)
        if len(seen) == 3:
            os.kill(os.getpid(), signal.SIGKILL)
ws.conn.set_trace_callback(trace)
compaction.compact_events(ws.conn, batch=1000)
"""


def test_compaction_killed_mid_batch_resumes_without_loss(tmp_path, monkeypatch):
    ws = _plain_workspace(tmp_path / "ws", monkeypatch)
    before = _raws(ws.conn)
    ws.close()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-c", KILLER, str(tmp_path / "ws")], env=env, capture_output=True)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    with open_workspace(tmp_path / "ws") as ws:
        conn = ws.conn
        assert conn.execute("SELECT next_id FROM event_compaction").fetchone()[0] == 2001
        assert conn.execute("SELECT count(*) FROM events WHERE substr(raw, 1, 1) NOT IN (x'7b', '{')").fetchone()[0] == 2000
        assert _raws(conn) == before
    # The command line resumes it before the command it was given.
    assert cli_main(["--workspace", str(tmp_path / "ws"), "contacts", "--json"]) == 0
    with open_workspace(tmp_path / "ws") as ws:
        assert ws.conn.execute("SELECT count(*) FROM events WHERE substr(raw, 1, 1) IN (x'7b', '{')").fetchone()[0] == 0
        assert _raws(ws.conn) == before
        assert ws.conn.execute("SELECT count(*) FROM event_dicts").fetchone()[0] == 1


def test_a_small_workspace_stays_plain_until_it_has_enough_to_learn_from(tmp_path):
    with open_workspace(tmp_path / "ws") as ws:
        demo.generate(ws, contacts=20, devices=50, events=500, seed=2)
        assert not compaction.pending(ws.conn)
        assert compaction.compact_events(ws.conn).packed == 0
        assert ws.conn.execute("SELECT count(*) FROM event_dicts").fetchone()[0] == 0
