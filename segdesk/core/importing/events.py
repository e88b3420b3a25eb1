"""Wire-format events (docs/SPEC.md §1) into the workspace.

Events are immutable rows unique by ``messageId``; importing the same event
twice stores it once. A malformed event is reported with its line number and
skipped while the rest import. A sync commits batch by batch, so an import
that stops half-way keeps what it stored and a re-run fills in the rest; a big
file into a small workspace is one bulk load (indexes rebuilt at the end) that
commits whole or not at all.
"""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from . import packing, parallel_import
from .event_rows import COLUMNS, EventError, carries_identity, event_row, parse_lines
from .import_result import ImportResult
from ..gcpause import gc_paused
from ..progress import Cancelled, Progress
from .rejects import Reject

if TYPE_CHECKING:  # parsing processes import this module: keep sqlite-utils out of their start-up
    from ..store import Workspace

_VALUES = f"INTO events ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
INSERT_SQL = f"INSERT OR IGNORE {_VALUES}"
BULK_INSERT_SQL = f"INSERT {_VALUES}"  # while a bulk load has the indexes dropped
FLAG_IDENTITY_SQL = "UPDATE identity_state SET dirty = 1 WHERE dirty = 0"
DEVICES_SQL = """
INSERT INTO devices (anonymous_id, first_seen, last_seen, events)
SELECT anonymous_id, min(ts), max(ts), count(*) FROM events
WHERE id > ? AND anonymous_id IS NOT NULL GROUP BY anonymous_id
ON CONFLICT(anonymous_id) DO UPDATE SET
    first_seen = min(first_seen, excluded.first_seen),
    last_seen = max(last_seen, excluded.last_seen),
    events = events + excluded.events
"""


def _max_id(conn) -> int:
    return conn.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0]


DEVICE_UPSERT_SQL = """
INSERT INTO devices (anonymous_id, first_seen, last_seen, events) VALUES (?, ?, ?, ?)
ON CONFLICT(anonymous_id) DO UPDATE SET
    first_seen = min(first_seen, excluded.first_seen),
    last_seen = max(last_seen, excluded.last_seen),
    events = events + excluded.events
"""
# Of events sharing a messageId keep the first stored, as INSERT OR IGNORE would have.
DROP_DUPLICATES_SQL = """
DELETE FROM events WHERE id > ? AND id IN (
    SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY message_id ORDER BY id) AS n FROM events)
    WHERE n > 1)
"""
BULK_MIN_EVENTS = 20_000
BATCH_SIZE = 50_000
# Index sorts run in runs this big (negative: KiB), handed to the sorter's helper threads.
SORT_CACHE_KIB = -2000


@dataclass
class _Batch:
    rows: list[tuple]
    rejects: list[Reject]

    @property
    def identity(self) -> bool:
        return carries_identity(self.rows)


def _device_stats(rows: list[tuple]) -> list[tuple]:
    """Per device in a batch: ``(anonymous_id, first ts, last ts, events)``."""
    stats: dict[str, list] = {}
    for row in rows:
        aid = row[2]
        if aid is None:
            continue
        ts = row[4]
        s = stats.get(aid)
        if s is None:
            stats[aid] = [ts, ts, 1]
        else:
            if ts < s[0]:
                s[0] = ts
            elif ts > s[1]:
                s[1] = ts
            s[2] += 1
    return [(aid, a, b, n) for aid, (a, b, n) in stats.items()]


class Packing:
    """The packer rows are built with (``packing.py``), None while the workspace has no dictionary.

    Without one, the first batch big enough to learn from trains it, inside that
    batch's transaction, and is packed before it is stored: an import never
    writes its events twice. Smaller ones stay plain until the refresh trains one
    (``core/compaction.py``).
    """

    def __init__(self, packer: packing.Packer | None):
        self.packer = packer

    def adopt(self, conn, rows: list[tuple]) -> None:
        if self.packer is not None or len(rows) < packing.MIN_SAMPLES:
            return
        dictionary = packing.train_from((r[-1], r[0], r[2], r[4]) for r in rows[:packing.TRAIN_SAMPLES])
        self.packer = packing.add_dictionary(conn, dictionary) if dictionary else None
        if self.packer is not None:
            pack = self.packer.pack
            rows[:] = [(*r[:-1], pack(r[-1], r[0], r[2], r[4])) for r in rows]

    def mark(self, conn, before: int) -> None:
        if self.packer is not None:
            packing.mark_checked(conn, before)


