"""Where an event's insert time goes: the events table with and without each index.

    python bench/bench_insert_costs.py --events 1000000

Parses and builds the rows once (timed), then inserts the same rows into fresh
databases: no index, the unique message id, the device index, both, both built
after the rows (what a bulk load does), and the real schema row by row (what a
sync into a big workspace does). CPU microseconds per event, 50k events per commit.
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
from segdesk.core.importing.event_rows import event_row  # noqa: E402
from segdesk.core.importing.events import INSERT_SQL  # noqa: E402
from segdesk.core.schema import migrations  # noqa: E402

TABLE = ("CREATE TABLE events (id INTEGER PRIMARY KEY, message_id TEXT NOT NULL, type TEXT NOT NULL, "
         "anonymous_id TEXT, user_id TEXT, ts TEXT NOT NULL, name TEXT, "
         "ch_source TEXT, ch_medium TEXT, ch_campaign TEXT, ch_term TEXT, ch_content TEXT, email TEXT, "
         "contact_key TEXT, method TEXT, origin TEXT NOT NULL, raw BLOB NOT NULL);")
UNIQUE = "CREATE UNIQUE INDEX events_message_id ON events(message_id);"
DEVICE = "CREATE INDEX events_device_ts ON events(anonymous_id, ts);"


def _real_schema(conn) -> list[str]:
    """The workspace's own events table, indexes and triggers (every migration applied)."""
    migrations.apply(sqlite_utils.Database(conn))
    return []


def insert(rows, setup, sql=INSERT_SQL, batch=50_000) -> float:
    """CPU microseconds per event; ``setup`` makes the table and returns index SQL to build afterwards."""
    with tempfile.TemporaryDirectory() as tmp:
        conn = sqlite3.connect(Path(tmp) / "x.sqlite")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        after = setup(conn) or []
        start = time.process_time()
        for i in range(0, len(rows), batch):
            with conn:
                conn.executemany(sql, rows[i:i + batch])
        for statement in after:
            with conn:
                conn.execute(statement)
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
        ("events row, no index", lambda c: c.executescript(TABLE), rows, INSERT_SQL),
        ("+ unique message id", lambda c: c.executescript(TABLE + UNIQUE), rows, INSERT_SQL),
        ("+ device index only", lambda c: c.executescript(TABLE + DEVICE), rows, INSERT_SQL),
        ("+ both", lambda c: c.executescript(TABLE + UNIQUE + DEVICE), rows, INSERT_SQL),
        ("both, built after the rows (bulk)", lambda c: c.executescript(TABLE) or [UNIQUE, DEVICE], rows, INSERT_SQL),
        ("the real schema, row by row", _real_schema, rows, INSERT_SQL),
    ]
    for label, setup, data_rows, sql in cases:
        print(f"insert {label:36} {insert(data_rows, setup, sql):5.1f} us")


if __name__ == "__main__":
    main()
