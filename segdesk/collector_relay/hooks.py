"""Webhooks from checkout and payment vendors: ``POST /v1/hooks/<source>``, and the app's pull of them.

A delivery is verified by its vendor's own scheme (hook_verify.py), stored
durably with the same promise as events (a 2xx only after the commit), and
stored once however often it is replayed (its delivery key is unique). What
is refused is counted by reason and shown in ``/healthz`` under ``webhooks``
(counted since the relay started; a refusal writes nothing, so a flood of
forgeries cannot fill the disk), beside the deliveries kept and the replays
answered without storing, counted over the same span, so the app can say in
plain words whether a vendor's webhooks arrive at all.

The app pulls with the pull token, like events, through two paths that no
source name can take (sources live under ``/v1/hooks/``):
``GET /v1/webhooks?after=<seq>&limit=<n>`` and ``POST /v1/webhooks/ack {"upto": <seq>}``.
"""

from __future__ import annotations

import asyncio
import base64
import threading
from datetime import datetime, timezone

import orjson
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from segdesk.collector_relay.buffer import Buffer, HookRow
from segdesk.collector_relay.config import RelayConfig
from segdesk.collector_relay.events import iso
from segdesk.collector_relay.hook_sources import HookSource
from segdesk.collector_relay.hook_verify import delivery_key, verify
from segdesk.collector_relay.pull import Pull, _int_param, _json_object
from segdesk.collector_relay.web import HTTPError, error_response, json_response, read_body

# The headers the app reads (topic, shop, ids); signatures and the rest are not kept.
KEEP_HEADERS = ("content-type", "x-shopify-topic", "x-shopify-shop-domain", "x-shopify-webhook-id",
                "x-shopify-event-id", "x-shopify-triggered-at", "x-wc-webhook-topic", "x-wc-webhook-resource",
                "x-wc-webhook-event", "x-wc-webhook-id", "x-wc-webhook-delivery-id", "x-wc-webhook-source")
DEFAULT_LIMIT = 500
MAX_LIMIT = 1000


class Hooks:
    def __init__(self, config: RelayConfig, buffer: Buffer, sources: dict[str, HookSource],
                 pull: Pull) -> None:
        self.config = config
        self.buffer = buffer
        self.sources = sources
        self.pull = pull
        self._lock = threading.Lock()
        self.rejected: dict[str, int] = {}
        self.kept = self.duplicates = 0
        self.started = iso(datetime.now(timezone.utc))

    def _refuse(self, reason: str, words: str) -> Response:
        with self._lock:
            self.rejected[reason] = self.rejected.get(reason, 0) + 1
        return error_response(HTTPError(401, words))

    async def receive(self, request: Request) -> Response:
        source = self.sources.get(request.path_params["name"])
        if source is None:
            return self._refuse("unknown_source", "no webhook source of that name on this relay")
        if request.method == "HEAD":  # ThriveCart checks a new URL this way
            return Response(status_code=200)
        try:
            body = await read_body(request, self.config.max_hook_body_bytes)
        except HTTPError as exc:
            return error_response(exc)
        except ClientDisconnect:
            return Response(status_code=400)
        headers = {k.lower(): v for k, v in request.headers.items()}
        verdict = verify(source, headers, body, dict(request.query_params))
        if not verdict.ok:
            return self._refuse(verdict.reason, f"webhook refused: {verdict.reason.replace('_', ' ')}")
        if verdict.ping:
            return json_response({"success": True, "ping": True})
        now = datetime.now(timezone.utc)
        kept = {name: headers[name] for name in KEEP_HEADERS if name in headers}
        row = HookRow(delivery_key(source, verdict, body), source.name, source.kind, iso(now),
                      now.timestamp(), orjson.dumps(kept), body)
        try:
            stored = await self.buffer.append_hook(row)
        except Exception as exc:  # not durable: the vendor must retry
            return error_response(HTTPError(503, f"buffer unavailable: {type(exc).__name__}",
                                            {"Retry-After": "5"}))
        with self._lock:
            if stored:
                self.kept += 1
            else:
                self.duplicates += 1
        return json_response({"success": True, "duplicate": not stored})

    # -- the app's pull ----------------------------------------------------------

    async def page(self, request: Request) -> Response:
        try:
            self.pull._authorize(request)
            after = _int_param(request, "after", 0, 0, 2**62)
            limit = _int_param(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
        except HTTPError as exc:
            return error_response(exc)
        rows, more = await asyncio.to_thread(self.buffer.hook_page, after, limit)
        items = [{"seq": seq, "key": key, "source": source, "kind": kind, "received_at": received_at,
                  "headers": orjson.loads(bytes(headers)), "body": base64.b64encode(bytes(body)).decode()}
                 for seq, key, source, kind, received_at, headers, body in rows]
        return json_response({"webhooks": items, "next": rows[-1][0] if rows else after, "more": more})

    async def ack(self, request: Request) -> Response:
        try:
            self.pull._authorize(request)
            upto = (await _json_object(request)).get("upto")
            if isinstance(upto, bool) or not isinstance(upto, int) or upto < 0:
                raise HTTPError(400, "upto must be a non-negative integer")
        except HTTPError as exc:
            return error_response(exc)
        return json_response({"ok": True, "acked_upto": await self.buffer.hook_ack(upto)})

    def stats(self) -> dict:
        """The ``webhooks`` part of /healthz."""
        upto, waiting = self.buffer.hook_counts()
        with self._lock:
            rejected, kept, duplicates = dict(self.rejected), self.kept, self.duplicates
        return {"sources": len(self.sources), "buffered": waiting, "acked_upto": upto, "kept": kept,
                "duplicates": duplicates, "rejected": rejected, "rejected_since": self.started}
