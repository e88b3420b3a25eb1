"""The relay's webhook deliveries: pull, keep each raw in the workspace, read it, then ack.

``GET /v1/webhooks?after=<seq>&limit=`` gives deliveries in ``seq`` order
(collector_relay/hooks.py). A page is stored together with the cursor
``hooks_after`` in one transaction: each delivery goes into ``webhooks`` once
(its relay key is unique per origin) and is read into orders, refunds and
subscriptions by its vendor's parser (sync/webhooks/) in the same
transaction, inside a savepoint, so a parser that fails halfway leaves none
of its rows. Only after the commit is the page acked.

A delivery that cannot be read is kept with its reason (status ``failed``),
reported in one line, and read again by every later sync. A relay from before
webhooks answers 404: said once in the source's notes, not an error.
"""

from __future__ import annotations

import base64
import binascii

import orjson

from ..context import SyncContext
from ..http import ApiError
from .. import webhooks  # its apply() read at call time: the parsers import connectors back
from ..webhooks.delivery import Delivery, Unreadable

PAGE = 500
INSERT_SQL = ("INSERT OR IGNORE INTO webhooks(origin, delivery_key, seq, source, kind, received_at, headers, body)"
              " VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
OLD_RELAY = "the relay takes no webhooks yet (an older version); update it to receive them"


def sync_webhooks(ctx: SyncContext, client) -> None:
    after = int(ctx.cursor.get("hooks_after", 0))
    ctx.write(lambda ws: _read_kept(ctx, ws.conn))
    while True:
        ctx.check()
        response = client.request("GET", "/v1/webhooks", params={"after": after, "limit": PAGE}, allow=(404,))
        if response.status_code == 404:
            ctx.notes.append(OLD_RELAY)
            return
        body = client.json(response)
        items = [h for h in body.get("webhooks") or [] if isinstance(h, dict)]
        nxt = int(body.get("next", after))
        more = bool(body.get("more")) and bool(items)
        if items:
            ctx.commit({**ctx.cursor, "hooks_after": nxt}, lambda conn, items=items: _store(ctx, conn, items))
            ctx.count("webhooks", None if more else 0.98, webhooks=len(items))
        if nxt > 0:  # also with nothing new: a sync that stopped before its ack is covered now
            try:
                client.post_json("/v1/webhooks/ack", json={"upto": nxt})
            except ApiError as exc:
                raise ApiError(f"webhooks are stored but the relay did not take the acknowledgement ({exc}); "
                               "the next sync acknowledges them") from None
        after = nxt
        if not more:
            break
    ctx.write(lambda ws: _report_unread(ctx, ws.conn))


def _delivery(item: dict) -> tuple | None:
    try:
        body = base64.b64decode(item.get("body") or "", validate=True)
    except (binascii.Error, ValueError, TypeError):
        return None
    headers = item.get("headers") if isinstance(item.get("headers"), dict) else {}
    return (str(item.get("key") or ""), int(item.get("seq") or 0), str(item.get("source") or ""),
            str(item.get("kind") or ""), str(item.get("received_at") or ""), orjson.dumps(headers).decode(), body)


def _store(ctx: SyncContext, conn, items: list[dict]) -> None:
    fresh = []
    for item in items:
        row = _delivery(item)
        if row is None or not row[0]:
            ctx.notes.append(f"webhook #{item.get('seq')} from the relay is malformed; skipped")
            continue
        if conn.execute(INSERT_SQL, (ctx.origin, *row)).rowcount == 1:
            fresh.append(conn.execute("SELECT last_insert_rowid()").fetchone()[0])
    _read(ctx, conn, fresh)


def _read(ctx: SyncContext, conn, ids: list[int]) -> None:
    """Read stored deliveries into rows; each in a savepoint, so a failure writes nothing of it."""
    for row_id in ids:
        key, source, kind, received_at, headers, body = conn.execute(
            "SELECT delivery_key, source, kind, received_at, headers, body FROM webhooks WHERE id = ?",
            (row_id,)).fetchone()
        delivery = Delivery(key, source, kind, received_at, orjson.loads(headers), bytes(body))
        conn.execute("SAVEPOINT webhook")
        try:
            read, changed = webhooks.apply(conn, delivery)
        except Exception as exc:  # any shape a vendor may send: kept, reported, read again later
            conn.execute("ROLLBACK TO webhook")
            status, error = "failed", (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]
            if not isinstance(exc, Unreadable):  # an unforeseen shape names its kind
                error = f"{type(exc).__name__}: {error}"
        else:
            status, error = ("parsed" if read else "ignored"), None
            ctx.add_changed(**changed)
        conn.execute("RELEASE webhook")
        conn.execute("UPDATE webhooks SET status = ?, error = ? WHERE id = ?", (status, error, row_id))


def _read_kept(ctx: SyncContext, conn) -> None:
    """Deliveries kept unread by an earlier sync get another reading (a fixed parser, a fixed currency)."""
    ids = [i for (i,) in conn.execute("SELECT id FROM webhooks WHERE origin = ? AND status IN ('new', 'failed')"
                                      " ORDER BY id", (ctx.origin,))]
    if ids:
        with conn:
            if not conn.in_transaction:
                conn.execute("BEGIN")  # the savepoints nest inside one transaction
            _read(ctx, conn, ids)


def _report_unread(ctx: SyncContext, conn) -> None:
    rows = conn.execute("SELECT kind, received_at, error FROM webhooks WHERE origin = ? AND status = 'failed'"
                        " ORDER BY id", (ctx.origin,)).fetchall()
    if rows:
        kind, received, error = rows[0]
        more = f" (and {len(rows) - 1} more)" if len(rows) > 1 else ""
        ctx.notes.append(f"{len(rows)} webhook(s) kept but not read{more}: {kind} received {received}: {error}")
