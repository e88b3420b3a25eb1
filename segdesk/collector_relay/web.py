"""HTTP plumbing shared by the public and private endpoints: errors as one-line
JSON, CORS, the body size limit, secrets from headers and the client address."""

from __future__ import annotations

import base64
import binascii
import zlib
from typing import NamedTuple

import orjson
from starlette.requests import ClientDisconnect, Request, cookie_parser
from starlette.responses import Response

from segdesk.collector_relay.config import RelayConfig

JSON = "application/json"


class Address(NamedTuple):
    host: str
    port: int


class RawRequest:
    """The part of Starlette's Request the ingest path uses, built straight from
    the ASGI scope: headers become one dict instead of a list scanned on every
    lookup. Ingest is the hot path; see app.py."""

    __slots__ = ("scope", "_receive", "headers")

    def __init__(self, scope: dict, receive) -> None:
        self.scope = scope
        self._receive = receive
        # ASGI servers lower-case header names; a repeated header keeps its
        # last value, which is the right one for X-Forwarded-For.
        self.headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}

    @property
    def client(self) -> Address | None:
        client = self.scope.get("client")
        return Address(*client) if client else None

    @property
    def cookies(self) -> dict[str, str]:
        return cookie_parser(self.headers.get("cookie", ""))

    async def read_limited(self, limit: int) -> bytes:
        """The whole body, or HTTPError 413 past `limit` bytes. Small bodies
        come in one ASGI message, so this is usually a single await."""
        chunks, size = [], 0
        while True:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                raise ClientDisconnect()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise HTTPError(413, f"body is larger than {limit // 1024} KiB")
            if not message.get("more_body", False):
                return b"".join(chunks) + chunk if chunks else chunk
            chunks.append(chunk)

    async def stream(self):
        while True:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                raise ClientDisconnect()
            yield message.get("body", b"")
            if not message.get("more_body", False):
                return


class HTTPError(Exception):
    def __init__(self, status: int, reason: str, headers: dict | None = None) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.headers = headers or {}


def json_response(payload, status: int = 200, headers: dict | None = None) -> Response:
    return Response(orjson.dumps(payload), status_code=status, headers=headers, media_type=JSON)


def error_response(exc: HTTPError, headers: dict | None = None) -> Response:
    merged = dict(headers or {})
    merged.update(exc.headers)
    return json_response({"success": False, "error": exc.reason}, exc.status, merged)


def _origin_allowed(origin: str, allowed: list[str]) -> bool:
    for pattern in allowed:
        if pattern == origin:
            return True
        # "https://*.example.com" admits every subdomain of example.com.
        scheme, sep, rest = pattern.partition("://*.")
        if sep and origin.startswith(scheme + "://") and origin.endswith("." + rest):
            return True
    return False


def cors_headers(config: RelayConfig, request: Request) -> dict:
    """CORS headers for this request's Origin; HTTPError 403 for a foreign site.

    With configured site origins the allowed one is echoed with credentials
    (a credentialed request may not be answered with `*`); without any, every
    site may send but none may send credentials.
    """
    origin = request.headers.get("origin")
    if not origin:
        return {}
    if not config.allowed_origins:
        return {"Access-Control-Allow-Origin": "*"}
    if _origin_allowed(origin.rstrip("/"), config.allowed_origins):
        return {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Credentials": "true",
            "Vary": "Origin",
        }
    raise HTTPError(403, f"origin {origin[:100]} is not an allowed site origin")


def preflight(config: RelayConfig, request: Request) -> Response:
    try:
        headers = cors_headers(config, request)
    except HTTPError as exc:
        return error_response(exc)
    asked = request.headers.get("access-control-request-headers", "")
    headers.update({
        "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
        "Access-Control-Allow-Headers": asked[:500] or "Content-Type, Authorization",
        "Access-Control-Max-Age": "86400",
    })
    return Response(status_code=204, headers=headers)


async def read_body(request: Request, limit: int) -> bytes:
    length = request.headers.get("content-length", "")
    if length.isascii() and length.isdigit() and int(length) > limit:
        raise HTTPError(413, f"body is larger than {limit // 1024} KiB")
    body = await request.read_limited(limit) if isinstance(request, RawRequest) else None
    if body is None:
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise HTTPError(413, f"body is larger than {limit // 1024} KiB")
            chunks.append(chunk)
        body = b"".join(chunks)
    encoding = request.headers.get("content-encoding", "identity").strip().lower()
    if encoding in ("gzip", "deflate"):
        # Bounded inflation: a small zip bomb must not become a big allocation.
        inflater = zlib.decompressobj(wbits=47)  # 32+15: gzip or zlib header
        try:
            body = inflater.decompress(body, limit + 1)
        except zlib.error:
            raise HTTPError(400, f"body is not valid {encoding}") from None
        if len(body) > limit or inflater.unconsumed_tail:
            raise HTTPError(413, f"body is larger than {limit // 1024} KiB once inflated")
    elif encoding not in ("identity", ""):
        raise HTTPError(415, f"content-encoding {encoding[:40]} is not supported")
    return body


def parse_json(body: bytes) -> object:
    if not body.strip():
        raise HTTPError(400, "body is empty; expected JSON")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        reason = str(exc).splitlines()[0] if str(exc) else "invalid JSON"
        raise HTTPError(400, f"malformed JSON: {reason}"[:300]) from None


def basic_username(request: Request) -> str | None:
    """The write key as Segment libraries send it: HTTP Basic, key as user name."""
    auth = request.headers.get("authorization")
    if not auth or not auth[:6].lower() == "basic ":
        return None
    try:
        decoded = base64.b64decode(auth[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    return decoded.partition(":")[0] or None


def bearer_token(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth[:7].lower() != "bearer ":
        return None
    return auth[7:].strip() or None


def client_ip(config: RelayConfig, request: Request) -> str | None:
    if config.trust_proxy:
        forwarded = request.headers.get("x-forwarded-for", "")
        # Our proxy appends the address it saw; anything left of it is what
        # the client claimed, which anyone can forge.
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return hops[-1]
    client = request.client
    return client.host if client else None
