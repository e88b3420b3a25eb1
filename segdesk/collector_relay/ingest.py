"""The public endpoints browsers and Segment libraries call."""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from datetime import datetime, timezone

import orjson
from starlette.requests import Request
from starlette.responses import Response

from segdesk.collector_relay.bots import BotFilter
from segdesk.collector_relay.buffer import Buffer
from segdesk.collector_relay.config import RelayConfig, secret_matches
from segdesk.collector_relay.events import TYPES, Invalid, iso, normalize
from segdesk.collector_relay.ratelimit import RateLimiter
from segdesk.collector_relay.web import (
    HTTPError, basic_username, client_ip, cors_headers, error_response, json_response,
    parse_json, read_body,
)

COOKIE = "sd_vid"
COOKIE_MAX_AGE = 365 * 86400
_COOKIE_VALUE = re.compile(r"^[A-Za-z0-9._\-]{1,128}$")
# The smallest transparent GIF (1x1), for <img> clients without JavaScript.
GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
_OK = orjson.dumps({"success": True})
_OK_HEADERS = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(_OK))]
_PAGE_PARAMS = ("url", "referrer", "path", "title", "search")
_CAMPAIGN_PARAMS = ("source", "medium", "term", "content")  # utm_campaign is the name
# Every ingest path and the event type it takes (None: a batch). Besides the
# long names, the one-letter paths analytics.js 2.0 posts to: its Segment.io
# plugin sends each event to `${protocol}://${apiHost}/${type.charAt(0)}` and
# batches to `/b` (segmentio/analytics-next, packages/browser/src/plugins/
# segmentio/index.ts and batched-dispatcher.ts), with apiHost "api.segment.io/v1".
INGEST_PATHS: dict[str, str | None] = {
    "/v1/batch": None, "/v1/b": None,
    **{f"/v1/{kind}": kind for kind in sorted(TYPES)},
    **{f"/v1/{kind[0]}": kind for kind in sorted(TYPES)},
}
_EVENT_PARAMS = ("type", "anonymousId", "userId", "messageId", "event", "timestamp",
                 "name", "previousId", "groupId")


