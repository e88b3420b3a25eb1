"""The full stitch compares stored identity rows a chunk at a time (writes.py): the same answer as
comparing whole tables, wherever in a chunk the changes fall.

Chunks are made tiny so a few dozen rows cross many chunk borders; the expected
answers are computed the plain way, from whole tables held in memory.
"""

from __future__ import annotations

import random
import sqlite3

import pytest

from segdesk.core.identity import writes
from segdesk.core.identity.writes import SEGMENT_COLUMNS, changed_devices, write_all_nodes


def _spans(rng: random.Random, devices: int) -> list[tuple]:
    rows = []
    for d in range(devices):
        starts = sorted(rng.sample(["", "2026-01-01", "2026-02-01", "2026-03-01"], rng.randint(1, 3)))
        for i, start in enumerate(starts):
            end = starts[i + 1] if i + 1 < len(starts) else None
            rows.append((f"dev{d:03}", start, end, rng.randint(1, 4), "form", start or "2025-12-01", i + 1))
    return rows


def _mutated(rng: random.Random, rows: list[tuple]) -> list[tuple]:
    out = [list(r) for r in rows if rng.random() > 0.05]  # some spans gone
    for r in out:
        if rng.random() < 0.1:
            r[3] = rng.randint(1, 4)  # another contact
    out += [[f"{r[0]}x", *r[1:]] for r in _spans(rng, 3)]  # new devices, each right after an old one
    return sorted(tuple(r) for r in out)  # (a device's start times are unique: no None is compared)


@pytest.mark.parametrize("seed", range(40))
def test_changed_devices_are_those_whose_spans_differ(seed, monkeypatch):
    monkeypatch.setattr(writes, "SCRATCH_ROWS", 1 + seed % 5)
    rng = random.Random(seed)
    old = sorted(_spans(rng, 12))
    new = old if seed % 4 == 0 else _mutated(rng, old)
    conn = sqlite3.connect(":memory:")
    conn.execute(f"CREATE TABLE device_segments ({SEGMENT_COLUMNS}, PRIMARY KEY (anonymous_id, start_ts))")
    conn.executemany("INSERT INTO device_segments VALUES (?, ?, ?, ?, ?, ?, ?)", old)

    fresh, stale = changed_devices(list(new), conn.execute(
        f"SELECT {SEGMENT_COLUMNS} FROM device_segments ORDER BY anonymous_id, start_ts"))

    def by_device(rows):
        out: dict[str, set] = {}
        for r in rows:
            out.setdefault(r[0], set()).add(r)
        return out
    before, after = by_device(old), by_device(new)
    differ = {d for d in before.keys() | after.keys() if before.get(d) != after.get(d)}
    assert sorted(fresh) == sorted(r for r in new if r[0] in differ)
    assert sorted(stale) == sorted(r for r in old if r[0] in differ)


@pytest.mark.parametrize("seed", range(40))
def test_all_nodes_written_as_resolved_and_their_contacts_returned(seed, monkeypatch):
    monkeypatch.setattr(writes, "SCRATCH_ROWS", 1 + seed % 5)
    rng = random.Random(seed)
    old = {f"email:p{i}@x.com": rng.choice([None, 1, 2, 3]) for i in range(30)}
    old_via = {n for n in old if rng.random() < 0.1}
    new = dict(old)
    via = set(old_via)
    if seed % 4:
        for n in rng.sample(sorted(old), 3):
            del new[n]
        for n in rng.sample(sorted(new), 3):
            new[n] = rng.choice([None, 1, 2, 3, 4])
        for i in range(rng.randint(0, 3)):
            new[f"cid:{seed}-{i}"] = rng.choice([None, 5])
        via ^= set(rng.sample(sorted(new), 2))
        via &= new.keys()
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE identity_nodes (node TEXT PRIMARY KEY, contact_id INTEGER, via_merge INTEGER) "
                 "WITHOUT ROWID")
    conn.executemany("INSERT INTO identity_nodes VALUES (?, ?, ?)",
                     [(n, c, 1 if n in old_via else 0) for n, c in old.items()])

    touched = write_all_nodes(conn, new, via)

    assert {n: (c, v) for n, c, v in conn.execute("SELECT * FROM identity_nodes")} == {
        n: (c, 1 if n in via else 0) for n, c in new.items()}
    changed = [n for n in new if n not in old or old[n] != new[n] or (n in via) != (n in old_via)]
    gone = [n for n in old if n not in new]
    expected = {new[n] for n in changed if new[n]} | {old[n] for n in changed + gone if old.get(n)}
    assert touched == expected
    if seed % 4 == 0:
        assert touched == set()


def test_a_device_whose_first_span_is_in_an_equal_chunk_is_replaced_whole(monkeypatch):
    # Chunks of one row: the device's first span compares equal on its own, its second does not.
    monkeypatch.setattr(writes, "SCRATCH_ROWS", 1)
    old = [("d1", "", "2026-02-01", 1, "form", "2026-01-01", 1), ("d1", "2026-02-01", None, 2, "form", "2026-02-01", 2)]
    new = [old[0], ("d1", "2026-02-01", None, 3, "form", "2026-02-01", 2)]
    conn = sqlite3.connect(":memory:")
    conn.execute(f"CREATE TABLE device_segments ({SEGMENT_COLUMNS})")
    conn.executemany("INSERT INTO device_segments VALUES (?, ?, ?, ?, ?, ?, ?)", old)
    assert changed_devices(new, conn.execute(f"SELECT {SEGMENT_COLUMNS} FROM device_segments ORDER BY rowid")) == (
        new, old)
