"""Group commit: ingest requests hand their rows to one writer thread and
await the commit; the writer takes everything posted since its last commit
into one transaction. Shared by both buffers (buffer_sqlite.py, buffer_pg.py).
"""

from __future__ import annotations

import asyncio
import threading

from segdesk.collector_relay.buffer import FILTERED


class Mailbox:
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


async def post_append(mailbox: Mailbox, rows: list, filtered: dict | None) -> None:
    """Queue one request's rows and wait for the writer's commit."""
    loop = asyncio.get_running_loop()
    future = loop.create_future()
    mailbox.put(("append", [(rows, filtered, future)], None, loop))
    await future


def merge_appends(appends: list) -> tuple[list, list, dict[str, int]]:
    """The queued appends as one group: (entries to answer, all rows, filtered
    counts by counter name)."""
    entries = [(entry, loop) for _, pending, _, loop in appends for entry in pending]
    rows = [row for (batch, _, _), _ in entries for row in batch]
    counts: dict[str, int] = {}
    for (_, filtered, _), _ in entries:
        for reason, n in (filtered or {}).items():
            counts[FILTERED + reason] = counts.get(FILTERED + reason, 0) + n
    return entries, rows, counts


def answers(entries: list, error: BaseException | None) -> list[tuple]:
    return [(future, loop, None, error) for (_, _, future), loop in entries]


def resolve(results: list[tuple]) -> None:
    """Hand (future, loop, value, error) results back; one wake-up per event
    loop for the whole group, not one per request."""
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


def _set_results(items: list) -> None:
    for future, value, error in items:
        if future.done():  # the request was cancelled (client went away)
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)
