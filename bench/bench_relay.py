"""Relay benchmark (issue 3): throughput, latency, memory and the pull side.

    python bench/bench_relay.py [--rounds 5] [--seconds 5] [--pull-events 1000000]

Everything runs on loopback. The relay and a bare Starlette app answering 204
each run as one uvicorn worker in their own process; the load comes from a
separate process with raw asyncio sockets (keep-alive, many connections), so
both servers face the very same client in the same run and the ratio is fair.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import orjson

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from segdesk.collector_relay import config as relay_config  # noqa: E402
from segdesk.collector_relay.buffer_sqlite import INSERT, SCHEMA  # noqa: E402

UA = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15"
BARE_APP = """
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.routing import Route
async def ok(request):
    await request.body()
    return Response(status_code=204)
app = Starlette(routes=[Route("/v1/track", ok, methods=["POST"])])
"""


# -- servers ------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int) -> None:
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"port {port} never opened")


def start_relay(data: Path, port: int, synchronous: str | None = None,
                database_url: str = "") -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO), "SEGDESK_RELAY_RATE": "0"}
    if synchronous:
        env["SEGDESK_RELAY_SYNCHRONOUS"] = synchronous
    if database_url:  # the PostgreSQL buffer (bench_relay_pg.py)
        env["SEGDESK_RELAY_DATABASE_URL"] = database_url
    proc = subprocess.Popen([sys.executable, "-m", "segdesk.collector_relay", "serve", "--data",
                             str(data), "--port", str(port)], env=env)
    wait_port(port)
    return proc


def start_bare(workdir: Path, port: int) -> subprocess.Popen:
    (workdir / "bare_app.py").write_text(BARE_APP)
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "bare_app:app", "--port", str(port),
                             "--no-access-log", "--log-level", "warning", "--no-proxy-headers"],
                            cwd=workdir)
    wait_port(port)
    return proc


def rss_mib(pid: int) -> tuple[float, float]:
    """Current and peak resident memory of a process, MiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value
    return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024


