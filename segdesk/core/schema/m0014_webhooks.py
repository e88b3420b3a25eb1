"""Migration 0014: webhook deliveries pulled from the relay, kept raw (see the package docstring)."""

from __future__ import annotations

from .registry import migrations


@migrations(name="0014_webhooks")
def m0014_webhooks(db):
    """Every delivery as the vendor sent it, and what became of it.

    ``origin`` is the relay source that pulled it (``relay:<name>``) and
    ``delivery_key`` the relay's once-per-delivery key, so a page pulled twice
    (a crash before the ack) is stored once. ``status``: ``parsed`` (its orders,
    refunds or subscriptions are written), ``ignored`` (a topic SegDesk does not
    read, a test-mode sale) or ``failed`` with ``error``: kept, reported, and
    read again by every later sync, so a parser fixed by an upgrade picks it up.
    """
    db.executescript(
        """
        CREATE TABLE webhooks (
            id INTEGER PRIMARY KEY,
            origin TEXT NOT NULL,
            delivery_key TEXT NOT NULL,
            seq INTEGER NOT NULL,
            source TEXT NOT NULL,
            kind TEXT NOT NULL,
            received_at TEXT NOT NULL,
            headers TEXT NOT NULL,
            body BLOB NOT NULL,
            status TEXT NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'parsed', 'ignored', 'failed')),
            error TEXT,
            UNIQUE (origin, delivery_key)
        );
        CREATE INDEX webhooks_failed ON webhooks(id) WHERE status IN ('new', 'failed');
        """
    )
