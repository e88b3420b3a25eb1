"""Sync benchmarks against fake servers on loopback (issue 4).

    python bench/bench_sync.py stripe 100000      # Stripe: N charges, 100 per page
    python bench/bench_sync.py relay 1000000      # relay: N events pulled, 5000 per page
    python bench/bench_sync.py all                # the sizes recorded in bench/RESULTS.md

Each measurement runs the real ``run_sync`` in a fresh child process (so its
peak RSS is its own) against a server in another process answering at once:
the Stripe fake renders pages from a template (no per-charge storage), the
relay is the real ``segdesk-relay serve`` over a buffer written straight into
its SQLite file.
"""

from __future__ import annotations

import json
import os
import resource
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
BASE_CREATED = 1_700_000_000
ENV = {**os.environ, "PYTHONPATH": str(REPO)}


# -- the fake Stripe (server process) ------------------------------------------

def _charge_template() -> bytes:
    charge = json.loads((REPO / "tests" / "fixtures" / "stripe" / "charge.json").read_text())
    charge.update(id="@ID@", amount=111111, amount_captured=111111, captured=True, created=222222,
                  customer="@CUS@", payment_intent="@PI@", status="succeeded", receipt_email=None)
    charge["billing_details"]["email"] = "@EMAIL@"
    return json.dumps(charge, separators=(",", ":")).encode()


def serve_stripe(n: int, port: int) -> None:
    template = _charge_template()

    def charge(i: int) -> bytes:
        # Charge i was created at BASE + i; lists are newest first.
        return (template.replace(b"@ID@", b"ch_%08d" % i).replace(b"@PI@", b"pi_%08d" % i)
                .replace(b"@CUS@", b"cus_%06d" % (i % 20000)).replace(b"@EMAIL@", b"buyer%d@example.com" % (i % 20000))
                .replace(b"111111", b"%d" % (1000 + i % 9000)).replace(b"222222", b"%d" % (BASE_CREATED + i)))

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):
            url = urlparse(self.path)
            q = {k: v[0] for k, v in parse_qs(url.query).items()}
            items: list[bytes] = []
            more = False
            if url.path == "/v1/charges":
                limit = int(q.get("limit", 10))
                top = n - 1 if "starting_after" not in q else int(q["starting_after"][3:]) - 1
                low = max(0, int(q["created[gte]"]) - BASE_CREATED) if "created[gte]" in q else 0
                idx = list(range(top, max(low, top - limit + 1) - 1, -1)) if top >= low else []
                items = [charge(i) for i in idx]
                more = bool(idx) and idx[-1] > low
            body = (b'{"object":"list","has_more":' + (b"true" if more else b"false") + b',"data":['
                    + b",".join(items) + b"]}")
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


# -- the relay buffer, written directly ------------------------------------------

def fill_relay(data: Path, n: int) -> None:
    from segdesk.collector_relay.buffer import SCHEMA

    conn = sqlite3.connect(data / "buffer.db")
    conn.executescript(SCHEMA)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")

    now = time.time()  # the relay purges events older than its retention on start

    def rows():
        for i in range(n):
            aid = f"dev-{i % 50000}"
            if i % 25 == 0:
                ev = {"type": "identify", "anonymousId": aid, "messageId": f"m{i}",
                      "timestamp": "2026-03-01T10:00:00.000Z", "traits": {"email": f"p{i % 50000}@example.com"},
                      "context": {"segdesk": {"method": "form"}}}
            else:
                query = "?utm_source=news&utm_medium=email&utm_campaign=spring" if i % 5 == 0 else ""
                ev = {"type": "page", "anonymousId": aid, "messageId": f"m{i}",
                      "timestamp": f"2026-03-01T{i // 3600 % 24:02d}:{i // 60 % 60:02d}:{i % 60:02d}.000Z",
                      "context": {"page": {"url": f"https://shop.example/p/{i % 300}{query}",
                                           "referrer": "https://www.google.com/", "title": "Product"},
                                  "userAgent": "Mozilla/5.0", "ip": "203.0.113.0"}}
            yield (f"m{i}", "2026-03-01T10:00:00.000Z", now, aid, None, None,
                   json.dumps(ev, separators=(",", ":")).encode())

    conn.executemany("INSERT INTO events (message_id, received_at, received_ts, anonymous_id, user_id, email, body) "
                     "VALUES (?, ?, ?, ?, ?, ?, ?)", rows())
    conn.commit()
    conn.close()


