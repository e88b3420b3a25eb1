"""Issue 2's benchmark: event import, bare-loop baseline, re-stitch, journey, memory.

    python bench/bench_workspace.py --events 1000000           # one scale
    python bench/bench_workspace.py --scales 100000,1000000,5000000
    BENCH_WORKERS=1 python bench/bench_workspace.py --events 1000000   # parse in one process

Each phase runs in a fresh subprocess so its peak RSS is its own. Wall time and
the process's CPU time are both printed: on a shared 2-core machine the CPU time
is the steadier figure, the wall time the honest one.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def _clock():
    return time.perf_counter(), time.process_time()


def _since(start):
    wall, cpu = _clock()
    return wall - start[0], cpu - start[1]


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def phase_bare(data: Path, work: Path) -> dict:
    """The yardstick: parse each line with the same parser and insert it into one table."""
    import orjson

    db = work / "bare.sqlite"
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, message_id TEXT, body BLOB)")
    start, n, batch = _clock(), 0, []
    with open(data / "events.jsonl", "rb") as f:
        for line in f:
            ev = orjson.loads(line)
            batch.append((ev.get("messageId"), line))
            if len(batch) >= 5000:
                with conn:
                    conn.executemany("INSERT INTO t (message_id, body) VALUES (?, ?)", batch)
                n += len(batch)
                batch = []
    with conn:
        conn.executemany("INSERT INTO t (message_id, body) VALUES (?, ?)", batch)
    n += len(batch)
    wall, cpu = _since(start)
    return {"events": n, "wall_s": wall, "cpu_s": cpu, "rate": n / wall, "rss_mb": _rss_mb()}


def phase_import(data: Path, work: Path) -> dict:
    from segdesk.core.importing.csv_import import import_contacts, import_orders
    from segdesk.core.importing.events import import_events_file
    from segdesk.core.store import open_workspace

    ws = open_workspace(work / "ws")
    workers = int(os.environ["BENCH_WORKERS"]) if os.environ.get("BENCH_WORKERS") else None
    start, children = _clock(), resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(data / "events.jsonl", "rb") as f:
        result = import_events_file(ws, f, workers=workers)
    wall, cpu = _since(start)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    # The parsing processes' CPU counts too (they are joined, so it is in RUSAGE_CHILDREN).
    workers_cpu = after.ru_utime + after.ru_stime - children.ru_utime - children.ru_stime
    events_rss = _rss_mb()
    import_contacts(ws, (data / "contacts.csv").read_text(), origin="bench-crm")
    import_orders(ws, (data / "orders.csv").read_text(), origin="bench-shop")
    return {"events": result.imported, "wall_s": wall, "cpu_s": cpu + workers_cpu, "workers_cpu_s": workers_cpu,
            "rate": result.imported / wall, "events_rss_mb": events_rss, "workers_rss_mb": after.ru_maxrss / 1024,
            "rss_mb": _rss_mb()}


def phase_stitch(data: Path, work: Path) -> dict:
    from segdesk.core.identity.stitch import stitch
    from segdesk.core.store import open_workspace

    ws = open_workspace(work / "ws")
    start = _clock()
    first = stitch(ws)
    first_wall, first_cpu = _since(start)
    # A full re-stitch from nothing derived: what an upgrade or a repair costs.
    with ws.conn:
        ws.conn.execute("DELETE FROM identity_nodes")
        ws.conn.execute("DELETE FROM device_segments")
        ws.conn.execute("UPDATE contacts SET canonical_id = NULL, first_seen = NULL")
    start = _clock()
    again = stitch(ws, full=True)
    full_wall, full_cpu = _since(start)
    # The full stitch of unchanged evidence (what a sync bringing one new identify cost before the
    # component stitch, minus its writes; bench_stitch.py times what a sync costs now).
    start = _clock()
    stitch(ws, full=True)
    noop_wall, noop_cpu = _since(start)
    # A sync of page views only: nothing flagged, first-seen times are all that can move.
    start = _clock()
    stitch(ws)
    clean_wall, clean_cpu = _since(start)
    return {"first_wall_s": first_wall, "full_wall_s": full_wall, "full_cpu_s": full_cpu,
            "noop_wall_s": noop_wall, "noop_cpu_s": noop_cpu, "clean_wall_s": clean_wall, "contacts": again.contacts,
            "shared_devices": again.shared_devices, "rss_mb": _rss_mb()}


def phase_journey(data: Path, work: Path) -> dict:
    from segdesk.core.traffic import useragent
    from segdesk.core.read.journey import journey
    from segdesk.core.store import open_workspace

    ws = open_workspace(work / "ws")
    conn = ws.reader()
    # Device names' rules compile once per process; the app does it after start-up (ui/context.py).
    start = time.perf_counter()
    useragent.warm()
    warm_ms = (time.perf_counter() - start) * 1000
    emails = [r[0] for r in conn.execute(
        "SELECT email FROM contacts WHERE canonical_id = id ORDER BY id LIMIT 200 OFFSET 1000")]
    times, sizes = [], []
    for email in emails:
        t = time.perf_counter()
        j = journey(conn, email)
        times.append((time.perf_counter() - t) * 1000)
        sizes.append(len(j["events"]))
    return {"contacts": len(emails), "median_ms": statistics.median(times),
            "p95_ms": sorted(times)[int(len(times) * 0.95) - 1], "max_ms": max(times),
            "median_events": statistics.median(sizes), "warm_ms": warm_ms, "rss_mb": _rss_mb()}


def where_the_bytes_go(db: Path) -> dict:
    """Bytes per event of the file and of its biggest tables and indexes (SQLite's dbstat, as sqlite3_analyzer)."""
    conn = sqlite3.connect(db)
    try:
        (events,) = conn.execute("SELECT count(*) FROM events").fetchone()
        (size,) = conn.execute("SELECT page_count * page_size FROM pragma_page_count, pragma_page_size").fetchone()
        out = {"file": size / events}
        for name, pages in conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC LIMIT 6"):
            out[name] = pages / events
        (raw,) = conn.execute("SELECT avg(length(raw)) FROM events").fetchone()
        out["events.raw (stored)"] = raw
        return out
    finally:
        conn.close()


PHASES = {"bare": phase_bare, "import": phase_import, "stitch": phase_stitch, "journey": phase_journey}


def run_phase(name: str, data: Path, work: Path) -> dict:
    # Each phase starts with the disk quiet: the one before wrote up to a few GB that
    # the kernel would otherwise write back during this one's timing.
    os.sync()
    time.sleep(2)
    out = subprocess.run([sys.executable, __file__, "--phase", name, "--data", str(data), "--work", str(work)],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench(events: int) -> dict:
    from datagen import dataset

    data = dataset(events, events // 5, events // 20)
    work = ROOT / "bench" / "out" / f"work-{events}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    res = {name: run_phase(name, data, work) for name in ("bare", "import", "stitch", "journey")}
    res["ratio"] = res["import"]["rate"] / res["bare"]["rate"]
    res["cpu_ratio"] = res["bare"]["cpu_s"] / res["import"]["cpu_s"]
    res["db_mb"] = (work / "ws" / "segdesk.sqlite").stat().st_size / 2**20
    res["bytes_per_event"] = where_the_bytes_go(work / "ws" / "segdesk.sqlite")
    shutil.rmtree(work, ignore_errors=True)
    return res


def report(events: int, r: dict) -> None:
    i, b, s, j = r["import"], r["bare"], r["stitch"], r["journey"]
    print(f"\n== {events:,} events (load average {os.getloadavg()[0]:.1f})")
    print(f"import   {i['events']:,} events in {i['wall_s']:.1f} s wall / {i['cpu_s']:.1f} s CPU "
          f"({i['workers_cpu_s']:.1f} s of it in parsing processes): {i['rate']:,.0f} events/s, "
          f"peak RSS {i['events_rss_mb']:.0f} MiB, a parsing process {i['workers_rss_mb']:.0f} MiB "
          f"(with the CSVs {i['rss_mb']:.0f} MiB)")
    print(f"bare     {b['events']:,} events in {b['wall_s']:.1f} s wall / {b['cpu_s']:.1f} s CPU: "
          f"{b['rate']:,.0f} events/s")
    print(f"ratio    import/bare by wall {r['ratio']:.2f}, by CPU {r['cpu_ratio']:.2f}")
    print(f"stitch   first {s['first_wall_s']:.2f} s; full re-stitch {s['full_wall_s']:.2f} s wall / "
          f"{s['full_cpu_s']:.2f} s CPU; re-stitch of unchanged evidence {s['noop_wall_s']:.2f} s; "
          f"after a page-views-only sync {s['clean_wall_s']:.2f} s; "
          f"{s['contacts']:,} contacts, {s['shared_devices']} shared devices, peak RSS {s['rss_mb']:.0f} MiB")
    print(f"journey  median {j['median_ms']:.1f} ms, p95 {j['p95_ms']:.1f} ms, max {j['max_ms']:.1f} ms "
          f"over {j['contacts']} contacts ({j['median_events']:.0f} events each); "
          f"device-name rules compiled once before, {j['warm_ms']:.0f} ms")
    print(f"database {r['db_mb']:.0f} MiB; bytes per event: "
          + ", ".join(f"{k} {v:.0f}" for k, v in r["bytes_per_event"].items()))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--scales", help="comma-separated event counts")
    ap.add_argument("--phase", choices=sorted(PHASES))
    ap.add_argument("--data")
    ap.add_argument("--work")
    args = ap.parse_args()
    if args.phase:
        print(json.dumps(PHASES[args.phase](Path(args.data), Path(args.work))))
        return
    scales = [int(x) for x in args.scales.split(",")] if args.scales else [args.events]
    for events in scales:
        report(events, bench(events))


if __name__ == "__main__":
    main()