def fsync_latency(folder: Path, count: int = 200) -> tuple[float, float]:
    """p50 and p99 of appending 4 KiB and fsyncing, ms: what one commit waits for."""
    path = folder / "fsync.probe"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    times = []
    try:
        for _ in range(count):
            start = time.perf_counter()
            os.write(fd, b"x" * 4096)
            os.fsync(fd)
            times.append((time.perf_counter() - start) * 1000)
    finally:
        os.close(fd)
        path.unlink()
    times.sort()
    return times[count // 2], times[int(count * 0.99)]


# -- the load generator (runs in its own process) ------------------------------

def request_bytes(port: int, write_key: str, n: int, tag: str) -> bytes:
    body = orjson.dumps({"type": "track", "event": "Signup", "anonymousId": f"anon-{n % 5000}",
                         "messageId": f"{tag}-{n}", "properties": {"plan": "pro", "n": n},
                         "context": {"userAgent": UA, "page": {"url": "https://example.com/x"}}})
    import base64
    auth = base64.b64encode(f"{write_key}:".encode()).decode()
    head = (f"POST /v1/track HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUser-Agent: {UA}\r\n"
            f"Authorization: Basic {auth}\r\nContent-Type: text/plain\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode() + body


class Conn(asyncio.Protocol):
    """One keep-alive connection: send, wait for the whole response, repeat."""

    def __init__(self, on_response) -> None:
        self.buf = b""
        self.on_response = on_response
        self.transport = None
        self.ready = asyncio.get_running_loop().create_future()

    def connection_made(self, transport) -> None:
        self.transport = transport
        self.ready.set_result(None)

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = self.buf[:end].lower()
            status = int(head[9:12])
            i = head.find(b"content-length:")
            length = int(head[i + 15:].split(b"\r\n", 1)[0]) if i >= 0 else 0
            if len(self.buf) < end + 4 + length:
                return
            self.buf = self.buf[end + 4 + length:]
            self.on_response(self, status)


async def closed_loop(port: int, key: str, tag: str, seconds: float, conns: int) -> tuple[int, int, float]:
    loop = asyncio.get_running_loop()
    counter = iter(range(10**9))
    done = {"ok": 0, "bad": 0}
    stop_at = loop.time() + seconds

    def on_response(conn: Conn, status: int) -> None:
        done["ok" if status < 300 else "bad"] += 1
        if loop.time() < stop_at:
            conn.transport.write(request_bytes(port, key, next(counter), tag))
        else:
            conn.transport.close()

    protocols = []
    for _ in range(conns):
        _, proto = await loop.create_connection(lambda: Conn(on_response), "127.0.0.1", port)
        protocols.append(proto)
    start = loop.time()
    for proto in protocols:
        proto.transport.write(request_bytes(port, key, next(counter), tag))
    await asyncio.sleep(seconds + 1)
    for proto in protocols:
        proto.transport.close()
    return done["ok"], done["bad"], loop.time() - start - 1


async def fixed_rate(port: int, key: str, tag: str, seconds: float, rate: int) -> list[float]:
    """Open loop: requests start on a schedule, latency counts from the scheduled
    start so a slow answer cannot hide the queue behind it."""
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    idle: list[Conn] = []
    sent_at: dict[Conn, float] = {}

    def on_response(conn: Conn, status: int) -> None:
        latencies.append(loop.time() - sent_at.pop(conn))
        idle.append(conn)

    for _ in range(50):
        _, proto = await loop.create_connection(lambda: Conn(on_response), "127.0.0.1", port)
        idle.append(proto)
    start = loop.time()
    total = int(seconds * rate)
    for n in range(total):
        due = start + n / rate
        delay = due - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        while not idle:
            await asyncio.sleep(0.0005)
        conn = idle.pop()
        sent_at[conn] = due
        conn.transport.write(request_bytes(port, key, n, tag))
    while sent_at and loop.time() < start + seconds + 5:
        await asyncio.sleep(0.01)
    return latencies


def _load_worker(kind: str, args: tuple, out) -> None:
    func = closed_loop if kind == "closed" else fixed_rate
    out.put(asyncio.run(func(*args)))


def run_load(kind: str, *args, processes: int = 1):
    """Run the load in separate processes, as real clients would be. For the
    closed loop, `processes` workers share the connections and add up."""
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    if kind == "closed" and processes > 1:
        port, key, tag, seconds, conns = args
        jobs = [(port, key, f"{tag}p{i}", seconds, max(1, conns // processes))
                for i in range(processes)]
    else:
        jobs = [args]
    procs = [ctx.Process(target=_load_worker, args=(kind, job, out)) for job in jobs]
    for proc in procs:
        proc.start()
    results = [out.get() for _ in procs]
    for proc in procs:
        proc.join()
    if kind != "closed":
        return results[0]
    return (sum(r[0] for r in results), sum(r[1] for r in results),
            statistics.mean(r[2] for r in results))


# -- the pull side ------------------------------------------------------------

def fill_buffer(data: Path, count: int) -> None:
    """Write `count` stored-format events straight into a relay buffer (filling
    through HTTP would only measure ingest again)."""
    conn = sqlite3.connect(data / relay_config.BUFFER_NAME, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    conn.executescript(SCHEMA)
    now = time.time()
    received = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(now))
    conn.execute("BEGIN")
    for start in range(0, count, 50_000):
        rows = []
        for n in range(start, min(count, start + 50_000)):
            event = {"type": "page", "anonymousId": f"anon-{n % 100_000}", "messageId": f"fill-{n}",
                     "timestamp": received, "receivedAt": received,
                     "context": {"ip": "203.0.113.0", "userAgent": UA,
                                 "page": {"url": f"https://example.com/p/{n % 997}", "title": "Page",
                                          "referrer": "https://www.google.com/"},
                                 "campaign": {"source": "newsletter", "medium": "email"}},
                     "properties": {"path": f"/p/{n % 997}"}}
            rows.append((event["messageId"], received, now, event["anonymousId"], None, None,
                         orjson.dumps(event)))
        conn.executemany(INSERT, rows)
    conn.execute("COMMIT")
    conn.close()


def pull_all(url: str, token: str, limit: int) -> tuple[int, float]:
    start = time.perf_counter()
    pulled, after = 0, 0
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
        while True:
            page = orjson.loads(client.get("/v1/events", params={"after": after, "limit": limit}).content)
            pulled += len(page["events"])
            after = page["next"]
            if not page["more"]:
                break
    return pulled, time.perf_counter() - start


def measure_ingest(tmp: Path, mode: str, bare_port: int, args) -> None:
    """Throughput against the bare app, latency at a fixed rate, and memory,
    for the relay with one synchronous mode."""
    data = tmp / f"relay-{mode}"
    key = relay_config.init(data)["write_key"]
    relay_port = free_port()
    relay = start_relay(data, relay_port, mode)
    try:
        run_load("closed", relay_port, key, "warm", 2.0, args.connections)  # warm up
        run_load("closed", bare_port, key, "warm", 2.0, args.connections)
        # Alternate short rounds and take medians: on a shared 2-core
        # machine a single long run mostly measures the neighbours.
        relay_runs, bare_runs, bad = [], [], 0
        for rnd in range(args.rounds):
            ok, nbad, took = run_load("closed", relay_port, key, f"tp{rnd}", args.seconds,
                                      args.connections, processes=args.load_processes)
            relay_runs.append(ok / took)
            bad += nbad
            bok, nbad, btook = run_load("closed", bare_port, key, f"tp{rnd}", args.seconds,
                                        args.connections, processes=args.load_processes)
            bare_runs.append(bok / btook)
            bad += nbad
            print(f"  [{mode}] round {rnd + 1}: relay {relay_runs[-1]:,.0f}/s, "
                  f"bare {bare_runs[-1]:,.0f}/s", flush=True)
        relay_rps, bare_rps = statistics.median(relay_runs), statistics.median(bare_runs)
        # Latency: several rounds, median p99, next to the bare server's and
        # the disk's fsync figures, which set the floor on this host.
        p50s, p99s, bare_p99s = [], [], []
        for rnd in range(3):
            lat = sorted(run_load("fixed", relay_port, key, f"lat{rnd}", args.seconds, args.rate))
            p50s.append(lat[len(lat) // 2] * 1000)
            p99s.append(lat[int(len(lat) * 0.99)] * 1000)
            blat = sorted(run_load("fixed", bare_port, key, f"lat{rnd}", args.seconds, args.rate))
            bare_p99s.append(blat[int(len(blat) * 0.99)] * 1000)
            print(f"  [{mode}] latency round {rnd + 1}: relay p50 {p50s[-1]:.1f} ms "
                  f"p99 {p99s[-1]:.1f} ms, bare p99 {bare_p99s[-1]:.1f} ms", flush=True)
        fsync50, fsync99 = fsync_latency(tmp)
        rss, peak = rss_mib(relay.pid)
    finally:
        relay.terminate()
        relay.wait()
    print(f"synchronous={mode}")
    print(f"  relay single-event requests: {relay_rps:,.0f}/s (median of {args.rounds}; {bad} non-2xx)")
    print(f"  bare Starlette 204:          {bare_rps:,.0f}/s (median of {args.rounds})")
    print(f"  ratio relay/bare:            {relay_rps / bare_rps:.0%}")
    print(f"  latency at {args.rate}/s: p50 {statistics.median(p50s):.1f} ms, "
          f"p99 {statistics.median(p99s):.1f} ms (median of 3 rounds of {len(lat)}); "
          f"bare p99 {statistics.median(bare_p99s):.1f} ms; "
          f"disk fsync p50 {fsync50:.1f} ms, p99 {fsync99:.1f} ms")
    print(f"  relay memory: {rss:.0f} MiB now, {peak:.0f} MiB peak", flush=True)


# -- disk use under load (issue 18) ---------------------------------------------

def measure_disk(tmp: Path, args) -> None:
    """Peak WAL size and disk bytes per buffered event while single-event
    requests arrive at a fixed rate (the latency rate) and flat out."""
    import threading

    for kind in ("fixed", "closed"):
        data = tmp / f"relay-disk-{kind}"
        key = relay_config.init(data)["write_key"]
        port = free_port()
        relay = start_relay(data, port)
        wal = data / (relay_config.BUFFER_NAME + "-wal")
        peak, stop = [0], threading.Event()

        def sample() -> None:
            while not stop.wait(0.02):
                peak[0] = max(peak[0], wal.stat().st_size if wal.exists() else 0)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            if kind == "fixed":
                sent = len(run_load("fixed", port, key, "disk", args.disk_seconds, args.rate))
                what = f"{args.rate} req/s for {args.disk_seconds:.0f} s"
            else:
                ok, _bad, took = run_load("closed", port, key, "disk", args.disk_seconds, args.connections,
                                          processes=args.load_processes)
                sent, what = ok, f"flat out for {args.disk_seconds:.0f} s ({ok / took:,.0f} req/s)"
            time.sleep(0.2)
            under_load = sum(p.stat().st_size for p in data.glob(relay_config.BUFFER_NAME + "*"))
        finally:
            stop.set()
            sampler.join()
            relay.terminate()
            relay.wait()
        conn = sqlite3.connect(data / relay_config.BUFFER_NAME)
        stored = conn.execute("SELECT count(*) FROM events").fetchone()[0]
        conn.close()
        print(f"disk, {what}: {stored:,} events stored of {sent:,} answered; peak WAL {peak[0] / 2**20:.1f} MiB; "
              f"buffer files {under_load / 2**20:.1f} MiB at the end of the load = "
              f"{under_load / max(stored, 1):,.0f} bytes per buffered event", flush=True)


# -- main ---------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0, help="length of one round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--connections", type=int, default=64, help="in flight, all load processes together")
    parser.add_argument("--load-processes", type=int, default=2)
    parser.add_argument("--rate", type=int, default=500)
    parser.add_argument("--pull-events", type=int, default=1_000_000)
    parser.add_argument("--sync", default="NORMAL,FULL",
                        help="SQLite synchronous modes to measure, comma-separated")
    parser.add_argument("--disk-seconds", type=float, default=30.0,
                        help="length of each disk-use run (0 skips them)")
    parser.add_argument("--only-disk", action="store_true", help="measure only the disk use")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        if args.disk_seconds > 0:
            measure_disk(tmp, args)
        if args.only_disk:
            return
        bare_port = free_port()
        bare = start_bare(tmp, bare_port)
        try:
            for mode in args.sync.split(","):
                measure_ingest(tmp, mode.strip().upper(), bare_port, args)
        finally:
            bare.terminate()
            bare.wait()

        if args.pull_events <= 0:
            return
        keys = relay_config.init(tmp / "pull")
        t0 = time.perf_counter()
        fill_buffer(tmp / "pull", args.pull_events)
        print(f"filled {args.pull_events:,} events in {time.perf_counter() - t0:.1f} s")
        port = free_port()
        relay = start_relay(tmp / "pull", port)
        try:
            pulled, took = pull_all(f"http://127.0.0.1:{port}", keys["pull_token"], 5000)
            rss, peak = rss_mib(relay.pid)
            print(f"pulled {pulled:,} events with limit=5000 in {took:.1f} s "
                  f"({pulled / took:,.0f} events/s); relay peak memory {peak:.0f} MiB")
        finally:
            relay.terminate()
            relay.wait()


if __name__ == "__main__":
    main()
