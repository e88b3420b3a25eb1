"""Converting stored events to the compact form (``importing/packing.py``), in place.

A workspace from before migration 0017, or one whose events came in small
syncs before it had enough of them to train a dictionary, holds plain rows
(and, from before 0017, message ids stored as text: converted alongside).
:func:`compact_events` trains the workspace's dictionary from a sample of its
own events if it has none, then packs the plain rows in id order, batch by
batch: each batch commits together with ``event_compaction.next_id`` (every
row below it is compact), so an interrupted run (a cancel, a crash, a killed
process) keeps what it did, and the next run goes on from there. A row is
packed only if it is still plain, so nothing is ever packed twice. Every row
reads the same in either form throughout, so the app and the reports need not
wait for it.

Packing rows in place leaves the table's pages mostly empty (SQLite does not
merge them); when a run packed a quarter of the events or more, the file is
vacuumed once at the end, which gives the disk back (VACUUM is one statement:
interrupted, it leaves the file as it was). The refresh packs without it.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from .importing import packing
from .progress import Progress

BATCH = 20_000
_PLAIN = (packing.PLAIN, "{")  # bytes, or text in a workspace written by an early version
STATUS = "Compacting stored events"


@dataclass
class CompactionResult:
    packed: int = 0
    trained: bool = False  # a new dictionary version was trained
    vacuumed: bool = False


def _next_id(conn) -> int:
    return conn.execute("SELECT next_id FROM event_compaction").fetchone()[0]


def pending(conn: sqlite3.Connection) -> bool:
    """Whether :func:`compact_events` has rows to pack (cheap: reads only rows not yet checked)."""
    start = _next_id(conn)
    if packing.latest(conn) is None:
        # No dictionary yet: worth training once there are enough events to learn from.
        return conn.execute("SELECT id FROM events WHERE id >= ? ORDER BY id LIMIT 1 OFFSET ?",
                            (start, packing.MIN_SAMPLES - 1)).fetchone() is not None
    return conn.execute("SELECT EXISTS(SELECT 1 FROM events WHERE id >= ? AND substr(raw, 1, 1) IN (x'7b', '{'))",
                        (start,)).fetchone()[0] == 1


def _train(conn) -> packing.Packer | None:
    """The first dictionary, from plain events spread over the whole table."""
    (count,) = conn.execute("SELECT count(*) FROM events").fetchone()
    step = max(1, count // packing.TRAIN_SAMPLES)
    rows = conn.execute(
        "SELECT raw, message_id, anonymous_id, ts FROM events WHERE id % ? = 0 AND substr(raw, 1, 1) IN (x'7b', '{') LIMIT ?",
        (step, packing.TRAIN_SAMPLES))
    dictionary = packing.train_from(rows)
    if dictionary is None:
        return None
    with conn:
        return packing.add_dictionary(conn, dictionary)


def compact_events(conn: sqlite3.Connection, progress: Progress | None = None, *, batch: int | None = None,
                   vacuum: bool = True) -> CompactionResult:
    """Pack every plain stored event; resumable (see the module docstring). Raises Cancelled on a cancel."""
    result = CompactionResult()
    batch = batch or BATCH
    if not pending(conn):
        return result
    packer = packing.latest(conn)
    if packer is None:
        packer = _train(conn)
        if packer is None:
            return result  # too little to learn from yet: the rows stay plain, and readable
        result.trained = True
    start = _next_id(conn)
    (top,) = conn.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()
    done = start
    while True:
        if progress is not None:
            progress.update(STATUS, (done - start) / max(1, top + 1 - start), packed=result.packed)
            progress.check()
        rows = conn.execute("SELECT id, raw, message_id, anonymous_id, ts FROM events WHERE id >= ? ORDER BY id "
                            "LIMIT ?", (done, batch)).fetchall()
        if not rows:
            break
        updates = [(packer.pack(raw.encode() if isinstance(raw, str) else raw, mid, aid, ts), packing.message_key(mid),
                    eid) for eid, raw, mid, aid, ts in rows if raw and raw[0] in _PLAIN]
        done = rows[-1][0] + 1
        with conn:
            _drop_later_copies(conn, [(key, eid) for _, key, eid in updates if key.__class__ is bytes])
            conn.executemany("UPDATE events SET raw = ?, message_id = ? WHERE id = ?", updates)
            conn.execute("UPDATE event_compaction SET next_id = ?", (done,))
        result.packed += len(updates)
    if vacuum and result.packed:
        result.vacuumed = _give_back_space(conn, progress, result.packed)
    if progress is not None:
        progress.update("Compacted stored events", 1.0, packed=result.packed)
    return result


def _drop_later_copies(conn, keys: list[tuple[bytes, int]]) -> None:
    """Events stored again, with their id as a key, after the upgrade and before their first copy
    was converted: the first stored copy stays, as an import keeps it (its device counts one less)."""
    for key, eid in keys:
        for dup, aid in conn.execute("SELECT id, anonymous_id FROM events WHERE message_id = ? AND id != ?",
                                     (key, eid)).fetchall():
            conn.execute("DELETE FROM events WHERE id = ?", (dup,))
            if aid is not None:
                conn.execute("UPDATE devices SET events = events - 1 WHERE anonymous_id = ?", (aid,))


def _give_back_space(conn, progress: Progress | None, packed: int) -> bool:
    # Packed rows stay on their pages, which SQLite does not merge: the space is inside
    # the table's pages, not on the free list. A plain event gives back ~500 bytes.
    (events,) = conn.execute("SELECT count(*) FROM events").fetchone()
    if packed * 4 < events:
        return False
    if progress is not None:
        progress.update("Giving back disk space", None)
    conn.execute("PRAGMA temp_store=FILE")  # VACUUM copies the whole file: not through memory
    try:
        conn.execute("VACUUM")
    finally:
        conn.execute("PRAGMA temp_store=MEMORY")
    return True



def pending_at(folder) -> bool:
    """Whether the workspace in ``folder`` has events to pack: a read-only look, before opening it
    (False before its migrations: the upgrade comes first)."""
    from .store import ask_before_opening

    return ask_before_opening(folder, pending)