# -- measurement (child process) -------------------------------------------------

def measure(kind: str, base_url: str, secret: str) -> None:
    from segdesk.core.store import open_workspace
    from segdesk.sync.engine import run_sync
    from segdesk.sync.secrets import keyring_problem
    from segdesk.sync.sources import add_source

    import keyring
    from keyring.backend import KeyringBackend

    class Memory(KeyringBackend):
        priority = 1
        store: dict = {}

        def get_password(self, s, u):
            return self.store.get((s, u))

        def set_password(self, s, u, p):
            self.store[(s, u)] = p

        def delete_password(self, s, u):
            self.store.pop((s, u), None)

    keyring.set_keyring(Memory())
    assert keyring_problem() is None
    with tempfile.TemporaryDirectory() as tmp:
        ws = open_workspace(Path(tmp) / "ws")
        add_source(ws, kind, kind, {"base_url": base_url}, secret)
        t0, cpu0 = time.perf_counter(), time.process_time()
        report = run_sync(ws)
        elapsed = time.perf_counter() - t0
        rows = ws.conn.execute("SELECT count(*) FROM " + ("orders" if kind == "stripe" else "events")).fetchone()[0]
        src = report.sources[0]
        print(json.dumps({"kind": kind, "ok": report.ok, "reason": src.reason, "rows": rows,
                          "seconds": round(elapsed, 1), "requests": src.requests,
                          "cpu_seconds": round(time.process_time() - cpu0, 1),
                          "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}))


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(port: int) -> None:
    for _ in range(400):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"server on {port} did not start")


def _child(args: list[str]) -> dict:
    out = subprocess.run([sys.executable, __file__, *args], env=ENV, capture_output=True, text=True)
    if out.returncode:
        raise SystemExit(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_stripe(n: int) -> dict:
    port = _port()
    server = subprocess.Popen([sys.executable, __file__, "_serve_stripe", str(n), str(port)], env=ENV)
    try:
        _wait(port)
        return _child(["_measure", "stripe", f"http://127.0.0.1:{port}", "sk_live_bench"])
    finally:
        server.terminate()
        server.wait()


def bench_relay(n: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "relay"
        keys = json.loads(subprocess.run([sys.executable, "-m", "segdesk.collector_relay", "init", "--data",
                                          str(data), "--json"], env=ENV, check=True, capture_output=True,
                                         text=True).stdout)
        t0 = time.perf_counter()
        fill_relay(data, n)
        fill = time.perf_counter() - t0
        port = _port()
        server = subprocess.Popen([sys.executable, "-m", "segdesk.collector_relay", "serve", "--data", str(data),
                                   "--port", str(port)], env=ENV)
        try:
            _wait(port)
            result = _child(["_measure", "relay", f"http://127.0.0.1:{port}", keys["pull_token"]])
        finally:
            server.terminate()
            server.wait()
        result["buffer_fill_seconds"] = round(fill, 1)
        return result


def main(argv: list[str]) -> None:
    if argv[0] == "_serve_stripe":
        serve_stripe(int(argv[1]), int(argv[2]))
    elif argv[0] == "_measure":
        measure(argv[1], argv[2], argv[3])
    elif argv[0] == "stripe":
        print(json.dumps(bench_stripe(int(argv[1]))))
    elif argv[0] == "relay":
        print(json.dumps(bench_relay(int(argv[1]))))
    elif argv[0] == "all":
        for n in (25_000, 50_000, 100_000):
            print(json.dumps(bench_stripe(n)), flush=True)
        for n in (100_000, 300_000, 1_000_000):
            print(json.dumps(bench_relay(n)), flush=True)
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:] or ["all"])
