"""The durable event buffer: what ingest and the pull API need from storage.

Two implementations keep the same promises (docs/relay.md "Durability"):
SQLite on the relay's own disk (buffer_sqlite.py, the default) and PostgreSQL
for relays without a lasting disk or several relays on one database
(buffer_pg.py, chosen by SEGDESK_RELAY_DATABASE_URL). The promises:

- append() returns only once the events are committed (ingest answers 2xx
  only then); a messageId already stored is ignored;
- page() serves events in `seq` order, each seq once, never skipping one
  that becomes visible later;
- ack / purge / erase remove events as housekeeping.py describes.
"""

from __future__ import annotations

import asyncio
import time
from abc import ABC, abstractmethod
from typing import NamedTuple

DAY = 86400.0
FILTERED = "filtered:"  # counters named filtered:<reason> count events not kept


class BufferUnavailable(Exception):
    """The store cannot be reached right now (a database restarting); the
    relay answers 503 with Retry-After and tries again on the next request."""


class Row(NamedTuple):
    """One validated event ready to store (body is its JSON)."""

    message_id: str
    received_at: str
    received_ts: float
    anonymous_id: str | None
    user_id: str | None
    email: str | None
    body: bytes


class HookRow(NamedTuple):
    """One verified webhook delivery ready to store (body exactly as the vendor sent it)."""

    delivery_key: str
    source: str
    kind: str
    received_at: str
    received_ts: float
    headers: bytes  # JSON of the few headers the app reads (topic, ids)
    body: bytes


HookPage = tuple[list[tuple[int, str, str, str, str, bytes, bytes]], bool]


class Buffer(ABC):
    """The interface; the *_sync methods serve the CLI, tests and worker
    threads, the async ones the event loop (by default on a worker thread)."""

    @abstractmethod
    def start(self) -> None: ...

    @abstractmethod
    def stop(self) -> None: ...

    @abstractmethod
    async def append(self, rows: list[Row], filtered: dict[str, int] | None = None) -> None:
        """Store rows durably and count the events not kept, by reason."""

    @abstractmethod
    def page(self, after: int, limit: int) -> tuple[list[tuple[int, str, bytes]], bool]:
        """Up to `limit` (seq, received_at, body) after `after`, and whether more wait."""

    @abstractmethod
    def counts(self) -> tuple[int, int, tuple[str, float] | None, dict[str, int]]:
        """(acked upto, events not acked, oldest such (received_at, ts), filtered by reason)."""

    @abstractmethod
    def ack_sync(self, upto: int, now: float | None = None) -> int: ...

    @abstractmethod
    def purge_sync(self, grace_days: float, retention_days: float,
                   now: float | None = None) -> int: ...

    @abstractmethod
    def erase_sync(self, email: str | None = None, anonymous_id: str | None = None) -> int: ...

    # -- webhooks (hooks.py): a second stream with its own seq and acks ------

    @abstractmethod
    async def append_hook(self, row: HookRow) -> bool:
        """Store a delivery durably; False when its delivery_key was stored before."""

    @abstractmethod
    def hook_page(self, after: int, limit: int) -> HookPage:
        """Up to `limit` (seq, delivery_key, source, kind, received_at, headers, body) after `after`."""

    @abstractmethod
    def hook_counts(self) -> tuple[int, int]:
        """(acked upto, deliveries not acked)."""

    @abstractmethod
    def hook_ack_sync(self, upto: int, now: float | None = None) -> int: ...

    async def hook_ack(self, upto: int) -> int:
        return await asyncio.to_thread(self.hook_ack_sync, upto)

    async def ack(self, upto: int) -> int:
        return await asyncio.to_thread(self.ack_sync, upto)

    async def purge(self, grace_days: float, retention_days: float) -> int:
        return await asyncio.to_thread(self.purge_sync, grace_days, retention_days)

    async def erase(self, email: str | None = None, anonymous_id: str | None = None) -> int:
        return await asyncio.to_thread(self.erase_sync, email, anonymous_id)

    def stats(self, retention_days: float, warning_days: float, now: float | None = None) -> dict:
        """/healthz: what waits to be pulled and what was filtered, with a
        warning when un-pulled events near the retention limit."""
        now = time.time() if now is None else now
        upto, buffered, oldest, filtered = self.counts()
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

