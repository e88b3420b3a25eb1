"""Webhook deliveries in the SQLite buffer: their table, acks and purge.

They sit beside the events in buffer.db with their own ``seq``: the app pulls
them through ``/v1/webhooks`` after the events and acks them separately. Writes
run on the buffer's one writer thread (SQLiteBuffer.call), each in its own
transaction, so a 2xx follows the commit exactly as for events.
"""

from __future__ import annotations

import sqlite3
import time
from urllib.parse import quote

from segdesk.collector_relay.buffer import DAY, HookRow

SCHEMA = """
CREATE TABLE IF NOT EXISTS hooks (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_key TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL,
    kind TEXT NOT NULL,
    received_at TEXT NOT NULL,
    received_ts REAL NOT NULL,
    headers BLOB NOT NULL,
    body BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS hook_acks (upto INTEGER NOT NULL, acked_ts REAL NOT NULL);
"""


def insert(conn: sqlite3.Connection, row: HookRow) -> bool:
    return conn.execute(
        "INSERT OR IGNORE INTO hooks (delivery_key, source, kind, received_at, received_ts, headers, body)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)", tuple(row)).rowcount == 1


def page(conn: sqlite3.Connection, after: int, limit: int):
    rows = conn.execute(
        "SELECT seq, delivery_key, source, kind, received_at, headers, body FROM hooks"
        " WHERE seq > ? ORDER BY seq LIMIT ?", (after, limit + 1)).fetchall()
    return rows[:limit], len(rows) > limit


def _acked(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT coalesce(max(upto), 0) FROM hook_acks").fetchone()[0]


def counts(conn: sqlite3.Connection) -> tuple[int, int]:
    upto = _acked(conn)
    return upto, conn.execute("SELECT count(*) FROM hooks WHERE seq > ?", (upto,)).fetchone()[0]


def ack(conn: sqlite3.Connection, upto: int, now: float | None = None) -> int:
    """Like events' ack: clamped to what exists, so acking ahead purges nothing unseen."""
    top = conn.execute("SELECT coalesce(max(seq), 0) FROM hooks").fetchone()[0]
    upto = min(upto, max(top, _acked(conn)))
    if upto > _acked(conn):
        conn.execute("INSERT INTO hook_acks(upto, acked_ts) VALUES (?, ?)", (upto, now or time.time()))
    return _acked(conn)


def purge(conn: sqlite3.Connection, grace_days: float, retention_days: float, now: float | None = None) -> int:
    """Acked deliveries after the grace period, un-pulled ones after retention (events' rules)."""
    now = time.time() if now is None else now
    removed = 0
    upto = conn.execute("SELECT max(upto) FROM hook_acks WHERE acked_ts <= ?",
                        (now - grace_days * DAY,)).fetchone()[0]
    if upto:
        removed += conn.execute("DELETE FROM hooks WHERE seq <= ?", (upto,)).rowcount
        conn.execute("DELETE FROM hook_acks WHERE upto < ?", (upto,))
    removed += conn.execute("DELETE FROM hooks WHERE received_ts < ?",
                            (now - retention_days * DAY,)).rowcount
    return removed


def spellings(email: str) -> list[str]:
    """How an email appears in a body: as is in JSON, %-encoded in a form (ThriveCart)."""
    email = email.strip().lower()
    return sorted({email, quote(email, safe="").lower()})


def erase(conn: sqlite3.Connection, email: str) -> int:
    """Deliveries naming a person who asked to be erased (their order, their address) go too."""
    return sum(conn.execute("DELETE FROM hooks WHERE instr(lower(CAST(body AS TEXT)), ?) > 0",
                            (spelling,)).rowcount for spelling in spellings(email))
