"""Issue 20's conversion benchmark: packing an upgraded workspace's events in place.

    python bench/bench_compaction.py --events 300000

Builds a workspace the way the former storage left it (plain raw JSON, message
ids as text; the same generated data as bench_workspace.py), then runs
``core.compaction.compact_events`` on it as the CLI and the app do after an
upgrade, and prints its rate (wall and CPU), the VACUUM's share, and the file
before and after with where the bytes go.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def _plain_workspace(data: Path, folder: Path) -> None:
    from segdesk.core.identity.stitch import stitch
    from segdesk.core.importing import packing
    from segdesk.core.importing.csv_import import import_contacts, import_orders
    from segdesk.core.importing.events import import_events_file
    from segdesk.core.store import open_workspace

    packing.MIN_SAMPLES = 10**12  # no dictionary: rows stay plain, as before migration 0017
    with open_workspace(folder) as ws:
        with open(data / "events.jsonl", "rb") as f:
            import_events_file(ws, f)
        import_contacts(ws, (data / "contacts.csv").read_text(), origin="bench-crm")
        import_orders(ws, (data / "orders.csv").read_text(), origin="bench-shop")
        stitch(ws)
        with ws.conn:
            ws.conn.execute("UPDATE events SET message_id = message_text(message_id)")
        ws.conn.execute("VACUUM")


def main() -> None:
    from bench_workspace import where_the_bytes_go
    from datagen import dataset

    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=300_000)
    args = ap.parse_args()
    data = dataset(args.events, args.events // 5, args.events // 20)
    work = ROOT / "bench" / "out" / f"compaction-{args.events}"
    shutil.rmtree(work, ignore_errors=True)
    # In a child process: it changes packing's threshold for good.
    import subprocess

    subprocess.run([sys.executable, "-c", f"import sys; sys.path[:0] = {[str(ROOT), str(ROOT / 'bench')]!r}; "
                    f"from bench_compaction import _plain_workspace; from pathlib import Path; "
                    f"_plain_workspace(Path({str(data)!r}), Path({str(work)!r}))"], check=True)
    db = work / "segdesk.sqlite"
    before = where_the_bytes_go(db)

    from segdesk.core import compaction
    from segdesk.core.progress import Progress
    from segdesk.core.store import open_workspace

    stages: dict[str, float] = {}
    progress = Progress(on_update=lambda p: stages.setdefault(p.status, time.perf_counter()))
    os.sync()
    with open_workspace(work) as ws:
        events = ws.conn.execute("SELECT count(*) FROM events").fetchone()[0]
        wall, cpu = time.perf_counter(), time.process_time()
        result = compaction.compact_events(ws.conn, progress)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    vacuum = time.perf_counter() - stages["Giving back disk space"] if result.vacuumed else 0.0
    after = where_the_bytes_go(db)
    print(f"\n== {events:,} events (load average {os.getloadavg()[0]:.1f})")
    print(f"packed {result.packed:,} events in {wall:.1f} s wall / {cpu:.1f} s CPU "
          f"({result.packed / wall:,.0f} events/s), of which VACUUM {vacuum:.1f} s wall")
    for label, sizes in (("before", before), ("after", after)):
        print(f"{label:7s} bytes per event: " + ", ".join(f"{k} {v:.0f}" for k, v in sizes.items()))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
