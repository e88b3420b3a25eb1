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


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--devices", type=int)
    ap.add_argument("--contacts", type=int)
    ap.add_argument("--seed", type=int, default=11)
    args = ap.parse_args()
    print(dataset(args.events, args.devices, args.contacts, args.seed))