class Accepted:
    """The hot path's 200 answer as two raw ASGI messages; a Starlette
    Response would rebuild the same fixed headers for every request."""

    __slots__ = ("raw_headers",)

    def __init__(self, headers: dict) -> None:
        self.raw_headers = _OK_HEADERS + [(k.lower().encode("latin-1"), v.encode("latin-1"))
                                          for k, v in headers.items()]

    async def __call__(self, scope, receive, send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": _OK})


class Ingest:
    def __init__(self, config: RelayConfig, buffer: Buffer) -> None:
        self.config = config
        self.buffer = buffer
        self.bots = BotFilter()
        self.limiter = RateLimiter(config.rate_per_second, config.rate_burst)
        self._good_keys: set[str] = set()

    # -- endpoints -------------------------------------------------------------

    def endpoint(self, kind: str | None):
        """The POST handler for one event type (None: a batch)."""
        async def post(request: Request) -> Response:
            return await self._post(request, kind)
        return post

    async def pixel_gif(self, request: Request) -> Response:
        cors: dict = {}
        try:
            cors = cors_headers(self.config, request)
            self._check_rate(request)
            params = request.query_params
            key = basic_username(request) or params.get("writeKey")
            self._check_write_key(key)
            event = _event_from_query(params)
            cookie_id = self._cookie_id(request)
            if not event.get("anonymousId") and not event.get("userId"):
                # A client without JavaScript cannot keep an id itself; the
                # relay's own cookie is its memory.
                event["anonymousId"] = cookie_id or str(uuid.uuid4())
            # The id as normalize() checked and stored it (a number becomes
            # text); the query's raw value may be of any JSON type.
            stored_id = await self._store(request, [event], None, None, pixel=True)
        except HTTPError as exc:
            return error_response(exc, cors)
        headers = {**cors, "Cache-Control": "no-store"}
        self._set_cookie(headers, request, stored_id)
        return Response(GIF, headers=headers, media_type="image/gif")

    async def visitor_id(self, request: Request) -> Response:
        """Lets the pixel restore the visitor id Safari deleted from its own cookie."""
        try:
            cors = cors_headers(self.config, request)
            self._check_rate(request)
        except HTTPError as exc:
            return error_response(exc)
        headers = {**cors, "Cache-Control": "no-store"}
        return json_response({"anonymousId": self._cookie_id(request)}, headers=headers)

    # -- the shared POST path --------------------------------------------------

    async def _post(self, request: Request, kind: str | None) -> Response:
        cors: dict = {}
        try:
            cors = cors_headers(self.config, request)
            self._check_rate(request)
            header_key = basic_username(request)
            if header_key is not None:
                self._check_write_key(header_key)
            body = await read_body(request, self.config.max_body_bytes)
            payload = parse_json(body)
            if not isinstance(payload, dict):
                raise HTTPError(400, "body must be a JSON object")
            if header_key is None:
                key = payload.get("writeKey")
                self._check_write_key(key if isinstance(key, str) else None)
            if kind is None:
                events = payload.get("batch")
                if not isinstance(events, list):
                    raise HTTPError(400, "batch must be a list of events")
                if len(events) > self.config.max_batch_events:
                    raise HTTPError(413, f"batch has {len(events)} events; at most "
                                         f"{self.config.max_batch_events} per request")
                sent_at = payload.get("sentAt")
            else:
                events, sent_at = [payload], None
            anonymous_id = await self._store(request, events, sent_at, kind)
        except HTTPError as exc:
            return error_response(exc, cors)
        headers = dict(cors)
        self._set_cookie(headers, request, anonymous_id)
        return Accepted(headers)

    async def _store(self, request: Request, events: list, sent_at, kind,
                     pixel: bool = False) -> str | None:
        """Validate, drop bots, store durably; return the first anonymousId seen."""
        received = datetime.now(timezone.utc)
        received_at = iso(received)  # once per request, not per event
        peer = client_ip(self.config, request)
        user_agent = request.headers.get("user-agent")
        # A browser sends Origin with every cross-site POST; p.gif is the pixel's own.
        from_browser = pixel or "origin" in request.headers
        rows, filtered, anonymous_id = [], {}, None
        for index, raw in enumerate(events):
            try:
                row = normalize(raw, received=received, peer_ip=peer,
                                anonymize=self.config.anonymize_ip,
                                batch_sent_at=sent_at, default_type=kind,
                                received_at=received_at)
            except Invalid as exc:
                where = f"event {index}: " if kind is None else ""
                raise HTTPError(400, f"{where}{exc}") from None
            reason = self.config.filter_bots and self.bots.reason(raw, user_agent, from_browser)
            if reason:
                filtered[reason] = filtered.get(reason, 0) + 1
                continue
            rows.append(row)
            anonymous_id = anonymous_id or row.anonymous_id
        if rows or filtered:
            try:
                await self.buffer.append(rows, filtered)
            except Exception as exc:  # disk full, I/O error: not durable, say so
                raise HTTPError(503, f"buffer unavailable: {type(exc).__name__}",
                                {"Retry-After": "5"}) from None
        return anonymous_id

    # -- checks and the visitor cookie -------------------------------------------

    def _check_rate(self, request: Request) -> None:
        client = client_ip(self.config, request) or "unknown"
        if not self.limiter.allow(client):
            retry = str(self.limiter.retry_after(client))
            raise HTTPError(429, "too many requests from this address; slow down",
                            {"Retry-After": retry})

    def _check_write_key(self, key: str | None) -> None:
        # Keys that matched once are remembered: the constant-time comparison
        # still guards every key not known to be right, and a hit tells a
        # caller nothing it did not send itself.
        if key in self._good_keys:
            return
        if not secret_matches(key, self.config.write_key_hash):
            raise HTTPError(401, "missing or wrong write key" if key else "missing write key")
        if len(self._good_keys) < 8:
            self._good_keys.add(key)

    @staticmethod
    def _cookie_id(request: Request) -> str | None:
        value = request.cookies.get(COOKIE)
        return value if value and _COOKIE_VALUE.match(value) else None

    def _set_cookie(self, headers: dict, request: Request, anonymous_id: str | None) -> None:
        # The first id the relay saw wins and is refreshed on every visit, so
        # the cookie lives 365 days from the last visit, not the first.
        value = self._cookie_id(request) or anonymous_id
        if not isinstance(value, str) or not _COOKIE_VALUE.match(value):
            return
        parts = [f"{COOKIE}={value}", f"Max-Age={COOKIE_MAX_AGE}", "Path=/"]
        if self.config.cookie_domain:
            parts.append(f"Domain={self.config.cookie_domain}")
        parts += ["HttpOnly", "Secure", "SameSite=Lax"]
        headers["Set-Cookie"] = "; ".join(parts)


def _event_from_query(params) -> dict:
    """One event from p.gif's query: Segment's `data=<base64 JSON>` or flat
    parameters (type, anonymousId, url, title, utm_source, ...)."""
    data = params.get("data")
    if data is not None:
        try:
            padded = data + "=" * (-len(data) % 4)
            event = orjson.loads(base64.urlsafe_b64decode(padded.replace("+", "-").replace("/", "_")))
        except (binascii.Error, ValueError):
            raise HTTPError(400, "data is not base64-encoded JSON") from None
        if not isinstance(event, dict):
            raise HTTPError(400, "data must encode a JSON object")
        return event
    event: dict = {"type": params.get("type", "page")}
    for key in _EVENT_PARAMS[1:]:
        if params.get(key):
            event[key] = params[key]
    page = {key: params[key] for key in _PAGE_PARAMS if params.get(key)}
    campaign = {key: params[f"utm_{key}"] for key in _CAMPAIGN_PARAMS if params.get(f"utm_{key}")}
    if params.get("utm_campaign"):
        campaign["name"] = params["utm_campaign"]
    context: dict = {}
    if page:
        context["page"] = page
    if campaign:
        context["campaign"] = campaign
    if context:
        event["context"] = context
    return event
