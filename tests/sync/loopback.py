"""A fake vendor served over real HTTP on 127.0.0.1, so headers, bodies and status lines cross a socket.

The connector keeps its real https base URL: :class:`ToLoopback` is an httpx
transport that sends each request to the loopback server instead (keeping
path, query, headers and body), which is how the tests reach it without
pointing a source at a plain-http address.
"""

from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx


class _Handler(BaseHTTPRequestHandler):
    fake = None  # set per server class

    def _serve(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        url = f"https://{self.headers.get('x-original-host', 'vendor.test')}{self.path}"
        request = httpx.Request(self.command, url, headers=list(self.headers.items()), content=body)
        response = self.fake.handle(request)
        response.read()
        self.send_response(response.status_code)
        for name, value in response.headers.items():
            if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                self.send_header(name, value)
        self.send_header("content-length", str(len(response.content)))
        self.end_headers()
        self.wfile.write(response.content)

    do_GET = do_POST = do_PUT = do_DELETE = _serve

    def log_message(self, *args) -> None:  # keep test output clean
        pass


class Loopback:
    """``with Loopback(fake) as transport:`` serves ``fake`` until the block ends."""

    def __init__(self, fake) -> None:
        handler = type("Handler", (_Handler,), {"fake": fake})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "ToLoopback":
        self.thread.start()
        return ToLoopback(self.server.server_address[1])

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


class ToLoopback(httpx.HTTPTransport):
    def __init__(self, port: int) -> None:
        super().__init__()
        self.port = port

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.headers["x-original-host"] = request.url.host
        request.url = request.url.copy_with(scheme="http", host="127.0.0.1", port=self.port)
        return super().handle_request(request)


class Hanging:
    """A vendor that accepts connections, reads each request and never answers (a stuck API, a captive
    network). ``asked`` is set at the first request; ``requests`` counts them."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.asked = threading.Event()
        self.requests = 0
        self.conns: list[socket.socket] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            conn.recv(65536)
            self.requests += 1
            self.asked.set()
            self.answer(conn)

    def answer(self, conn: socket.socket) -> None:
        """Nothing: the connection stays open and silent."""

    def close(self) -> None:
        self.sock.close()
        for c in self.conns:
            c.close()


class Trickling(Hanging):
    """A vendor that answers a big page slowly: headers at once, then ``chunks`` pieces ``gap`` seconds
    apart (each gap within the read timeout, the whole page longer than it)."""

    def __init__(self, body: bytes, chunks: int, gap: float) -> None:
        self.body, self.chunks, self.gap = body, chunks, gap
        super().__init__()

    def answer(self, conn: socket.socket) -> None:
        conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                     b"content-length: %d\r\n\r\n" % len(self.body))
        size = -(-len(self.body) // self.chunks)
        for i in range(0, len(self.body), size):
            time.sleep(self.gap)
            conn.sendall(self.body[i:i + size])
