"""The full stitch resolves people first, then reads the device links again in device order and
compares and writes spans a batch of devices at a time (identity/full.py). Whatever the batch
size, and wherever stored spans that are wrong, missing or linked no more fall among the
batches, it must leave every derived table as it was before they were spoiled, and name as
changed exactly the devices it rewrote.
"""

from __future__ import annotations

import random
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from segdesk.core.identity import full
from segdesk.core.identity.stitch import stitch
from segdesk.core.store import open_workspace

from .stitch_check import derived, from_nothing
from .test_component_stitch import _apply, _empty_workspace, steps

# Devices no link names: before every real one, between two, after every one (pseudo devices too).
STRAYS = ["a", "d3x", "zz"]


def _spoil(conn, rnd: random.Random) -> None:
    """One stored span deleted, one given another contact, and spans for devices nothing links."""
    rows = conn.execute("SELECT anonymous_id, start_ts FROM device_segments ORDER BY 1, 2").fetchall()
    contacts = [c for (c,) in conn.execute("SELECT id FROM contacts ORDER BY id")]
    with conn:
        if rows:
            conn.execute("DELETE FROM device_segments WHERE anonymous_id = ? AND start_ts = ?", rnd.choice(rows))
            conn.execute("UPDATE device_segments SET contact_id = ? WHERE anonymous_id = ? AND start_ts = ?",
                         (rnd.choice(contacts), *rnd.choice(rows)))
        if contacts:
            conn.executemany("INSERT INTO device_segments VALUES (?, '', NULL, ?, 'form', '2026-01-01T00:00:00.000Z', "
                             "NULL)", [(aid, rnd.choice(contacts)) for aid in STRAYS])


def _spans_by_device(conn) -> dict[str, list[tuple]]:
    out: dict[str, list[tuple]] = {}
    for row in conn.execute("SELECT * FROM device_segments ORDER BY anonymous_id, start_ts"):
        out.setdefault(row[0], []).append(row)
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps(), st.integers(1, 3), st.randoms(use_true_random=False))
def test_the_full_stitch_in_batches_of_any_size_repairs_spoiled_spans(batches, size, rnd):
    folder = Path(tempfile.mkdtemp())
    saved = full.BATCH_ROWS
    try:
        shutil.copytree(_empty_workspace(), folder / "ws")
        with open_workspace(folder / "ws") as ws:
            for i, batch in enumerate(batches):
                _apply(ws, batch)
                stitch(ws)
                expected = derived(ws.conn)
                good = _spans_by_device(ws.conn)
                _spoil(ws.conn, rnd)
                spoiled = _spans_by_device(ws.conn)
                full.BATCH_ROWS = size
                result = stitch(ws, full=True)
                assert derived(ws.conn) == expected, batch
                assert result.changed_devices == {d for d in good.keys() | spoiled.keys()
                                                  if good.get(d) != spoiled.get(d)}
                assert result.shared_devices == sum(1 for _, n, shared in expected["devices"] if shared)
                assert from_nothing(ws, folder / f"copy{i}") == expected
                full.BATCH_ROWS = saved
    finally:
        full.BATCH_ROWS = saved
        shutil.rmtree(folder)


def test_no_scratch_table_outlives_a_stitch(tmp_path, monkeypatch):
    """The scratch tables stay while the links are read (SQLite cannot drop a table then) and go at the end."""
    monkeypatch.setattr(full, "BATCH_ROWS", 1)
    with open_workspace(tmp_path / "ws") as ws:
        _apply(ws, [("event", {"type": "identify", "messageId": f"m{i}", "timestamp": "2026-01-0{}T00:00:00Z".format(
            1 + i % 3), "anonymousId": f"d{i}", "traits": {"email": f"p{i % 4}@x.com"}}) for i in range(12)])
        result = stitch(ws, full=True)
        assert len(result.changed_devices) == 12
        assert ws.conn.execute("SELECT count(*) FROM device_segments").fetchone()[0] == 12
        assert ws.conn.execute("SELECT name FROM sqlite_temp_master").fetchall() == []
