"""The durable event buffer: SQLite in WAL mode with one writer thread.

Every write goes through one thread that owns the only writing connection
(SQLite allows one writer anyway; sharing it between threads is how "database
is locked" happens). Ingest requests queue their rows and await the commit.
The writer takes everything queued since its last commit into one
transaction, so under load one fsync covers many requests (group commit)
while a lone request still commits at once.

Readers (pull, health) open their own connections per thread; WAL lets them
read while the writer writes.

Checkpoints (copying the WAL back into the database file, with its own fsync)
run in a separate thread every second, so ingest requests rarely wait for
one. To keep the WAL bounded under steady load, the writer also checkpoints
once the WAL holds WAL_CHECKPOINT_PAGES frames (see start()); that one copies
only what the background thread has not, and lets SQLite start the WAL over.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any, Callable, NamedTuple

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id TEXT NOT NULL UNIQUE,
    received_at TEXT NOT NULL,
    received_ts REAL NOT NULL,
    anonymous_id TEXT,
    user_id TEXT,
    email TEXT,
    body BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS events_anonymous_id ON events(anonymous_id);
CREATE INDEX IF NOT EXISTS events_email ON events(email) WHERE email IS NOT NULL;
CREATE TABLE IF NOT EXISTS acks (upto INTEGER NOT NULL, acked_ts REAL NOT NULL);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""

INSERT = (
    "INSERT OR IGNORE INTO events"
    " (message_id, received_at, received_ts, anonymous_id, user_id, email, body)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)

DAY = 86400.0
FILTERED = "filtered:"  # counters named filtered:<reason> count events not kept
CHECKPOINT_SECONDS = 1.0
# Frames (pages) the WAL may hold before the writer checkpoints it itself.
WAL_CHECKPOINT_PAGES = 1024
WAL_SIZE_LIMIT = 16 * 2**20


class Row(NamedTuple):
    """One validated event ready to store (body is its JSON)."""

    message_id: str
    received_at: str
    received_ts: float
    anonymous_id: str | None
    user_id: str | None
    email: str | None
    body: bytes


def _connect(path: Path, synchronous: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute("PRAGMA busy_timeout=30000")
    # After a checkpoint, cut a WAL that grew during a burst back to this size.
    conn.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
    return conn


class _Mailbox:
    """Work for the writer thread. Posting is a lock and a list append; the
    writer is signalled only when it sleeps, so under load (writer busy
    committing) requests never pay for waking a thread, and the writer takes
    everything posted meanwhile in one go: that is the group commit."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list = []
        self._sleeping = False
        self._wake = threading.Event()

    def put(self, item) -> None:
        with self._lock:
            self._items.append(item)
            wake, self._sleeping = self._sleeping, False
        if wake:
            self._wake.set()

    def take_all(self) -> list:
        while True:
            with self._lock:
                items, self._items = self._items, []
                if not items:
                    # Cleared under the lock, before a poster can see us asleep.
                    self._sleeping = True
                    self._wake.clear()
            if items:
                return items
            self._wake.wait()


