"""The relay's pull API (docs/SPEC.md §2): pull pages, store each with its cursor, then ack.

Events first, then the webhook deliveries (relay_hooks.py), each stream with its own cursor.

``GET /v1/events?after=<seq>&limit=5000`` gives events in ``seq`` order. A
page and ``cursor = next`` are committed together; only after that commit
does ``POST /v1/ack {"upto": next}`` tell the relay it may purge them. A crash
between the commit and the ack costs nothing: the next sync acks a later seq,
which covers the earlier one.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from ...core.importing.events import import_parsed
from ..context import SyncContext
from ..http import ApiError
from .relay_hooks import sync_webhooks

PAGE = 10_000  # the relay's largest page: fewer, bigger commits


def _headers(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def sync(ctx: SyncContext) -> None:
    client = ctx.client("", headers=_headers(ctx.secret), auth_words="the pull token")
    after = int(ctx.cursor.get("after", 0))
    ack_error = None

    def fetch(after: int) -> dict:
        return client.get_json("/v1/events", params={"after": after, "limit": PAGE})

    # The next page downloads and parses in a helper thread while this one
    # stores the current page (SQLite releases the GIL while it writes).
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="relay-prefetch") as pool:
        pending = pool.submit(fetch, after)
        while True:
            ctx.check()
            body = pending.result()
            events = body.get("events") or []
            nxt = int(body.get("next", after))
            more = bool(body.get("more")) and bool(events)
            if more:
                pending = pool.submit(fetch, nxt)
            if events:
                items = ((e.get("seq", i), e.get("event"), None) for i, e in enumerate(events))

                def write(conn, items=items, size=len(events)):
                    # One import batch per page (batch_size above the page size), so
                    # the events commit in the same transaction as the cursor.
                    return import_parsed(ctx.ws, items, origin=ctx.origin, batch_size=size + 1)

                result = ctx.commit({**ctx.cursor, "after": nxt}, write)
                ctx.add_changed(events=result.imported)
                # The relay does not say how many remain: while it has more, the share done is unknown.
                ctx.count("events", None if more else 0.95,
                          events=len(events), imported=result.imported, duplicates=result.duplicates,
                          rejected=result.rejected)
                for lineno, reason in result.errors[:3]:
                    ctx.notes.append(f"event #{lineno} rejected: {reason}")
            after = nxt
            if after > 0:
                try:
                    client.post_json("/v1/ack", json={"upto": after})
                except ApiError as exc:
                    ack_error = exc
            if not more:
                break
    # Webhooks after events: a sale's delivery then finds its buyer's page views already stored.
    sync_webhooks(ctx, client)
    if ack_error is not None:
        raise ApiError(f"events are stored but the relay did not take the acknowledgement ({ack_error}); "
                       "the next sync acknowledges them")
