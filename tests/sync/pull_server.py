"""A relay's pull API on a real loopback port, serving a fixed page, that can be told to hold its answer.

Shaped like ``collector_relay/pull.py``: ``GET /v1/events?after=&limit=`` answers
``{"events": [{"seq", "event"}], "next", "more"}`` with the bearer token checked;
``POST /v1/ack`` and ``POST /v1/erase`` answer as the relay does. Acks purge
nothing, so two workspaces can pull the same events. ``hold()`` makes the next
answers wait until ``release()`` (a slow API); ``asked`` is set once a pull
has arrived.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

TOKEN = "pull-token-for-tests"
HOLD_AT_MOST_S = 60  # a forgotten release() must not hang the suite


class PullServer:
    def __init__(self, events: list[dict]):
        self.events = events
        self.asked = threading.Event()
        self._open = threading.Event()
        self._open.set()
        self.erased: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _answer(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _authorized(self) -> bool:
                if self.headers.get("Authorization") == f"Bearer {TOKEN}":
                    return True
                self._answer(401, {"error": "unauthorized"})
                return False

            def do_GET(self) -> None:
                url = urlparse(self.path)
                if url.path != "/v1/events":
                    return self._answer(404, {"error": "not found"})
                if not self._authorized():
                    return None
                server.asked.set()
                server._open.wait(HOLD_AT_MOST_S)
                after = int(parse_qs(url.query).get("after", ["0"])[0])
                page = [{"seq": i + 1, "event": e} for i, e in enumerate(server.events) if i + 1 > after]
                return self._answer(200, {"events": page, "next": page[-1]["seq"] if page else after,
                                          "more": False})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                if not self._authorized():
                    return None
                if self.path == "/v1/ack":
                    return self._answer(200, {"ok": True, "acked_upto": body.get("upto", 0), "purged": 0})
                if self.path == "/v1/erase":
                    server.erased.append(body.get("email"))
                    return self._answer(200, {"ok": True, "erased": 0})
                return self._answer(404, {"error": "not found"})

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def hold(self) -> None:
        self._open.clear()

    def release(self) -> None:
        self._open.set()


@contextlib.contextmanager
def pull_server(events: list[dict]) -> Iterator[PullServer]:
    server = PullServer(events)
    thread = threading.Thread(target=server._httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.release()
        server._httpd.shutdown()
        server._httpd.server_close()
