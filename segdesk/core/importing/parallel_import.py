"""A big JSON Lines file read by several processes at once (the bulk load's fast path).

Parsing an event and building its row is Python work that one core does at
about 100k events/s at best, and SQLite takes one writer. So the file is cut
into chunks at line starts; worker processes each parse a chunk into a shard
(a throw-away SQLite file holding an ``events`` table exactly like the
workspace's, ids included), and the workspace's connection appends each shard
in file order with ``INSERT INTO events SELECT * FROM shard.events``. That
statement copies stored records without decoding them (SQLite's transfer
optimisation) because the tables match and the bulk load has dropped the
indexes and triggers.

Ids come from line numbers (``before + line``), so every event gets the id it
would have had read serially, give or take the gaps a blank or rejected line
leaves, and the de-duplication ("the first stored copy stays") sees the file's
order. Workers are spawned, never forked: the app may have threads running.
Everything the workers write is a shard; the workspace only changes inside the
bulk load's one transaction.
"""

from __future__ import annotations

import os
import queue
import shutil
import signal
import sqlite3
import sys
import tempfile
from collections.abc import Callable
import time
from dataclasses import dataclass
from pathlib import Path

import orjson

from ...errors import ImportFailed
from ..progress import Cancelled, Progress
from . import packing

CHUNKS = 8  # SQLite attaches at most 10 databases; progress moves in eighths
MAX_WORKERS = 4
POLL_S = 0.25
PARENT_POLL_S = 0.5  # how often a worker checks that the importing process still lives
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
SHARD_PREFIX = ".import-"  # shard folders, next to the workspace's database


class WorkerFailed(Exception):
    """A worker process stopped on an error or died; the import is rolled back."""


@dataclass(frozen=True)
class Chunk:
    index: int
    start: int  # byte offsets in the file, each at a line start
    end: int
    first_line: int


