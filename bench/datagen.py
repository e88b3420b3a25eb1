"""The scale-data generator for benchmarks: writes a scenario to files once, cached by its size.

    python bench/datagen.py --events 1000000 --devices 200000 --contacts 50000

writes bench/out/<events>/events.jsonl, contacts.csv, orders.csv, spend.csv.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from segdesk.core import demo  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"


def dataset(events: int, devices: int | None = None, contacts: int | None = None, seed: int = 11) -> Path:
    devices = devices or events // 5
    contacts = contacts or events // 20
    folder = OUT / f"{events}-{devices}-{contacts}-{seed}"
    if (folder / "done").exists():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    sc, stream = demo.scenario(contacts=contacts, devices=devices, events=events, seed=seed)
    n = 0
    with open(folder / "events.jsonl", "wb") as f:
        for ev in stream:
            f.write(orjson.dumps(ev))
            f.write(b"\n")
            n += 1
    (folder / "contacts.csv").write_text(demo.to_csv(sc.contacts, demo.CONTACT_COLUMNS))
    (folder / "orders.csv").write_text(demo.to_csv(sc.orders, demo.ORDER_COLUMNS))
    (folder / "spend.csv").write_text(demo.to_csv(sc.spend, demo.SPEND_COLUMNS))
    (folder / "done").write_text(f"{n} events, {len(sc.contacts)} contacts, {len(sc.orders)} orders\n")
    print(f"generated {n} events in {time.perf_counter() - t0:.1f} s -> {folder}", file=sys.stderr)
    return folder


def ui_workspace(events: int) -> Path:
    """The app benchmarks' workspace (bench_ui.py, bench_ui_reports.py): the dataset imported,
    stitched and its report caches built, once; a cached one gets this build's report caches."""
    from segdesk.core.importing.csv_import import import_contacts, import_orders, import_spend
    from segdesk.core.importing.events import import_events_file
    from segdesk.core.refresh import refresh_after_import, refresh_reports
    from segdesk.core.store import open_workspace

    folder = OUT / f"ui-{events}" / "ws"
    if (folder.parent / "done").exists():
        with open_workspace(folder) as ws:
            refresh_reports(ws)
        return folder
    data = dataset(events)
    t0 = time.perf_counter()
    with open_workspace(folder) as ws:
        with open(data / "events.jsonl", "rb") as f:
            import_events_file(ws, f, origin="bench")
        import_contacts(ws, (data / "contacts.csv").read_text(), origin="bench-crm")
        import_orders(ws, (data / "orders.csv").read_text(), origin="bench-shop")
        import_spend(ws, (data / "spend.csv").read_text(), origin="bench-ads")
        refresh_after_import(ws)
    (folder.parent / "done").write_text("ok\n")
    print(f"built workspace in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return folder


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--devices", type=int)
    ap.add_argument("--contacts", type=int)
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    print(dataset(args.events, args.devices, args.contacts, args.seed))
