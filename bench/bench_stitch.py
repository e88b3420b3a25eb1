"""Issue 20 item 2: the stitch after a sync of 10,000 events with a few hundred identifies.

    python bench/bench_stitch.py --events 1000000
    python bench/bench_stitch.py --events 5000000

Builds once (cached under bench/out/stitch-<events>/) the bench workspace of
bench_workspace.py: bench/datagen.py's events, contacts and orders, imported and
refreshed. Each run copies it, imports a sync's worth of new events (pages on
known and new devices; form, link and contact-id identifies of known people on
new and known devices, new people, second people on known devices) batch by
batch as a sync does, and times:

- the component stitch (what a sync now runs),
- the full re-stitch of the same evidence (what it ran before), which must then
  find nothing to change: the component stitch left what a full one leaves,
- a page-views-only sync of 10,000 events.

``--insert-cost`` times what migration 0018's indexes on events add to an import.

Wall and CPU (time.process_time) are printed with the load average: on a
shared machine the CPU time is the steadier figure.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from segdesk.core.identity.stitch import stitch  # noqa: E402
from segdesk.core.importing.csv_import import import_contacts, import_orders  # noqa: E402
from segdesk.core.importing.events import import_events_file, import_events  # noqa: E402
from segdesk.core.refresh import refresh_after_import  # noqa: E402
from segdesk.core.store import open_workspace  # noqa: E402

OUT = ROOT / "bench" / "out"


def workspace(events: int) -> Path:
    from datagen import dataset

    base = OUT / f"stitch-{events}"
    if not (base / "done").exists():
        shutil.rmtree(base, ignore_errors=True)
        data = dataset(events, events // 5, events // 20)
        t = time.perf_counter()
        with open_workspace(base / "ws") as ws:
            with open(data / "events.jsonl", "rb") as f:
                import_events_file(ws, f, origin="bench")
            import_contacts(ws, (data / "contacts.csv").read_text(), origin="bench-crm")
            import_orders(ws, (data / "orders.csv").read_text(), origin="bench-shop")
            refresh_after_import(ws)
        (base / "done").write_text("ok\n")
        print(f"built the workspace in {time.perf_counter() - t:.0f} s", file=sys.stderr)
    work = base.parent / (base.name + "-run")
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(base / "ws", work)
    return work


def _ts(t: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(t))


def sync_events(conn, n: int, identifies: int, seed: int = 5) -> list[dict]:
    """n events after the workspace's last one (a tenth late, before it), ``identifies`` of them
    identifies (the rest page views)."""
    rng = random.Random(seed)
    last = conn.execute("SELECT max(ts) FROM events").fetchone()[0]
    t0 = time.mktime(time.strptime(last[:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
    known = rng.sample([r[0] for r in conn.execute("SELECT anonymous_id FROM devices ORDER BY anonymous_id")], 5000)
    people = rng.sample(conn.execute("SELECT c.email, k.key FROM contacts c JOIN contact_keys k ON k.email = c.email "
                                     "ORDER BY c.email").fetchall(), 2000)
    new = [f"sync-{seed}-{i}" for i in range(n // 4)]
    out = []
    for i in range(n):
        # One in ten arrives late (a browser's queue sent after days offline): first-seen times can move.
        when = _ts(t0 + 1 + i * 0.5 if i % 10 else t0 - rng.uniform(0, 86400 * 120))
        mid = f"sync-{seed}-{i}"
        if i % (n // identifies) == 0:
            kind = (i // (n // identifies)) % 5
            email, key = rng.choice(people)
            aid = rng.choice(new if kind in (0, 3) else known)
            traits = ({"email": email} if kind in (0, 2) else {"contact_id": key.split(":")[-1]} if kind == 1
                      else {"email": f"new-{seed}-{i}@example.com"})
            method = "form" if kind in (0, 3, 4) else "link"
            if kind == 4:  # a second person on a known device: a split
                traits = {"email": rng.choice(people)[0]}
            out.append({"type": "identify", "anonymousId": aid, "messageId": mid, "timestamp": when,
                        "traits": traits, "context": {"segdesk": {"method": method}}})
        else:
            aid = rng.choice(new if rng.random() < 0.3 else known)
            out.append({"type": "page", "anonymousId": aid, "messageId": mid, "timestamp": when,
                        "context": {"page": {"url": f"https://shop.example.com/p/{i % 50}", "referrer": ""}}})
    return out


def _timed(fn):
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w, time.process_time() - c


def run(events: int, sync: int, identifies: int) -> None:
    folder = workspace(events)
    with open_workspace(folder) as ws:
        conn = ws.conn
        n = conn.execute("SELECT count(*) FROM events").fetchone()[0]
        import_events(ws, sync_events(conn, sync, identifies), origin="bench-sync")
        comp, comp_wall, comp_cpu = _timed(lambda: stitch(ws))
        assert not comp.full, "the sync took the full stitch"
        full, full_wall, full_cpu = _timed(lambda: stitch(ws, full=True))
        same = not full.changed_contacts and not full.changed_devices
        import_events(ws, [e for e in sync_events(conn, sync, identifies, seed=6) if e["type"] == "page"],
                      origin="bench-pages")
        pages, pages_wall, pages_cpu = _timed(lambda: stitch(ws))
    print(f"== {n:,} events, a sync of {sync:,} events with {identifies} identifies "
          f"(load average {os.getloadavg()[0]:.1f})")
    print(f"component stitch     {comp_wall:.3f} s wall / {comp_cpu:.3f} s CPU: "
          f"{len(comp.changed_contacts)} contacts, {len(comp.changed_devices)} devices changed")
    print(f"full re-stitch       {full_wall:.3f} s wall / {full_cpu:.3f} s CPU; "
          f"{'found nothing to change (equal)' if same else 'CHANGED ROWS: NOT EQUAL'}")
    print(f"page views only      {pages_wall:.3f} s wall / {pages_cpu:.3f} s CPU "
          f"({len(pages.changed_contacts)} first-seen times moved)")
    shutil.rmtree(folder, ignore_errors=True)
    if not same:
        sys.exit(1)


# Migration 0018's indexes on events: what they add to each import.
EVENT_INDEXES = ("events_email", "events_contact_key", "events_user_email")


def insert_cost(events: int, rows: int = 300_000) -> None:
    """CPU per event of inserting the dataset's first rows with the real schema, batch by batch
    (a sync into a big workspace), with and without 0018's indexes on events."""
    import orjson
    from datagen import dataset
    from segdesk.core.importing.event_rows import event_row
    from segdesk.core.importing.events import INSERT_SQL

    with open(dataset(events, events // 5, events // 20) / "events.jsonl", "rb") as f:
        parsed = [event_row(orjson.loads(line), "bench", line) for _, line in zip(range(rows), f)]
    for label, drop in (("with 0018's indexes", ()), ("without them", EVENT_INDEXES)):
        folder = OUT / "stitch-insert"
        shutil.rmtree(folder, ignore_errors=True)
        with open_workspace(folder) as ws:
            for name in drop:
                ws.conn.execute(f"DROP INDEX {name}")
            cpu = time.process_time()
            for i in range(0, len(parsed), 50_000):
                with ws.conn:
                    ws.conn.executemany(INSERT_SQL, parsed[i:i + 50_000])
            cpu = time.process_time() - cpu
        shutil.rmtree(folder, ignore_errors=True)
        print(f"insert {len(parsed):,} events {label}: {cpu / len(parsed) * 1e6:.2f} us CPU an event")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--sync", type=int, default=10_000)
    ap.add_argument("--identifies", type=int, default=300)
    ap.add_argument("--insert-cost", action="store_true", help="time 0018's indexes' share of an import instead")
    args = ap.parse_args()
    if args.insert_cost:
        insert_cost(args.events)
    else:
        run(args.events, args.sync, args.identifies)


if __name__ == "__main__":
    main()