def worker_count() -> int:
    """Processes to parse with: one per core, at most MAX_WORKERS; 1 means read serially."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_WORKERS))


def _boundaries(f, start: int, end: int, parts: int) -> list[int]:
    """Byte offsets cutting [start, end) into about ``parts`` pieces, each at a line start."""
    cuts = [start]
    for k in range(1, parts):
        f.seek(start + (end - start) * k // parts)
        f.readline()
        cut = f.tell()
        if cuts[-1] < cut < end:
            cuts.append(cut)
    cuts.append(end)
    return cuts


def _newlines(f, start: int, end: int, buf: bytearray) -> int:
    f.seek(start)
    count, left = 0, end - start
    while left > 0:
        n = f.readinto(buf)
        if not n:
            break
        n = min(n, left)
        count += buf.count(b"\n", 0, n)
        left -= n
    return count


def plan(f, start: int, end: int, parts: int = CHUNKS):
    """Yield the chunks of [start, end) in order, each once the lines before it are counted.

    Counting runs while the first workers already parse: chunk 0 needs no count.
    """
    cuts = _boundaries(f, start, end, parts)
    buf = bytearray(1 << 20)
    first_line = 1
    for k in range(len(cuts) - 1):
        yield Chunk(k, cuts[k], cuts[k + 1], first_line)
        if k + 2 < len(cuts):
            first_line += _newlines(f, cuts[k], cuts[k + 1], buf)


# --- in the worker process --------------------------------------------------------------


def _lines(path: str, start: int, end: int):
    with open(path, "rb") as f:
        f.seek(start)
        left = end - start
        for line in f:
            yield line
            left -= len(line)
            if left <= 0:
                return


def load_chunk(path: str, chunk: Chunk, shard: str, schema: str, origin: str, before: int, packer=None) -> dict:
    """Parse one chunk into a fresh shard file; what the workspace needs to know about it."""
    # The worker's own imports: the parsing rules live there.
    from . import event_rows
    from .import_result import ImportResult

    conn = sqlite3.connect(shard, isolation_level=None)
    conn.execute("PRAGMA page_size=65536")  # fewer, fuller pages: cheaper to write and to copy out
    conn.execute("PRAGMA journal_mode=OFF")  # a shard is thrown away, never recovered
    conn.execute("PRAGMA synchronous=OFF")
    conn.executescript(schema)
    columns = ["id", *event_rows.COLUMNS]
    sql = f"INSERT INTO events ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
    rows = []
    imported = 0
    identity = False
    kept = ImportResult()  # its rejects: counted, the first MAX_ERRORS_KEPT kept
    # parse_lines and event_row in one loop: this is the hot path of a big import.
    loads, JSONDecodeError = orjson.loads, orjson.JSONDecodeError
    event_row, EventError = event_rows.event_row, event_rows.EventError
    conn.execute("BEGIN")
    for lineno, line in enumerate(_lines(path, chunk.start, chunk.end), chunk.first_line):
        line = line.strip()
        if not line:
            continue
        try:
            rows.append((before + lineno, *event_row(loads(line), origin, line, packer)))
        except (JSONDecodeError, EventError) as exc:
            kept.reject(lineno, event_rows.json_error(exc) if isinstance(exc, JSONDecodeError) else str(exc))
            continue
        if len(rows) >= 20_000:
            identity = identity or event_rows.carries_identity(rows, offset=1)
            conn.executemany(sql, rows)
            imported += len(rows)
            rows = []
    if rows:
        identity = identity or event_rows.carries_identity(rows, offset=1)
        conn.executemany(sql, rows)
        imported += len(rows)
    conn.execute("COMMIT")
    conn.close()
    return {"chunk": chunk.index, "imported": imported, "rejected": kept.rejected, "errors": kept.errors,
            "identity": identity}


def _die_with_parent(parent: int, shard_dir: str) -> None:
    """Stop when the importing process is gone (a SIGKILL, a crash): nobody would
    read the shards, so parsing on only wastes the cores, and the shards go too.

    Linux tells us at once (PR_SET_PDEATHSIG); everywhere, a thread also polls
    the parent id, which changes when the parent dies and we are re-parented.
    """
    import threading

    def orphaned() -> bool:
        return os.getppid() != parent

    def leave() -> None:
        # A sibling may be creating its next shard meanwhile: try again until gone.
        for _ in range(20):
            shutil.rmtree(shard_dir, ignore_errors=True)
            if not os.path.exists(shard_dir):
                break
            time.sleep(0.05)
        os._exit(1)

    def on_term(signum, frame) -> None:
        # The death signal comes when the parent's main thread exits, which can be
        # a moment before the whole process is gone: until then we belong to its
        # other threads and getppid() has not changed yet. (The parent itself
        # stops its workers with SIGKILL, never SIGTERM.)
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline:
            if orphaned():
                leave()
            time.sleep(0.01)
        os._exit(1)

    signal.signal(signal.SIGTERM, on_term)
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        except (OSError, AttributeError):
            pass  # the poll below still notices
    if orphaned():  # the parent died before the request took effect
        leave()

    def poll() -> None:
        while True:
            time.sleep(PARENT_POLL_S)
            if orphaned():
                leave()

    threading.Thread(target=poll, name="parent-watch", daemon=True).start()


def _worker_main(path, schema, origin, packer, before, shard_dir, before_chunk, parent, tasks, results) -> None:
    # Ctrl-C in a terminal reaches the whole process group: the parent decides, workers ignore it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _die_with_parent(parent, shard_dir)
    from ..gcpause import gc_paused

    with gc_paused():
        while (chunk := tasks.get()) is not None:
            try:
                if before_chunk is not None:
                    before_chunk(chunk)
                results.put(("done", load_chunk(path, chunk, shard_path(shard_dir, chunk), schema, origin, before, packer)))
            except BaseException as exc:  # noqa: BLE001 - reported to the parent, which raises it
                if os.getppid() != parent:  # our shard vanished because the parent died: clean up and go
                    shutil.rmtree(shard_dir, ignore_errors=True)
                    os._exit(1)
                reason = f"a parsing process failed on the lines from byte {chunk.start:,}: {type(exc).__name__}: {exc}"
                results.put(("error", reason))
                return


# --- in the workspace's process ---------------------------------------------------------


class _Workers:
    """Spawned processes taking chunks from one queue and reporting on another."""

    def __init__(self, count: int, args: tuple):
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")
        self.tasks, self.results = ctx.Queue(), ctx.Queue()
        self.procs = [ctx.Process(target=_worker_main, args=(*args, self.tasks, self.results), daemon=True)
                      for _ in range(count)]
        for p in self.procs:
            p.start()

    def submit(self, chunk: Chunk) -> Chunk:
        self.tasks.put(chunk)
        return chunk

    def finish(self) -> None:
        for _ in self.procs:
            self.tasks.put(None)

    def next_result(self, timeout: float):
        try:
            kind, payload = self.results.get(timeout=timeout)
        except queue.Empty:
            dead = [p.exitcode for p in self.procs if p.exitcode not in (None, 0)]
            if dead:
                raise WorkerFailed(f"a parsing process stopped unexpectedly (exit code {dead[0]})") from None
            return None
        if kind == "error":
            raise WorkerFailed(payload)
        return payload

    def close(self) -> None:
        for p in self.procs:
            if p.is_alive():
                p.kill()  # SIGTERM means "the importing process died" to a worker; we clean up ourselves
        for p in self.procs:
            p.join()
        for q in (self.tasks, self.results):
            q.cancel_join_thread()
            q.close()


class FileFill:
    """Appends ``path[start:end]``'s events to the workspace inside the bulk load's transaction.

    Called as ``fill(conn, before, result, progress, report)`` like the serial
    fill; returns ``(identity, cancelled)``: whether an appended event carries
    identity evidence, and the Cancelled raised if the user stopped it (the
    chunks appended before it stay). :meth:`cleanup` runs after the commit or
    rollback: shards can only be detached outside a transaction.
    """

    def __init__(self, path: str, start: int, end: int, *, origin: str, workers: int, read_here,
                 before_chunk: Callable[[Chunk], None] | None = None):
        self.path, self.start, self.end, self.origin, self.workers = path, start, end, origin, workers
        # ``read_here(lines) -> fill``: the serial fill (the importer's own) for when no process starts.
        self.read_here = read_here
        # Runs in the worker before each chunk; a module-level function, as it is pickled to
        # the spawned process. Tests pass one that fails there.
        self.before_chunk = before_chunk
        self.shard_dir: str | None = None
        self.attached: list[str] = []
        self.packer: packing.Packer | None = None

    def __call__(self, conn, before: int, result, progress: Progress | None, report):
        # The events table and the indexes the bulk load kept: the copy needs the shards alike.
        schema = ";\n".join(sql for (sql,) in conn.execute(
            "SELECT sql FROM sqlite_master WHERE tbl_name = 'events' AND type IN ('table', 'index') AND sql IS NOT NULL"
            " ORDER BY type = 'index'"))
        db_dir = Path(conn.execute("PRAGMA database_list").fetchone()[2]).parent
        # We hold the write lock, so no other import is running: shards left here are
        # from a process that was killed, and only take up space.
        for stale in db_dir.glob(f"{SHARD_PREFIX}*"):
            shutil.rmtree(stale, ignore_errors=True)
        self.shard_dir = tempfile.mkdtemp(prefix=SHARD_PREFIX, dir=db_dir)
        self.packer = packing.latest(conn) or self._train(conn)
        try:
            pool = _Workers(self.workers, (self.path, schema, self.origin, self.packer, before, self.shard_dir,
                                           self.before_chunk, os.getpid()))
        except OSError:
            # No processes to be had (no /dev/shm for their queues' locks, a process limit):
            # the same file, read here.
            return self._read_here(conn, before, result, progress, report)
        identity = False
        try:
            with open(self.path, "rb") as f:
                chunks = [pool.submit(chunk) for chunk in plan(f, self.start, self.end)]
            pool.finish()
            done: dict[int, dict] = {}
            for chunk in chunks:
                while True:
                    if progress is not None:
                        progress.check()  # before each chunk, and while waiting for one
                    if chunk.index in done:
                        break
                    got = pool.next_result(POLL_S)
                    if got is not None:
                        done[got["chunk"]] = got
                identity = self._append(conn, chunk, done.pop(chunk.index), result) or identity
                report((chunk.end - self.start) / max(1, self.end - self.start))
        except Cancelled as exc:
            return identity, exc
        except WorkerFailed as exc:
            raise ImportFailed(f"the import stopped and stored nothing: {exc}") from None
        finally:
            pool.close()
            if self.packer is not None:
                packing.mark_checked(conn, before)
        return identity, None

    def _train(self, conn) -> packing.Packer | None:
        """The workspace's first dictionary, from events sampled across the file (in the load's transaction)."""
        from . import event_rows

        samples = []
        for line in _sample_lines(self.path, self.start, self.end):
            try:
                row = event_rows.event_row(orjson.loads(line), self.origin, line)
            except (orjson.JSONDecodeError, event_rows.EventError):
                continue
            samples.append(packing.strip(line, row[0], row[2], row[4]))
        dictionary = packing.train(samples)
        return packing.add_dictionary(conn, dictionary) if dictionary else None

    def _read_here(self, conn, before: int, result, progress: Progress | None, report):
        fill = self.read_here(_lines(self.path, self.start, self.end), self.packer)
        return fill(conn, before, result, progress, report)

    def _append(self, conn, chunk: Chunk, info: dict, result) -> bool:
        alias = f"shard{chunk.index}"
        conn.execute(f"ATTACH ? AS {alias}", (shard_path(self.shard_dir, chunk),))
        self.attached.append(alias)
        # Read once, front to back: its pages need no cache (the connection's is 64 MiB per database).
        conn.execute(f"PRAGMA {alias}.cache_size=-256")
        conn.execute(f"INSERT INTO main.events SELECT * FROM {alias}.events")
        result.imported += info["imported"]
        for lineno, reason in info["errors"]:
            result.reject(lineno, reason)
        result.rejected += info["rejected"] - len(info["errors"])
        return info["identity"]

    def cleanup(self, conn) -> None:
        for alias in self.attached:
            try:
                conn.execute(f"DETACH {alias}")
            except sqlite3.OperationalError:
                pass
        self.attached = []
        if self.shard_dir:
            shutil.rmtree(self.shard_dir, ignore_errors=True)
            self.shard_dir = None


def _sample_lines(path: str, start: int, end: int, want: int = packing.TRAIN_SAMPLES, windows: int = 64):
    """About ``want`` non-blank lines from ``windows`` places spread over [start, end): a site's
    pages and campaigns change over the months a file covers."""
    with open(path, "rb") as f:
        for k in range(windows):
            f.seek(start + (end - start) * k // windows)
            if k:
                f.readline()  # to the next line start
            taken = 0
            while taken < want // windows and f.tell() < end:
                line = f.readline().strip()
                if not line and f.tell() >= end:
                    break
                if line:
                    taken += 1
                    yield line


def shard_path(shard_dir: str, chunk: Chunk) -> str:
    return str(Path(shard_dir) / f"chunk{chunk.index}.sqlite")
