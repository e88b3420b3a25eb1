"""The relay's PostgreSQL buffer against its SQLite buffer (issue 19).

    python bench/bench_relay_pg.py [--rounds 3] [--seconds 5] [--pull-events 1000000]

In one run, on loopback, with the same load generator as bench_relay.py
(separate processes, keep-alive connections, single-event POST /v1/track):
one relay on SQLite (synchronous=NORMAL), one relay on PostgreSQL, and two
relays on the same PostgreSQL database with the load split between them.
Rounds alternate between the three and medians are reported, so the
neighbours on a shared machine weigh on each alike. Then the pull side: N
events written straight into PostgreSQL, pulled through one relay in pages of
10,000 (numbering included), and the database's size per million events.

PostgreSQL is a throw-away cluster of the installed server (tests/pg.py) with
fsync ON, as a real one runs.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import orjson
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_relay import (  # noqa: E402
    UA, _load_worker, fill_buffer, free_port, pull_all, start_relay,
)

from segdesk.collector_relay import config as relay_config  # noqa: E402
from segdesk.collector_relay.buffer_pg import PostgresBuffer  # noqa: E402
from tests.pg import Cluster, server_bin  # noqa: E402


TOKEN = "bench-pull-token"


def load_split(ports: list[int], key: str, tag: str, seconds: float, conns: int) -> float:
    """Requests/s answered 2xx by all `ports` together, one load process each."""
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=_load_worker, args=(
        "closed", (port, key, f"{tag}p{i}", seconds, max(1, conns // len(ports))), out))
        for i, port in enumerate(ports)]
    for proc in procs:
        proc.start()
    results = [out.get() for _ in procs]
    for proc in procs:
        proc.join()
    bad = sum(r[1] for r in results)
    if bad:
        print(f"  warning: {bad} non-2xx answers in {tag}")
    return sum(r[0] for r in results) / statistics.mean(r[2] for r in results)


def fill_postgres(url: str, count: int) -> None:
    """`count` stored-format events, written with COPY (filling through HTTP
    would only measure ingest again)."""
    received = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())
    now = time.time()
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        with cur.copy("COPY relay_events (message_id, received_at, received_ts, anonymous_id,"
                      " body) FROM STDIN") as copy:
            for n in range(count):
                event = {"type": "page", "anonymousId": f"anon-{n % 100_000}",
                         "messageId": f"fill-{n}", "timestamp": received, "receivedAt": received,
                         "context": {"ip": "203.0.113.0", "userAgent": UA,
                                     "page": {"url": f"https://example.com/p/{n % 997}",
                                              "title": "Page",
                                              "referrer": "https://www.google.com/"},
                                     "campaign": {"source": "newsletter", "medium": "email"}},
                         "properties": {"path": f"/p/{n % 997}"}}
                copy.write_row((event["messageId"], received, now, event["anonymousId"],
                                orjson.dumps(event)))


def database_mib(url: str) -> float:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT pg_database_size(current_database())").fetchone()[0] / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0, help="length of one round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--pull-events", type=int, default=1_000_000)
    args = parser.parse_args()
    bin_dir = server_bin()
    if bin_dir is None:
        sys.exit("no PostgreSQL server installed (apt-get install postgresql)")

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cluster = Cluster(Path(tempfile.mkdtemp(prefix="segdesk-pg-bench-")), bin_dir, fsync=True)
        cluster.init()
        cluster.start()
        key = relay_config.init(tmp / "sqlite")["write_key"]
        os.environ.update({"SEGDESK_RELAY_WRITE_KEY": key, "SEGDESK_RELAY_PULL_TOKEN": TOKEN})
        try:
            if args.rounds > 0:
                ingest_side(cluster, tmp, key, args)
            if args.pull_events > 0:
                pull_side(cluster, tmp, args.pull_events)
        finally:
            cluster.stop()
            shutil.rmtree(cluster.root, ignore_errors=True)


def ingest_side(cluster: Cluster, tmp: Path, key: str, args) -> None:
    url = cluster.new_database()
    ports = {name: free_port() for name in ("sqlite", "pg1", "pg2a", "pg2b")}
    procs = [start_relay(tmp / "sqlite", ports["sqlite"])]
    try:
        for name in ("pg1", "pg2a", "pg2b"):
            procs.append(start_relay(tmp / name, ports[name], database_url=url))
        setups = {"SQLite, one relay": [ports["sqlite"]],
                  "PostgreSQL, one relay": [ports["pg1"]],
                  "PostgreSQL, two relays": [ports["pg2a"], ports["pg2b"]]}
        for name, used in setups.items():  # warm up
            load_split(used, key, f"warm{name[:6]}{len(used)}", 2.0, args.connections)
        runs: dict[str, list[float]] = {name: [] for name in setups}
        for rnd in range(args.rounds):
            for name, used in setups.items():
                runs[name].append(load_split(used, key, f"r{rnd}{name[:6]}{len(used)}",
                                             args.seconds, args.connections))
            print(f"  round {rnd + 1}: " + ", ".join(
                f"{name} {r[-1]:,.0f}/s" for name, r in runs.items()), flush=True)
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait()
    base = statistics.median(runs["SQLite, one relay"])
    print(f"single-event ingest, {args.connections} connections, "
          f"median of {args.rounds} rounds of {args.seconds:g} s:")
    for name, r in runs.items():
        print(f"  {name:24s} {statistics.median(r):7,.0f}/s  "
              f"({statistics.median(r) / base:.0%} of SQLite)")


def pull_side(cluster: Cluster, tmp: Path, count: int) -> None:
    url = cluster.new_database()
    buffer = PostgresBuffer(url, pool_size=1)
    buffer.start()  # the tables
    buffer.stop()
    empty = database_mib(url)
    t0 = time.perf_counter()
    fill_postgres(url, count)
    print(f"filled {count:,} events in {time.perf_counter() - t0:.1f} s; database "
          f"{(database_mib(url) - empty) / count * 1e6:,.0f} MiB per million events as stored")
    took = {"PostgreSQL": pull_through(tmp / "pull-pg", count, database_url=url)}
    numbered = database_mib(url) - empty
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM relay_events")
    print(f"database after numbering: {numbered / count * 1e6:,.0f} MiB per million events "
          f"(the numbering rewrites each row once; VACUUM makes the space reusable, "
          f"{(database_mib(url) - empty) / count * 1e6:,.0f} MiB after it)")
    relay_config.init(tmp / "pull-sqlite")
    fill_buffer(tmp / "pull-sqlite", count)  # the same events, in SQLite
    sqlite_mib = (tmp / "pull-sqlite" / relay_config.BUFFER_NAME).stat().st_size / 2**20
    print(f"SQLite buffer: {sqlite_mib / count * 1e6:,.0f} MiB per million events")
    took["SQLite"] = pull_through(tmp / "pull-sqlite", count)
    print(f"pull of {count:,} with limit=10000: PostgreSQL {took['PostgreSQL']:.1f} s "
          f"({count / took['PostgreSQL']:,.0f} events/s, numbering included), "
          f"SQLite {took['SQLite']:.1f} s ({count / took['SQLite']:,.0f} events/s); "
          f"PostgreSQL takes {took['PostgreSQL'] / took['SQLite']:.1f}x as long")


def pull_through(data: Path, count: int, database_url: str = "") -> float:
    port = free_port()
    relay = start_relay(data, port, database_url=database_url)
    try:
        pulled, took = pull_all(f"http://127.0.0.1:{port}", TOKEN, 10_000)
    finally:
        relay.terminate()
        relay.wait()
    assert pulled == count, (pulled, count)
    return took


if __name__ == "__main__":
    main()
