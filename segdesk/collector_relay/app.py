"""Assembling the relay's ASGI app.

No middleware on purpose: each Starlette middleware layer costs every request
a noticeable share of the throughput budget, and CORS is answered by the
handlers themselves (they know which endpoints allow credentials).

Ingest POSTs, nearly all of the traffic, skip Starlette's router and request
objects altogether (`FastIngest`): the same handlers, called with a RawRequest
built from the ASGI scope. Everything else goes through Starlette as usual.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route

from segdesk.collector_relay.buffer import Buffer, BufferUnavailable
from segdesk.collector_relay import hook_sources
from segdesk.collector_relay.config import RelayConfig
from segdesk.collector_relay.hooks import Hooks
from segdesk.collector_relay.ingest import INGEST_PATHS, Ingest
from segdesk.collector_relay.pull import Pull
from segdesk.collector_relay.script import PixelScript
from segdesk.collector_relay.web import HTTPError, RawRequest, error_response, preflight

log = logging.getLogger("segdesk.relay")


class FastIngest:
    """ASGI front door: ingest POSTs straight to their handler, the rest to Starlette."""

    def __init__(self, app: Starlette, ingest: Ingest) -> None:
        self.app = app
        self.state = app.state
        self.router = app.router
        self._routes = {path: ingest.endpoint(kind) for path, kind in INGEST_PATHS.items()}

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            handler = self._routes.get(scope["path"])
            if handler is not None:
                try:
                    response = await handler(RawRequest(scope, receive))
                except ClientDisconnect:
                    return  # nobody is left to answer
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)



# Here, not in buffer.py: the two implementations import buffer.py's interface.
def open_buffer(config) -> Buffer:
    """The buffer the settings choose. psycopg loads only for a database URL,
    so a relay on SQLite installs and runs without it."""
    if config.database_url:
        try:
            from segdesk.collector_relay.buffer_pg import PostgresBuffer
        except ImportError as exc:
            from segdesk.collector_relay.config import ConfigError

            raise ConfigError(f"a database URL needs psycopg ({exc.name} is missing): "
                              "pip install 'segdesk-relay[postgres]'") from None
        return PostgresBuffer(config.database_url)
    from segdesk.collector_relay.buffer_sqlite import SQLiteBuffer

    return SQLiteBuffer(config.buffer_path, config.synchronous)


def create_app(config: RelayConfig, buffer: Buffer | None = None,
               hooks: dict[str, hook_sources.HookSource] | None = None) -> FastIngest:
    """The relay as an ASGI app. The buffer is opened and its writer started
    by the app's lifespan unless one is passed in (tests, embedding); the
    webhook sources are the data folder's and the environment's unless given."""
    owns_buffer = buffer is None
    buffer = buffer or open_buffer(config)
    ingest = Ingest(config, buffer)
    pull = Pull(config, buffer)
    webhooks = Hooks(config, buffer, hook_sources.load(config.data_dir) if hooks is None else hooks, pull)
    pull.extra_stats = webhooks.stats
    script = PixelScript(credentials=bool(config.allowed_origins))

    async def options(request: Request) -> Response:
        return preflight(config, request)

    async def unavailable(request: Request, exc: BufferUnavailable) -> Response:
        # The pull API's answer while the database is away (ingest answers
        # its own 503): the app retries later and nothing is lost.
        return error_response(HTTPError(503, str(exc), {"Retry-After": "5"}))

    async def purge_periodically() -> None:
        while True:
            try:
                removed = await pull.purge()
                if removed:
                    log.info("purged %d events", removed)
            except Exception:  # keep purging later; a failed purge loses nothing
                log.exception("purge failed")
            await asyncio.sleep(config.purge_interval_seconds)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        if owns_buffer:
            buffer.start()
        task = asyncio.create_task(purge_periodically())
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            if owns_buffer:
                buffer.stop()

    public = [*INGEST_PATHS, "/v1/p.gif", "/v1/id", "/p.js"]
    routes = [
        *[Route(path, ingest.endpoint(kind), methods=["POST"]) for path, kind in INGEST_PATHS.items()],
        Route("/v1/p.gif", ingest.pixel_gif, methods=["GET"]),
        Route("/v1/id", ingest.visitor_id, methods=["GET"]),
        Route("/p.js", script.serve, methods=["GET"]),
        Route("/v1/events", pull.events, methods=["GET"]),
        Route("/v1/ack", pull.ack, methods=["POST"]),
        Route("/v1/erase", pull.erase, methods=["POST"]),
        Route("/healthz", pull.healthz, methods=["GET"]),
        Route("/v1/hooks/{name}", webhooks.receive, methods=["POST", "HEAD"]),
        Route("/v1/webhooks", webhooks.page, methods=["GET"]),
        Route("/v1/webhooks/ack", webhooks.ack, methods=["POST"]),
        *[Route(path, options, methods=["OPTIONS"]) for path in public],
    ]
    app = Starlette(routes=routes, lifespan=lifespan,
                    exception_handlers={BufferUnavailable: unavailable})
    app.state.buffer = buffer
    app.state.config = config
    return FastIngest(app, ingest)
