"""The default event buffer: SQLite in WAL mode with one writer thread.

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
from pathlib import Path
from typing import Any, Callable

from segdesk.collector_relay import hooks_sqlite, housekeeping as store
from segdesk.collector_relay.buffer import FILTERED, Buffer, HookRow, Row
from segdesk.collector_relay.mailbox import Mailbox, answers, merge_appends, post_append, resolve

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

CHECKPOINT_SECONDS = 1.0
# Frames (pages) the WAL may hold before the writer checkpoints it itself.
WAL_CHECKPOINT_PAGES = 1024
WAL_SIZE_LIMIT = 16 * 2**20

__all__ = ["SCHEMA", "INSERT", "SQLiteBuffer", "Row"]


def _connect(path: Path, synchronous: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute("PRAGMA busy_timeout=30000")
    # After a checkpoint, cut a WAL that grew during a burst back to this size.
    conn.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
    return conn


class SQLiteBuffer(Buffer):
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
        conn.executescript(hooks_sqlite.SCHEMA)
        self._writer_conn = conn
        self._queue = Mailbox()
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
        await post_append(self._queue, rows, filtered)

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

        def deliver(value, error):
            box["value"], box["error"] = value, error
            done.set()

        self._queue.put(("call", fn, deliver, None))
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
            resolve(results)
            if stop:
                return

    def _commit_appends(self, conn: sqlite3.Connection, appends: list) -> list[tuple]:
        # One statement for the whole group: the per-call overhead of the
        # sqlite3 module is a fair share of the writer's time under load.
        entries, rows, counts = merge_appends(appends)
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
            return answers(entries, exc)
        return answers(entries, None)

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

    def counts(self) -> tuple[int, int, tuple[str, float] | None, dict[str, int]]:
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
        return upto, buffered, tuple(oldest) if oldest else None, filtered

    # -- housekeeping: on the writer thread, each in its own transaction ------

    def ack_sync(self, upto: int, now: float | None = None) -> int:
        return self.call_sync(lambda conn: store.ack(conn, upto, now))

    def purge_sync(self, grace_days: float, retention_days: float,
                   now: float | None = None) -> int:
        return self.call_sync(lambda conn: _purge(conn, grace_days, retention_days, now))

    def erase_sync(self, email: str | None = None, anonymous_id: str | None = None) -> int:
        return self.call_sync(lambda conn: _erase(conn, email, anonymous_id))

    async def ack(self, upto: int) -> int:
        return await self.call(lambda conn: store.ack(conn, upto))

    async def purge(self, grace_days: float, retention_days: float) -> int:
        return await self.call(lambda conn: _purge(conn, grace_days, retention_days))

    # -- webhooks (hooks_sqlite.py) --------------------------------------------

    async def append_hook(self, row: HookRow) -> bool:
        return await self.call(lambda conn: hooks_sqlite.insert(conn, row))

    def hook_page(self, after: int, limit: int):
        return hooks_sqlite.page(self.reader(), after, limit)

    def hook_counts(self) -> tuple[int, int]:
        return hooks_sqlite.counts(self.reader())

    def hook_ack_sync(self, upto: int, now: float | None = None) -> int:
        return self.call_sync(lambda conn: hooks_sqlite.ack(conn, upto, now))

    async def hook_ack(self, upto: int) -> int:
        return await self.call(lambda conn: hooks_sqlite.ack(conn, upto))

    async def erase(self, email: str | None = None, anonymous_id: str | None = None) -> int:
        return await self.call(lambda conn: _erase(conn, email, anonymous_id))


# -- helpers of the writer thread ----------------------------------------------


def _erase(conn: sqlite3.Connection, email: str | None, anonymous_id: str | None) -> int:
    return store.erase(conn, email, anonymous_id) + (hooks_sqlite.erase(conn, email) if email else 0)


def _purge(conn: sqlite3.Connection, grace_days: float, retention_days: float,
           now: float | None = None) -> int:
    return (store.purge(conn, grace_days, retention_days, now)
            + hooks_sqlite.purge(conn, grace_days, retention_days, now))


def _in_transaction(conn: sqlite3.Connection, fn: Callable[[sqlite3.Connection], Any]) -> Any:
    conn.execute("BEGIN IMMEDIATE")
    try:
        value = fn(conn)
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return value
