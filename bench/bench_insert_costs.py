"""Where an event's insert time goes: the events table with and without each index.

    python bench/bench_insert_costs.py --events 1000000

Parses and builds the rows once (timed), then inserts the same rows into fresh
databases: no index, the unique message id, the device index, both, and the real
schema. CPU microseconds per event, 50k events per commit as the import does.
"""

from __future__ import annotations

import argparse
import gc
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import orjson
import sqlite_utils

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from datagen import dataset  # noqa: E402
from segdesk.core.events import INSERT_SQL, event_row  # noqa: E402
from segdesk.core.schema import m0001_initial  # noqa: E402

TABLE = ("CREATE TABLE events (id INTEGER PRIMARY KEY, message_id TEXT NOT NULL {unique}, type TEXT NOT NULL, "
         "anonymous_id TEXT, user_id TEXT, ts TEXT NOT NULL, name TEXT, url TEXT, referrer TEXT, title TEXT, "
         "ch_source TEXT, ch_medium TEXT, ch_campaign TEXT, ch_term TEXT, ch_content TEXT, email TEXT, "
         "contact_key TEXT, method TEXT, origin TEXT NOT NULL, raw BLOB NOT NULL);")
DEVICE = "CREATE INDEX events_device_ts ON events(anonymous_id, ts);"


def insert(rows, setup, sql=INSERT_SQL, batch=50_000) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        conn = sqlite3.connect(Path(tmp) / "x.sqlite")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        setup(conn)
        start = time.process_time()
        for i in range(0, len(rows), batch):
            with conn:
                conn.executemany(sql, rows[i:i + batch])
        conn.close()
        return (time.process_time() - start) / len(rows) * 1e6


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1_000_000)
    args = ap.parse_args()
    gc.disable()  # a million live dicts would make the collector, not the parser, the cost
    data = dataset(args.events, args.events // 5, args.events // 20)
    lines = [line.strip() for line in open(data / "events.jsonl", "rb")]
    start = time.process_time()
    parsed = [orjson.loads(line) for line in lines]
    parse_us = (time.process_time() - start) / len(lines) * 1e6
    start = time.process_time()
    rows = [event_row(ev, "bench", line) for ev, line in zip(parsed, lines)]
    row_us = (time.process_time() - start) / len(lines) * 1e6
    del parsed
    print(f"{len(rows):,} events: parse {parse_us:.1f} us, build row {row_us:.1f} us (CPU per event)")
    bare = [(r[0], r[-1]) for r in rows]
    cases = [
        ("bare: message id + body, no index", lambda c: c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, m TEXT, b BLOB)"),
         bare, "INSERT INTO t (m, b) VALUES (?, ?)"),
        ("events row, no index", lambda c: c.executescript(TABLE.format(unique="")), rows, INSERT_SQL),
        ("+ unique message id", lambda c: c.executescript(TABLE.format(unique="UNIQUE")), rows, INSERT_SQL),
        ("+ device index only", lambda c: c.executescript(TABLE.format(unique="") + DEVICE), rows, INSERT_SQL),
        ("+ both", lambda c: c.executescript(TABLE.format(unique="UNIQUE") + DEVICE), rows, INSERT_SQL),
        ("the real schema", lambda c: m0001_initial(sqlite_utils.Database(c)), rows, INSERT_SQL),
    ]
    for label, setup, data_rows, sql in cases:
        print(f"insert {label:36} {insert(data_rows, setup, sql):5.1f} us")


if __name__ == "__main__":
    main()