def batches(items, origin: str, batch_size: int, pack: Packing) -> Iterator[_Batch]:
    rows: list[tuple] = []
    rejects: list[Reject] = []
    append = rows.append
    for lineno, ev, raw in items:
        if ev.__class__ is EventError:
            rejects.append(Reject(lineno, str(ev)))
            continue
        try:
            append(event_row(ev, origin, raw, pack.packer))
        except EventError as exc:
            rejects.append(Reject(lineno, str(exc)))
            continue
        if len(rows) >= batch_size:
            yield _Batch(rows, rejects)
            rows, rejects = [], []
            append = rows.append
    if rows or rejects:
        yield _Batch(rows, rejects)


def _write_batch(conn, batch: _Batch, result: ImportResult, pack: Packing) -> None:
    rows = batch.rows
    before = _max_id(conn)
    with conn:
        pack.adopt(conn, rows)
        # rowcount sums each row's own change (an ignored duplicate adds 0); total_changes
        # would also count what triggers write.
        inserted = conn.executemany(INSERT_SQL, rows).rowcount
        if inserted == len(rows):
            conn.executemany(DEVICE_UPSERT_SQL, _device_stats(rows))
        elif inserted:
            # Some were duplicates: count only the rows that went in.
            conn.execute(DEVICES_SQL, (before,))
        if inserted and batch.identity:
            conn.execute(FLAG_IDENTITY_SQL)
        pack.mark(conn, before)
    result.imported += inserted
    result.duplicates += len(rows) - inserted
    if inserted and result.first_new_id is None:
        result.first_new_id = before + 1


def _report(progress: Progress | None, result: ImportResult, status: str, fraction) -> None:
    if progress is not None:
        progress.update(status, fraction, imported=result.imported, duplicates=result.duplicates,
                        rejected=result.rejected)


def _import_batched(ws, batches, result, progress, position, pack: Packing) -> None:
    """Batch by batch, each committed on its own: for syncs into a workspace that already holds much more."""
    for batch in batches:
        for lineno, reason in batch.rejects:
            result.reject(lineno, reason)
        if batch.rows:
            _write_batch(ws.conn, batch, result, pack)
        if progress is not None:
            _report(progress, result, "Importing events", position() if position else None)
            progress.check()


def _bulk_load(ws, fill, result, progress) -> None:
    """A big import into a small workspace: indexes dropped, rows appended, indexes rebuilt.

    Inserting a million random message ids into a unique index costs a B-tree
    descent and a page split or two each; building the index afterwards is one
    sort. It all happens in one transaction, so a crash leaves the workspace as
    it was (a re-run then imports everything). A cancel stops reading and keeps
    what was read. Duplicates are found when the unique index is rebuilt; the
    first stored copy stays, as in the batched path.

    ``fill(conn, before, result, progress, report)`` appends the rows (from
    parsed batches here, or from worker processes: ``parallel_import``) and
    returns ``(identity, cancelled)``.
    """
    conn = ws.conn
    with _bulk_settings(conn):
        try:
            _bulk_transaction(conn, fill, result, progress)
        finally:
            cleanup = getattr(fill, "cleanup", None)
            if cleanup is not None:
                cleanup(conn)


@contextmanager
def _bulk_settings(conn):
    """Pragmas for one bulk load, put back afterwards.

    - Index sorts spill to temporary files rather than memory (at 5M events
      they would otherwise hold hundreds of MiB of keys), use helper threads,
      and sort in small runs: with the connection's 64 MiB cache they were
      twice as slow.
    - When no other connection has the workspace open (the command line), the
      load writes through a rollback journal instead of the WAL: new pages go
      to the file once instead of to the WAL and then again at the checkpoint.
      With readers open (the app), it stays in WAL so they keep reading.
    """
    conn.execute("PRAGMA temp_store=FILE")
    conn.execute(f"PRAGMA threads={parallel_import.worker_count() - 1}")
    rollback_journal = _leave_wal(conn)
    try:
        yield
    finally:
        if rollback_journal:
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA threads=0")
        conn.execute("PRAGMA temp_store=MEMORY")


