"""Acks, purging and erasure on the SQLite buffer: the operations that remove
events. Each runs on the writer thread through SQLiteBuffer.call(), in its own
transaction; buffer_pg.py keeps the same rules in PostgreSQL's SQL."""

from __future__ import annotations

import sqlite3
import time

DAY = 86400.0


def _acked_upto(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT coalesce(max(upto), 0) FROM acks").fetchone()[0]


def ack(conn: sqlite3.Connection, upto: int, now: float | None = None) -> int:
    """Record that the app holds everything up to `upto` (clamped to what exists,
    so acking ahead can never purge events that have not been pulled)."""
    top = conn.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0]
    upto = min(upto, max(top, _acked_upto(conn)))
    if upto > _acked_upto(conn):
        conn.execute("INSERT INTO acks(upto, acked_ts) VALUES (?, ?)", (upto, now or time.time()))
    return _acked_upto(conn)


def purge(conn: sqlite3.Connection, grace_days: float, retention_days: float,
          now: float | None = None) -> int:
    """Drop acked events past their grace period and un-pulled ones past retention."""
    now = time.time() if now is None else now
    removed = 0
    upto = conn.execute(
        "SELECT max(upto) FROM acks WHERE acked_ts <= ?", (now - grace_days * DAY,)
    ).fetchone()[0]
    if upto:
        removed += conn.execute("DELETE FROM events WHERE seq <= ?", (upto,)).rowcount
        # Keep the newest ack row so acked_upto survives an emptied buffer.
        conn.execute("DELETE FROM acks WHERE upto < ?", (upto,))
    cutoff = now - retention_days * DAY
    oldest = conn.execute("SELECT received_ts FROM events ORDER BY seq LIMIT 1").fetchone()
    # The scan only runs when something is actually overdue, which means the
    # app has not synced for months; normally this is one indexed lookup.
    if oldest and oldest[0] < cutoff:
        removed += conn.execute("DELETE FROM events WHERE received_ts < ?", (cutoff,)).rowcount
    return removed


def erase(conn: sqlite3.Connection, email: str | None = None,
          anonymous_id: str | None = None) -> int:
    """Delete a person's buffered events.

    By email: every event carrying that email, and every event of the
    anonymousIds and userIds those events named (the person's devices).
    By anonymousId: every event of that device.
    """
    anon_ids: set[str] = set()
    user_ids: set[str] = set()
    seqs: set[int] = set()
    if email:
        for seq, anon, user in conn.execute(
            "SELECT seq, anonymous_id, user_id FROM events WHERE email = ?", (email,)
        ):
            seqs.add(seq)
            if anon:
                anon_ids.add(anon)
            if user:
                user_ids.add(user)
    if anonymous_id:
        anon_ids.add(anonymous_id)
    removed = 0
    for seq in seqs:
        removed += conn.execute("DELETE FROM events WHERE seq = ?", (seq,)).rowcount
    for anon in anon_ids:
        removed += conn.execute("DELETE FROM events WHERE anonymous_id = ?", (anon,)).rowcount
    for user in user_ids:
        removed += conn.execute("DELETE FROM events WHERE user_id = ?", (user,)).rowcount
    return removed
