"""What a connector gets: its source, secret, HTTP options, progress, and its cursor.

The one rule that makes a sync resumable: :meth:`SyncContext.commit` writes a
page of data and the cursor that follows it in ONE transaction. A crash or a
cancel between pages leaves the cursor pointing just after the last page
stored, so the next run continues there and never stores a page twice.

A connector fetches on its own thread and touches the database only inside
``commit`` (or ``write`` for a step without a cursor): in the app those run on
the one writer thread, so a slow vendor never holds up a merge (sync/writer.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import orjson

from ..core.progress import Cancelled, Progress
from ..core.store import Workspace
from ..core.timeutil import now_ts
from .http import ApiClient, HttpOptions, RateLimit
from .sources import Source
from .writer import Write, direct

CURSOR_SQL = (
    "INSERT INTO sync_state(source, cursor, updated_at) VALUES (?, ?, ?) "
    "ON CONFLICT(source) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at"
)


def load_cursor(conn, name: str) -> dict:
    row = conn.execute("SELECT cursor FROM sync_state WHERE source = ?", (name,)).fetchone()
    return orjson.loads(row[0]) if row and row[0] else {}


@dataclass
class SyncContext:
    ws: Workspace
    source: Source
    secret: str | None
    progress: Progress
    options: HttpOptions
    cursor: dict = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)  # fetched / written, shown while running
    changed: dict[str, int] = field(default_factory=dict)  # rows actually inserted or modified
    notes: list[str] = field(default_factory=list)
    pages: int = 0
    clients: list[ApiClient] = field(default_factory=list)
    write: Write | None = None  # runs fn(ws) where the workspace's connection lives

    def __post_init__(self) -> None:
        if self.write is None:
            self.write = direct(self.ws)

    @property
    def origin(self) -> str:
        return self.source.origin

    def client(self, base_url: str, *, headers: dict | None = None,
               rate: RateLimit | tuple[RateLimit, ...] | None = None, **limits) -> ApiClient:
        """``limits``: ApiClient's auth_words, window (the documented rate window) and forbidden (403 wording)."""
        base = self.source.config.get("base_url") or base_url
        client = ApiClient(self.source.vendor, base, kind=self.source.kind, headers=headers, rate=rate,
                           options=self.options, cancelled=self.progress.cancelled, **limits)
        self.clients.append(client)
        return client

    def check(self) -> None:
        """Called between pages: stop here when the user cancelled (what is committed stays)."""
        if self.progress.cancelled():
            raise Cancelled("cancelled")

    def commit(self, cursor: dict, write: Callable | None = None):
        """Store ``write(conn)``'s rows and the new cursor atomically (on the writer)."""
        cursor_json = orjson.dumps(cursor).decode()

        def store(ws: Workspace):
            conn = ws.conn
            with conn:
                # The cursor goes first: it opens the transaction, so writers that
                # commit through `with conn` themselves (core.importing.events) commit it too.
                conn.execute(CURSOR_SQL, (self.source.name, cursor_json, now_ts()))
                return write(conn) if write is not None else None

        result = self.write(store)
        self.cursor = cursor
        self.pages += 1
        return result

    def count(self, status: str | None = None, fraction: float | None = None, **counts: int) -> None:
        for key, n in counts.items():
            self.counts[key] = self.counts.get(key, 0) + n
        self.progress.update(status, fraction, **self.counts)

    def add_changed(self, **changed: int) -> None:
        for key, n in changed.items():
            if n:
                self.changed[key] = self.changed.get(key, 0) + n

    def close(self) -> None:
        for client in self.clients:
            client.close()

    @property
    def requests(self) -> int:
        return sum(c.requests for c in self.clients)

    @property
    def retries(self) -> int:
        return sum(c.retries for c in self.clients)
