"""Webhook deliveries in the PostgreSQL buffer (pg_schema.py migration 2).

Deliveries are inserted with seq NULL and numbered after commit by a
sequencer under its own advisory lock, before each page is served: the
reason is the events' (pg_schema.py), a row committing late behind a cursor
the app already holds must still be pulled, once.
"""

from __future__ import annotations

import time

from segdesk.collector_relay import pg_schema
from segdesk.collector_relay.buffer import DAY, HookRow
from segdesk.collector_relay.hooks_sqlite import spellings

HOOK_SEQUENCER_LOCK = 0x5E6D_E5C0_0003

INSERT = (
    "INSERT INTO relay_hooks (delivery_key, source, kind, received_at, received_ts, headers, body)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT (delivery_key) DO NOTHING"
)
STAMP = pg_schema.STAMP_SQL.format(table="relay_hooks", sequence="relay_hook_sequence")


def insert(conn, row: HookRow) -> bool:
    return conn.execute(INSERT, tuple(row)).rowcount == 1


def sequence(conn, limit: int) -> int:
    return pg_schema.sequence(conn, limit, HOOK_SEQUENCER_LOCK, STAMP, "relay_hook_sequence")


def page(conn, after: int, limit: int):
    sequence(conn, limit + 1)
    with conn.cursor(binary=True) as cur:
        rows = cur.execute(
            "SELECT seq, delivery_key, source, kind, received_at, headers, body FROM relay_hooks"
            " WHERE seq > %s ORDER BY seq LIMIT %s", (after, limit + 1)).fetchall()
    return rows[:limit], len(rows) > limit


def counts(conn) -> tuple[int, int]:
    upto = conn.execute("SELECT coalesce(max(upto), 0) FROM relay_hook_acks").fetchone()[0]
    waiting = conn.execute("SELECT count(*) FROM relay_hooks WHERE seq > %s OR seq IS NULL",
                           (upto,)).fetchone()[0]
    return upto, waiting


def ack(conn, upto: int, now: float | None = None, rows: str = "relay_hooks", acks: str = "relay_hook_acks") -> int:
    """Record an ack up to ``upto`` (events use it too, with their own tables).

    Clamped to the rows that exist, so acking ahead never purges rows that have
    not been pulled (un-numbered ones included)."""
    top, acked = conn.execute(
        f"SELECT coalesce(max(seq), 0), (SELECT coalesce(max(upto), 0) FROM {acks}) FROM {rows}").fetchone()
    clamped = min(upto, max(top, acked))
    if clamped > acked:
        conn.execute(f"INSERT INTO {acks} (upto, acked_ts) VALUES (%s, %s)", (clamped, now or time.time()))
    return max(clamped, acked)


def purge(conn, grace_days: float, retention_days: float, now: float) -> int:
    removed = 0
    upto = conn.execute("SELECT max(upto) FROM relay_hook_acks WHERE acked_ts <= %s",
                        (now - grace_days * DAY,)).fetchone()[0]
    if upto:
        removed += conn.execute("DELETE FROM relay_hooks WHERE seq <= %s", (upto,)).rowcount
        conn.execute("DELETE FROM relay_hook_acks WHERE upto < %s", (upto,))
    removed += conn.execute("DELETE FROM relay_hooks WHERE received_ts < %s",
                            (now - retention_days * DAY,)).rowcount
    return removed


def erase(conn, email: str) -> int:
    """Deliveries naming an erased person go too (escape-encoding keeps ASCII as it is)."""
    return sum(conn.execute("DELETE FROM relay_hooks WHERE strpos(lower(encode(body, 'escape')), %s) > 0",
                            (spelling,)).rowcount for spelling in spellings(email))