class Buffer:
    def __init__(self, path: Path, synchronous: str = "NORMAL") -> None:
        self.path = Path(path)
        # Owner-only before SQLite creates it (its -wal and -shm copy this mode),
        # set explicitly: the umask could only narrow os.open's mode, not fix it.
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            if os.name == "posix" and os.fstat(fd).st_size == 0:
                os.fchmod(fd, 0o600)
        finally:
            os.close(fd)
        self._synchronous = synchronous.upper()
        conn = _connect(self.path, self._synchronous)
        conn.executescript(SCHEMA)
        self._writer_conn = conn
        self._queue = _Mailbox()
        self._local = threading.local()
        self._thread: threading.Thread | None = None
        self._checkpointer: threading.Thread | None = None
        self._stopping = threading.Event()

    # -- lifecycle -----------------------------------------------------------

    def start(self) -> None:
        # The background thread copies the WAL into the database every second,
        # but under steady load it never catches up to a moment without new
        # frames, and SQLite only starts the WAL over after a checkpoint that
        # backfilled everything: it grew to 200 MiB in 30 s at 500 req/s. So the
        # writer also checkpoints (PASSIVE) once the WAL holds this many frames,
        # between two commits, where no frame can arrive meanwhile; it copies
        # only what the background thread has not copied yet, so it is short.
        self._writer_conn.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="relay-writer", daemon=True)
        self._thread.start()
        self._checkpointer = threading.Thread(target=self._checkpoint_loop,
                                              name="relay-checkpoint", daemon=True)
        self._checkpointer.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        if self._checkpointer is not None:
            self._stopping.set()
            self._checkpointer.join()
            self._checkpointer = None
        self._writer_conn.close()

    def _checkpoint_loop(self) -> None:
        conn = _connect(self.path, self._synchronous)
        try:
            while not self._stopping.wait(CHECKPOINT_SECONDS):
                try:
                    # PASSIVE never blocks the writer; it copies what it can.
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
                except sqlite3.Error:
                    pass  # busy or I/O trouble: try again next time
        finally:
            conn.close()

    # -- writes (any thread / the event loop) --------------------------------

    async def append(self, rows: list[Row], filtered: dict[str, int] | None = None) -> None:
        """Store rows durably (a duplicate messageId is ignored) and count the
        events not kept, by reason; returns once they are committed."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._queue.put(("append", [(rows, filtered, future)], None, loop))
        await future

    async def call(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        """Run fn(conn) on the writer thread in its own transaction."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._queue.put(("call", fn, future, loop))
        return await future

    def call_sync(self, fn: Callable[[sqlite3.Connection], Any]) -> Any:
        """Same as call() for code outside the event loop (CLI, tests)."""
        if self._thread is None:
            return _in_transaction(self._writer_conn, fn)
        done = threading.Event()
        box: dict = {}

        def resolve(value, error):
            box["value"], box["error"] = value, error
            done.set()

        self._queue.put(("call", fn, resolve, None))
        done.wait()
        if box["error"] is not None:
            raise box["error"]
        return box["value"]

    # -- the writer thread ---------------------------------------------------

    def _run(self) -> None:
        conn = self._writer_conn
        while True:
            group = self._queue.take_all()
            stop = None in group
            group = [item for item in group if item is not None]
            appends = [g for g in group if g[0] == "append"]
            results: list[tuple] = []
            if appends:
                results.extend(self._commit_appends(conn, appends))
            for kind, fn, future, loop in group:
                if kind == "call":
                    try:
                        results.append((future, loop, _in_transaction(conn, fn), None))
                    except Exception as exc:  # handed to the awaiting caller
                        results.append((future, loop, None, exc))
            self._resolve(results)
            if stop:
                return

    def _commit_appends(self, conn: sqlite3.Connection, appends: list) -> list[tuple]:
        # One statement for the whole group: the per-call overhead of the
        # sqlite3 module is a fair share of the writer's time under load.
        entries = [(entry, loop) for _, pending, _, loop in appends for entry in pending]
        rows = [row for (batch, _, _), _ in entries for row in batch]
        counts: dict[str, int] = {}
        for (_, filtered, _), _ in entries:
            for reason, n in (filtered or {}).items():
                counts[FILTERED + reason] = counts.get(FILTERED + reason, 0) + n
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(INSERT, rows)
            if counts:
                conn.executemany(
                    "INSERT INTO counters(name, value) VALUES (?, ?)"
                    " ON CONFLICT(name) DO UPDATE SET value = value + excluded.value",
                    counts.items(),
                )
            conn.execute("COMMIT")
        except Exception as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            return [(future, loop, None, exc) for (_, _, future), loop in entries]
        return [(future, loop, None, None) for (_, _, future), loop in entries]

    @staticmethod
    def _resolve(results: list[tuple]) -> None:
        # One wake-up per event loop for the whole group, not one per request.
        by_loop: dict = {}
        for future, loop, value, error in results:
            if loop is None:
                future(value, error)
            else:
                by_loop.setdefault(loop, []).append((future, value, error))
        for loop, items in by_loop.items():
            try:
                loop.call_soon_threadsafe(_set_results, items)
            except RuntimeError:  # the loop closed while we committed
                pass

    # -- reads (worker threads) ----------------------------------------------

    def reader(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = _connect(self.path, self._synchronous)
            conn.execute("PRAGMA query_only=ON")
            self._local.conn = conn
        return conn

    def page(self, after: int, limit: int) -> tuple[list[tuple[int, str, bytes]], bool]:
        rows = self.reader().execute(
            "SELECT seq, received_at, body FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
            (after, limit + 1),
        ).fetchall()
        return rows[:limit], len(rows) > limit

    def stats(self, retention_days: float, warning_days: float, now: float | None = None) -> dict:
        now = time.time() if now is None else now
        conn = self.reader()
        upto = conn.execute("SELECT coalesce(max(upto), 0) FROM acks").fetchone()[0]
        buffered = conn.execute("SELECT count(*) FROM events WHERE seq > ?", (upto,)).fetchone()[0]
        oldest = conn.execute(
            "SELECT received_at, received_ts FROM events WHERE seq > ? ORDER BY seq LIMIT 1",
            (upto,),
        ).fetchone()
        # 'bots_filtered' is the one total counter of relays from before reasons were kept.
        filtered = dict(conn.execute(
            "SELECT substr(name, ?), value FROM counters WHERE name LIKE 'filtered:%'",
            (len(FILTERED) + 1,)).fetchall())
        old = conn.execute("SELECT value FROM counters WHERE name = 'bots_filtered'").fetchone()
        if old:
            filtered["bot_user_agent"] = filtered.get("bot_user_agent", 0) + old[0]
        info: dict = {
            "ok": True,
            "buffered": buffered,
            "acked_upto": upto,
            "bots_filtered": sum(filtered.values()),
            "filtered": filtered,
            "oldest_unpulled": oldest[0] if oldest else None,
            "warnings": [],
        }
        if oldest:
            age_days = (now - oldest[1]) / DAY
            if age_days >= retention_days - warning_days:
                left = max(0.0, retention_days - age_days)
                info["warnings"].append(
                    f"events not pulled for {age_days:.1f} days; un-pulled events are dropped "
                    f"after {retention_days:g} days ({left:.1f} days left): sync the app"
                )
        return info


# -- helpers of the writer thread ----------------------------------------------


def _in_transaction(conn: sqlite3.Connection, fn: Callable[[sqlite3.Connection], Any]) -> Any:
    conn.execute("BEGIN IMMEDIATE")
    try:
        value = fn(conn)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return value


def _set_results(items: list) -> None:
    for future, value, error in items:
        if future.done():  # the request was cancelled (client went away)
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)
