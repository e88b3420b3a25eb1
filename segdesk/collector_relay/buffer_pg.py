"""The event buffer on PostgreSQL, for relays without a lasting disk and for
several relays on one database (SEGDESK_RELAY_DATABASE_URL).

Writes use the same group commit as the SQLite buffer (mailbox.py): one
writer thread per relay puts everything posted since its last commit into one
transaction, so a busy relay spends one round trip and one WAL flush on many
requests. Events go in with seq NULL; pg_schema.sequence() numbers them after
commit, right before a page is served, which is what keeps the pull stream
gap-free and duplicate-free however many relays write (see pg_schema.py).

Reads, acks, purges and erasures take a pooled connection on a worker thread.
A lost server surfaces as BufferUnavailable (503 with Retry-After); the pool
checks each connection before lending it and reconnects by itself, so the
relay recovers when the database is back without a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time

import psycopg
from psycopg_pool import ConnectionPool

from segdesk.collector_relay import hooks_pg, pg_schema as schema
from segdesk.collector_relay.buffer import DAY, FILTERED, Buffer, BufferUnavailable, HookRow, Row
from segdesk.collector_relay.mailbox import Mailbox, answers, merge_appends, post_append, resolve

POOL_SIZE = 8
# How long a request waits for a connection before answering 503: long enough
# for a fail-over's reconnect, short enough that clients retry soon.
WAIT_SECONDS = 5.0
ATTEMPTS = 3  # a deadlock with another relay's transaction is retried


class PostgresBuffer(Buffer):
    def __init__(self, url: str, pool_size: int = POOL_SIZE) -> None:
        self.url = url
        self.pool = ConnectionPool(
            url, min_size=1, max_size=pool_size, open=False, timeout=WAIT_SECONDS,
            # Before lending a connection the pool checks it is alive: after a
            # database restart every pooled connection is dead, and without the
            # check each would fail one request before being replaced.
            check=ConnectionPool.check_connection,
            reconnect_timeout=float("inf"),  # never give up on the server
            kwargs={"autocommit": True, "connect_timeout": int(WAIT_SECONDS),
                    "application_name": "segdesk-relay"},
            name="segdesk-relay")
        self._queue = Mailbox()
        self._thread: threading.Thread | None = None

    # -- lifecycle -----------------------------------------------------------

    def start(self) -> None:
        self.pool.open(wait=True, timeout=30)
        with self.pool.connection() as conn:
            schema.migrate(conn)
        self._thread = threading.Thread(target=self._run, name="relay-pg-writer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None
        self.pool.close()

    @contextlib.contextmanager
    def _connection(self):
        try:
            with self.pool.connection() as conn:
                yield conn
        except psycopg.errors.TransactionRollback:
            raise  # a deadlock or serialization failure: the caller retries
        except psycopg.OperationalError as exc:  # down, restarting, pool timed out
            raise BufferUnavailable(f"database unavailable: {type(exc).__name__}") from exc

    def _transaction(self, fn):
        for attempt in range(ATTEMPTS):
            try:
                with self._connection() as conn, conn.transaction():
                    return fn(conn)
            except psycopg.errors.TransactionRollback:
                if attempt == ATTEMPTS - 1:
                    raise

    # -- writes --------------------------------------------------------------

    async def append(self, rows: list[Row], filtered: dict[str, int] | None = None) -> None:
        await post_append(self._queue, rows, filtered)

    def _run(self) -> None:
        while True:
            group = self._queue.take_all()
            appends = [item for item in group if item is not None]
            if appends:
                resolve(self._commit(appends))
            if None in group:
                return

    def _commit(self, appends: list) -> list[tuple]:
        entries, rows, counts = merge_appends(appends)

        def write(conn) -> None:
            with conn.cursor() as cur:
                if rows:
                    cur.execute(schema.INSERT, [list(column) for column in zip(*rows)])
                if counts:
                    # Sorted: two relays bumping the same counters lock them in
                    # one order, so they queue rather than deadlock.
                    cur.executemany(schema.COUNT, sorted(counts.items()))

        try:
            self._transaction(write)
        except Exception as exc:  # handed to every waiting request: 503
            return answers(entries, exc)
        return answers(entries, None)

    # -- reads ---------------------------------------------------------------

    def page(self, after: int, limit: int) -> tuple[list[tuple[int, str, bytes]], bool]:
        with self._connection() as conn:
            schema.sequence(conn, limit + 1)
            # Binary results: bodies come back as raw bytes, not hex text.
            with conn.cursor(binary=True) as cur:
                rows = cur.execute(
                    "SELECT seq, received_at, body FROM relay_events WHERE seq > %s"
                    " ORDER BY seq LIMIT %s", (after, limit + 1)).fetchall()
        return rows[:limit], len(rows) > limit

    def counts(self) -> tuple[int, int, tuple[str, float] | None, dict[str, int]]:
        with self._connection() as conn:
            upto = conn.execute("SELECT coalesce(max(upto), 0) FROM relay_acks").fetchone()[0]
            buffered = conn.execute(
                "SELECT count(*) FROM relay_events WHERE seq > %s OR seq IS NULL",
                (upto,)).fetchone()[0]
            # Two indexed lookups instead of one scan past the acked events.
            oldest = conn.execute(
                "SELECT received_at, received_ts FROM ("
                " (SELECT received_at, received_ts FROM relay_events WHERE seq > %s"
                "  ORDER BY seq LIMIT 1) UNION ALL"
                " (SELECT received_at, received_ts FROM relay_events WHERE seq IS NULL"
                "  ORDER BY id LIMIT 1)) o ORDER BY received_ts LIMIT 1", (upto,)).fetchone()
            filtered = dict(conn.execute(
                "SELECT substr(name, %s), value FROM relay_counters WHERE name LIKE 'filtered:%%'",
                (len(FILTERED) + 1,)).fetchall())
        return upto, buffered, tuple(oldest) if oldest else None, filtered

    # -- housekeeping (the rules of housekeeping.py) -------------------------

    def ack_sync(self, upto: int, now: float | None = None) -> int:
        return self._transaction(lambda conn: hooks_pg.ack(conn, upto, now, rows="relay_events", acks="relay_acks"))

    def purge_sync(self, grace_days: float, retention_days: float,
                   now: float | None = None) -> int:
        now = time.time() if now is None else now

        def purge(conn) -> int:
            removed = 0
            upto = conn.execute("SELECT max(upto) FROM relay_acks WHERE acked_ts <= %s",
                                (now - grace_days * DAY,)).fetchone()[0]
            if upto:
                removed += conn.execute("DELETE FROM relay_events WHERE seq <= %s",
                                        (upto,)).rowcount
                # Keep the newest ack row so acked_upto survives an emptied buffer.
                conn.execute("DELETE FROM relay_acks WHERE upto < %s", (upto,))
            cutoff = now - retention_days * DAY
            oldest = conn.execute(
                "SELECT received_ts FROM relay_events ORDER BY id LIMIT 1").fetchone()
            # The scan only runs when something is overdue (the app has not
            # synced for months); normally this is one indexed lookup.
            if oldest and oldest[0] < cutoff:
                removed += conn.execute("DELETE FROM relay_events WHERE received_ts < %s",
                                        (cutoff,)).rowcount
            return removed + hooks_pg.purge(conn, grace_days, retention_days, now)
        return self._transaction(purge)

    # -- webhooks (hooks_pg.py) ------------------------------------------------

    async def append_hook(self, row: HookRow) -> bool:
        # Rare next to events: one transaction each on a worker thread, no group commit.
        return await asyncio.to_thread(self._transaction, lambda conn: hooks_pg.insert(conn, row))

    def hook_page(self, after: int, limit: int):
        with self._connection() as conn:
            return hooks_pg.page(conn, after, limit)

    def hook_counts(self) -> tuple[int, int]:
        with self._connection() as conn:
            return hooks_pg.counts(conn)

    def hook_ack_sync(self, upto: int, now: float | None = None) -> int:
        return self._transaction(lambda conn: hooks_pg.ack(conn, upto, now))

    def erase_sync(self, email: str | None = None, anonymous_id: str | None = None) -> int:
        def erase(conn) -> int:
            anon_ids: set[str] = {anonymous_id} if anonymous_id else set()
            user_ids: set[str] = set()
            if email:
                for anon, user in conn.execute(
                        "SELECT anonymous_id, user_id FROM relay_events WHERE email = %s",
                        (email,)):
                    anon_ids.update([anon] if anon else [])
                    user_ids.update([user] if user else [])
            return conn.execute(
                "DELETE FROM relay_events WHERE email = %s OR anonymous_id = ANY(%s)"
                " OR user_id = ANY(%s)", (email, list(anon_ids), list(user_ids))).rowcount + (
                hooks_pg.erase(conn, email) if email else 0)
        return self._transaction(erase)