def _leave_wal(conn) -> bool:
    """Switch to a rollback journal if this is the only connection; say whether it did."""
    timeout = conn.execute("PRAGMA busy_timeout").fetchone()[0]
    conn.execute("PRAGMA busy_timeout=0")
    try:
        mode = conn.execute("PRAGMA journal_mode=DELETE").fetchone()[0]
    except sqlite3.OperationalError:  # another connection has it open: stay in WAL
        return False
    finally:
        conn.execute(f"PRAGMA busy_timeout={int(timeout)}")
    if mode != "delete":
        return False
    # A rollback journal is only as safe as its syncs; one transaction makes FULL cheap.
    conn.execute("PRAGMA synchronous=FULL")
    return True


def serial_fill(parsed: Iterable[_Batch], position, pack: Packing):
    """The bulk load's rows from parsed batches, in this process, packed by ``pack``."""

    def fill(conn, before, result, progress, report):
        identity = False
        try:
            for batch in parsed:
                for lineno, reason in batch.rejects:
                    result.reject(lineno, reason)
                if batch.rows:
                    pack.adopt(conn, batch.rows)
                    conn.executemany(BULK_INSERT_SQL, batch.rows)
                    result.imported += len(batch.rows)
                    identity = identity or batch.identity
                if progress is not None:
                    report(position() if position else None)
                    progress.check()
        except Cancelled as exc:
            return identity, exc
        finally:
            pack.mark(conn, before)
        return identity, None

    return fill


def _bulk_transaction(conn, fill, result, progress) -> None:
    conn.execute("BEGIN IMMEDIATE")
    try:
        # Full indexes and triggers go for the load (a table with triggers cannot
        # take the shards' record-for-record copy) and come back after it. Partial
        # indexes stay: they hold the few identity rows, and rebuilding one costs
        # a scan of the whole table. Into an empty table that scan is of the new
        # rows only, and a rebuilt index has full pages (kept, its random inserts
        # leave them half empty: 8 of 18 bytes an event at 1M).
        empty = _max_id(conn) == 0
        schema = conn.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE type IN ('index', 'trigger') AND tbl_name = 'events' "
            "AND sql IS NOT NULL AND (? OR name NOT IN (SELECT name FROM pragma_index_list('events') WHERE partial))",
            (empty,)).fetchall()
        for kind, name, _ in schema:
            conn.execute(f'DROP {kind.upper()} "{name}"')
        before = _max_id(conn)
        identity, cancelled = fill(conn, before, result, progress,
                                   lambda fraction: _report(progress, result, "Importing events", fraction))
        _report(progress, result, "Indexing events", None)
        dropped = _rebuild_indexes(conn, [(name, sql) for kind, name, sql in schema if kind == "index"], before)
        for kind, _, sql in schema:
            if kind == "trigger":
                conn.execute(sql)
        result.imported -= dropped
        result.duplicates += dropped
        # Device figures from the rows that stayed, in one pass over the rebuilt device index.
        conn.execute(DEVICES_SQL, (before,))
        if result.imported and identity:
            conn.execute(FLAG_IDENTITY_SQL)
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    if result.imported:
        result.first_new_id = before + 1
    if cancelled is not None:
        raise cancelled


def _rebuild_indexes(conn, indexes: list[tuple[str, str]], before: int) -> int:
    """Recreate the dropped indexes, unique ones first; returns how many duplicates were dropped."""
    dropped = 0
    cache = conn.execute("PRAGMA cache_size").fetchone()[0]
    conn.execute(f"PRAGMA cache_size={SORT_CACHE_KIB}")
    try:
        for _, sql in sorted(indexes, key=lambda i: not i[1].upper().startswith("CREATE UNIQUE")):
            try:
                conn.execute(sql)
            except sqlite3.IntegrityError:
                if dropped:
                    raise
                dropped = conn.execute(DROP_DUPLICATES_SQL, (before,)).rowcount
                if not dropped:
                    raise
                conn.execute(sql)
    finally:
        conn.execute(f"PRAGMA cache_size={int(cache)}")
    return dropped


