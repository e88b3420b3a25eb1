"""Issue 20 item 4: the full stitch's peak memory, and where it goes.

    python bench/bench_stitch_memory.py --workspace bench/out/work-1000000/ws
    python bench/bench_stitch_memory.py --workspace bench/out/work-1000000/ws --trace

The workspace is one bench_workspace.py built (its import phase:
``python bench/bench_workspace.py --phase import --data <dataset> --work <dir>``).
It is copied, its derived identity rows are cleared, and the full stitch runs
from nothing, the costliest case (the first stitch after a big import), in a
process of its own so the peak RSS is the stitch's; then, in another process, the
full re-stitch of the same evidence (every stored row compared, none changed). Prints peak RSS (ru_maxrss,
the process's whole life, the workspace's open included), wall and CPU time
(time.process_time) and the load average.

``--steps`` prints the RSS and the peak so far at each step of the stitch (after
gathering, after resolving, at each write). ``--trace`` runs tracemalloc instead and prints the Python memory live at each
step of the stitch (after gathering, after resolving, at each write) with the
top allocation sites at the largest one. Tracing makes the stitch several times
slower, so its times mean nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _fresh_copy(ws: Path) -> Path:
    work = ws.parent / (ws.name + "-mem")
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(ws, work)
    return work


def _clear(ws) -> None:
    with ws.conn:
        ws.conn.execute("DELETE FROM identity_nodes")
        ws.conn.execute("DELETE FROM device_segments")
        ws.conn.execute("UPDATE contacts SET canonical_id = NULL, first_seen = NULL")
        ws.conn.execute("UPDATE identity_state SET full = 1")


def run(path: Path, keep: bool) -> dict:
    from segdesk.core.identity.stitch import stitch
    from segdesk.core.store import open_workspace

    ws = open_workspace(path)
    if not keep:
        _clear(ws)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    wall, cpu = time.perf_counter(), time.process_time()
    result = stitch(ws, full=True)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    rows = {t: ws.conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
            for t in ("identity_nodes", "device_segments")}
    return {"wall_s": wall, "cpu_s": cpu, "rss_before_mb": before,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "contacts": result.contacts, **rows}


def _status_mb(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def _sqlite_mb(peak: int) -> float:
    """SQLite's own heap (page cache, sorters, in-memory temp tables) through its C API."""
    import ctypes
    import ctypes.util

    name = ctypes.util.find_library("sqlite3")
    if not name:
        return float("nan")
    lib = ctypes.CDLL(name)
    fn = lib.sqlite3_memory_highwater if peak else lib.sqlite3_memory_used
    fn.restype = ctypes.c_int64
    return (fn(0) if peak else fn()) / 2**20


def trace(path: Path, python_objects: bool) -> None:
    import tracemalloc

    from segdesk.core.identity import full
    from segdesk.core.identity import stitch as stitch_module
    from segdesk.core.store import open_workspace

    ws = open_workspace(path)
    _clear(ws)
    steps: list[tuple[str, int, int, object]] = []

    def at(name):
        if python_objects:
            current, peak = tracemalloc.get_traced_memory()
            tracemalloc.reset_peak()
            steps.append((name, current, peak, tracemalloc.take_snapshot()))
        else:
            print(f"RSS {_status_mb('VmRSS'):6.0f} MiB, peak so far {_status_mb('VmHWM'):6.0f} MiB, "
                  f"SQLite's heap {_sqlite_mb(0):5.0f} MiB (peak {_sqlite_mb(1):4.0f})  {name}")

    def wrap(module, fname):
        original = getattr(module, fname)

        def wrapped(*args, **kwargs):
            at(f"{fname} starts")
            out = original(*args, **kwargs)
            at(f"{fname} returns")
            return out
        setattr(module, fname, wrapped)

    for fname in ("gather_people", "resolve_people", "write_canonical", "write_all_nodes", "write_devices",
                  "write_first_seen"):
        wrap(full, fname)
    if not python_objects:
        at("workspace open")
        stitch_module.stitch(ws, full=True)
        at("stitch done")
        return
    tracemalloc.start(1)
    stitch_module.stitch(ws, full=True)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    for name, current, peak, _ in steps:
        print(f"{current / 2**20:8.1f} MiB live, {peak / 2**20:6.1f} MiB peak since the step before  {name}")
    print(f"{peak / 2**20:8.1f} MiB traced peak")
    biggest = max(steps, key=lambda s: s[1])
    first = [s for s in steps if s[0] == "resolve_people starts" and s is not biggest]
    for name, current, _, snap in first + [biggest]:
        print(f"\ntop allocation sites at '{name}':")
        for stat in snap.statistics("lineno")[:12]:
            print(f"{stat.size / 2**20:8.1f} MiB {stat.count:>9,} blocks  {stat.traceback[0]}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--workspace", required=True)
    ap.add_argument("--trace", action="store_true", help="Python objects live at each step (tracemalloc)")
    ap.add_argument("--steps", action="store_true", help="RSS at each step")
    ap.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--keep", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.inner:
        if args.trace or args.steps:
            trace(Path(args.workspace), python_objects=args.trace)
        else:
            print(json.dumps(run(Path(args.workspace), args.keep)))
        return
    work = _fresh_copy(Path(args.workspace))
    inner = [sys.executable, __file__, "--inner", "--workspace", str(work)]
    try:
        if args.trace or args.steps:
            flag = "--trace" if args.trace else "--steps"
            print(subprocess.run(inner + [flag], check=True, capture_output=True, text=True).stdout)
            return
        # From nothing, then (a process of its own, on what the first left) the full re-stitch
        # of the same evidence, which compares every stored row and changes none.
        runs = [json.loads(subprocess.run(inner + extra, check=True, capture_output=True, text=True)
                           .stdout.strip().splitlines()[-1]) for extra in ([], ["--keep"])]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    for what, r in zip(("full stitch from nothing", "full re-stitch, same evidence"), runs):
        print(f"{what}: {r['wall_s']:.2f} s wall / {r['cpu_s']:.2f} s CPU, peak RSS {r['peak_rss_mb']:.0f} MiB "
              f"(workspace open: {r['rss_before_mb']:.0f} MiB); {r['contacts']:,} contacts, "
              f"{r['identity_nodes']:,} identity nodes, {r['device_segments']:,} device spans")
    print(f"load average {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
