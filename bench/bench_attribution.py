"""Attribution benchmark (issue 20 item 3): every model from the weights cached at refresh, the cache's upkeep,
and the converted build with today's converted orders and with converted orders read from a table.

    python bench/bench_attribution.py                      # 1M events (bench_reports.py's cached workspace)
    python bench/bench_attribution.py --events 5000000 --contacts 250000 --orders-per-contact 3

Works on a copy of bench_reports.py's workspace (built there once, under bench/out/). Times are the best of
``--repeat`` builds, CPU (the column to compare on a shared machine) and wall.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench_reports import workspace  # noqa: E402
from segdesk.core.refresh import refresh_reports  # noqa: E402
from segdesk.core.reports import MODELS, build_report, data, shares  # noqa: E402
from segdesk.core.reports.compare import build_view  # noqa: E402
from segdesk.core.reports.converted import converting, converting_to  # noqa: E402
from segdesk.core.store import open_workspace  # noqa: E402


def best(fn, repeat: int) -> tuple[float, float]:
    out = None
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        fn()
        sample = (time.process_time() - c, time.perf_counter() - w)
        out = sample if out is None or sample < out else out
    return out


def upkeep(conn, label: str, prepare: str | None) -> None:
    """One refresh of the cache after ``prepare`` marked something stale, then undone."""
    conn.execute("SAVEPOINT bench")
    if prepare:
        conn.execute(prepare)
    w, c = time.perf_counter(), time.process_time()
    n = shares.refresh_shares(conn)
    print(f"refresh: {label:42} {n:>7} orders {(time.process_time() - c) * 1000:7.0f} ms cpu "
          f"{(time.perf_counter() - w) * 1000:7.0f} ms wall", flush=True)
    conn.execute("ROLLBACK TO bench")
    conn.execute("RELEASE bench")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--contacts", type=int, default=50_000)
    ap.add_argument("--orders-per-contact", type=float, default=3.0)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    folder = workspace(args.events, args.contacts, args.orders_per_contact)
    ws = open_workspace(folder)
    w, c = time.perf_counter(), time.process_time()
    refresh_reports(ws)  # an upgraded workspace: builds the cache from nothing
    print(f"first refresh_reports {time.process_time() - c:.1f} s cpu {time.perf_counter() - w:.1f} s wall")
    reader = ws.reader()
    cases = [(m, {"model": m}) for m in MODELS] + [
        ("linear by campaign", {"model": "linear", "by": "campaign"}),
        ("linear, filter product", {"model": "linear", "filters": {"product": "Pro course"}}),
        ("time_decay, a month", {"model": "time_decay", "since": "2026-01", "until": "2026-01"}),
        ("linear, lookback 30 (live)", {"model": "linear", "lookback_days": 30}),
        ("linear, converted to EUR", {"model": "linear", "currency": "eur"})]
    for label, params in cases:
        cpu, wall = best(lambda: build_report(reader, "attribution", **params), args.repeat)
        print(f"{label:48} {cpu * 1000:7.0f} ms cpu {wall * 1000:7.0f} ms wall", flush=True)
    cpu, wall = best(lambda: build_view(reader, "attribution", model="all"), args.repeat)
    print(f"{'models side by side':48} {cpu * 1000:7.0f} ms cpu {wall * 1000:7.0f} ms wall", flush=True)
    # Converted orders read from a table, as a cache of them would give: the same orders, materialised.
    with converting(ws.conn, "eur"), ws.conn:
        ws.conn.execute("CREATE TABLE bench_converted (id INTEGER PRIMARY KEY, contact_id INTEGER, currency TEXT, "
                        "amount INTEGER, refunded INTEGER, created_at TEXT)")
        ws.conn.execute("INSERT INTO bench_converted SELECT id, contact_id, currency, amount, refunded, created_at "
                        f"FROM {data.orders_source(ws.conn, None)}", {"truth": None})
    live_source = shares.orders_source
    shares.orders_source = lambda conn, rng=None: "bench_converted" if converting_to() else live_source(conn, rng)
    cpu, wall = best(lambda: build_report(reader, "attribution", model="linear", currency="eur"), args.repeat)
    shares.orders_source = live_source
    print(f"{'linear, converted to EUR (converted orders a table)':48} {cpu * 1000:7.0f} ms cpu "
          f"{wall * 1000:7.0f} ms wall", flush=True)
    upkeep(ws.conn, "nothing changed", None)
    upkeep(ws.conn, "counted orders rebuilt, none moved", "UPDATE report_attribution_state SET orders_changed = 1")
    upkeep(ws.conn, "100 contacts' touches changed", "INSERT INTO report_attribution_dirty SELECT DISTINCT contact_id "
                                                     "FROM report_orders WHERE contact_id IS NOT NULL LIMIT 100")
    upkeep(ws.conn, "from nothing", "UPDATE report_attribution_state SET dirty = 1")
    sizes = ws.conn.execute("SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'report_attribution%'").fetchone()[0]
    print(f"cache on disk {sizes / 2**20:.1f} MiB")
    reader.close()
    ws.close()
    shutil.rmtree(folder)


if __name__ == "__main__":
    main()
