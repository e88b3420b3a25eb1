"""The private API the desktop app pulls with (Authorization: Bearer <pull token>)."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import Response

from segdesk.collector_relay.buffer import Buffer
from segdesk.collector_relay.config import RelayConfig, secret_matches
from segdesk.collector_relay.web import (
    HTTPError, bearer_token, error_response, json_response, parse_json, read_body,
)

DEFAULT_LIMIT = 1000
MAX_LIMIT = 10_000
_SMALL_BODY = 16 * 1024


class Pull:
    def __init__(self, config: RelayConfig, buffer: Buffer) -> None:
        self.config = config
        self.buffer = buffer
        self.extra_stats = None  # the webhooks' part of /healthz (hooks.py), when mounted

    def _authorize(self, request: Request) -> None:
        if not secret_matches(bearer_token(request), self.config.pull_token_hash):
            raise HTTPError(401, "missing or wrong pull token", {"WWW-Authenticate": "Bearer"})

    async def events(self, request: Request) -> Response:
        try:
            self._authorize(request)
            after = _int_param(request, "after", 0, 0, 2**62)
            limit = _int_param(request, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
        except HTTPError as exc:
            return error_response(exc)
        rows, more = await asyncio.to_thread(self.buffer.page, after, limit)
        # Stored bodies are already JSON: splice them in instead of parsing
        # and re-serialising a million events.
        parts = [b'{"seq":%d,"received_at":"%s","event":%s}' % (seq, received_at.encode(), body)
                 for seq, received_at, body in rows]
        last = rows[-1][0] if rows else after
        content = b'{"events":[' + b",".join(parts) + b'],"next":%d,"more":%s}' % (
            last, b"true" if more else b"false")
        return Response(content, media_type="application/json")

    async def ack(self, request: Request) -> Response:
        try:
            self._authorize(request)
            payload = await _json_object(request)
            upto = payload.get("upto")
            if isinstance(upto, bool) or not isinstance(upto, int) or upto < 0:
                raise HTTPError(400, "upto must be a non-negative integer")
        except HTTPError as exc:
            return error_response(exc)
        acked = await self.buffer.ack(upto)
        purged = await self.purge()
        return json_response({"ok": True, "acked_upto": acked, "purged": purged})

    async def erase(self, request: Request) -> Response:
        try:
            self._authorize(request)
            payload = await _json_object(request)
            email, anonymous_id = payload.get("email"), payload.get("anonymousId")
            if not isinstance(email, str) and not isinstance(anonymous_id, str):
                raise HTTPError(400, "give email or anonymousId as a string")
        except HTTPError as exc:
            return error_response(exc)
        email = email.strip().lower() if isinstance(email, str) else None
        anonymous_id = anonymous_id if isinstance(anonymous_id, str) else None
        erased = await self.buffer.erase(email=email, anonymous_id=anonymous_id)
        return json_response({"ok": True, "erased": erased})

    async def healthz(self, request: Request) -> Response:
        try:
            self._authorize(request)
        except HTTPError as exc:
            return error_response(exc)
        info = await asyncio.to_thread(
            self.buffer.stats, self.config.retention_days, self.config.retention_warning_days)
        if self.extra_stats is not None:
            info["webhooks"] = await asyncio.to_thread(self.extra_stats)
        return json_response(info, headers={"Cache-Control": "no-store"})

    async def purge(self) -> int:
        return await self.buffer.purge(self.config.ack_grace_days, self.config.retention_days)


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
        raise HTTPError(400, f"{name} must be an integer from {low} to {high}")
    return int(raw)


async def _json_object(request: Request) -> dict:
    payload = parse_json(await read_body(request, _SMALL_BODY))
    if not isinstance(payload, dict):
        raise HTTPError(400, "body must be a JSON object")
    return payload