def import_parsed(
    ws: Workspace,
    items: Iterable[tuple[int, object, bytes | None]],
    *,
    origin: str,
    progress: Progress | None = None,
    batch_size: int = BATCH_SIZE,
    position=None,
    expected: int | None = None,
) -> ImportResult:
    """Import ``(line_no, event, raw_bytes)`` items; the engine behind every event source.

    ``expected`` is a low estimate of how many events are coming (a file's size
    says so). When it is large against what the workspace holds, the import is
    a bulk load (see :func:`_bulk_load`); otherwise each batch commits on its
    own and a cancel or an error keeps what was written. Batches are large
    because the indexes (random message ids, interleaved devices) touch pages
    all over the file: a commit writes every touched page to the WAL once, so
    more events per commit means fewer page writes each.
    """
    result = ImportResult()
    pack = Packing(packing.latest(ws.conn))
    parsed = batches(items, origin, batch_size, pack)
    with gc_paused():
        if _bulk_wanted(ws.conn, expected):
            _bulk_load(ws, serial_fill(parsed, position, pack), result, progress)
        else:
            _import_batched(ws, parsed, result, progress, position, pack)
    _report(progress, result, "Imported events", 1.0)
    return result


def _bulk_wanted(conn, expected: int | None) -> bool:
    return (expected is not None and expected >= BULK_MIN_EVENTS and not conn.in_transaction
            and _max_id(conn) <= 2 * expected)


# A low estimate of how many events a file holds, from its size: wire events
# are rarely under 300 bytes a line, pixel page views about 500-900.
BYTES_PER_EVENT_HIGH = 1024


def _regular_file_size(fileobj) -> int | None:
    try:
        st = os.fstat(fileobj.fileno())
    except (AttributeError, OSError, ValueError):
        return None
    return st.st_size if stat.S_ISREG(st.st_mode) else None


# From this many (estimated) events a bulk load parses in worker processes:
# starting them costs about half a second.
PARALLEL_MIN_EVENTS = 50_000


def import_events_file(ws: Workspace, fileobj, *, origin: str = "import", progress: Progress | None = None,
                       total_bytes: int | None = None, batch_size: int = BATCH_SIZE,
                       workers: int | None = None) -> ImportResult:
    """Import a binary file object of JSON Lines (a real file or stdin).

    A big regular file into a small workspace is parsed by ``workers``
    processes (default: one per core, see ``parallel_import``); everything else
    is read here.
    """
    size = _regular_file_size(fileobj)  # None for a pipe or a terminal
    if total_bytes is None:
        total_bytes = size
    expected = total_bytes // BYTES_PER_EVENT_HIGH if total_bytes else None
    if workers is None:
        workers = parallel_import.worker_count()
    path = _reopenable_path(fileobj) if size is not None else None
    if (path and workers > 1 and expected and expected >= PARALLEL_MIN_EVENTS
            and _bulk_wanted(ws.conn, expected)):
        result = ImportResult()
        fill = parallel_import.FileFill(path, fileobj.tell(), size, origin=origin, workers=workers,
                                        read_here=lambda lines, packer: _fill_here(lines, origin, packer))
        with gc_paused():
            _bulk_load(ws, fill, result, progress)
        _report(progress, result, "Imported events", 1.0)
        return result

    def position():
        try:
            return fileobj.tell() / total_bytes
        except (OSError, ValueError):
            return None

    return import_parsed(ws, parse_lines(fileobj), origin=origin, progress=progress,
                         position=position if total_bytes else None, batch_size=batch_size, expected=expected)


def _fill_here(lines, origin: str, packer: packing.Packer | None):
    """The parallel load's fallback when no process starts: the serial fill of the same lines."""
    pack = Packing(packer)
    return serial_fill(batches(parse_lines(lines), origin, BATCH_SIZE, pack), None, pack)


def _reopenable_path(fileobj) -> str | None:
    """The path a regular file was opened by, if it still names that file: workers open it themselves."""
    name = getattr(fileobj, "name", None)
    if not isinstance(name, str):
        return None
    try:
        return name if os.path.samefile(name, fileobj.fileno()) else None
    except (OSError, ValueError):
        return None


def import_events(ws: Workspace, events: Iterable[dict], *, origin: str, progress: Progress | None = None,
                  expected: int | None = None) -> ImportResult:
    """Import already-parsed events (from the relay's pull API, tests, the demo)."""
    return import_parsed(ws, ((i, ev, None) for i, ev in enumerate(events, 1)), origin=origin, progress=progress,
                         expected=expected)
