"""The relay's write-ahead log stays bounded while events keep arriving: a
commit after every single event never lets SQLite's background checkpoint
catch up on its own, so the writer checkpoints itself past a fixed size."""

from __future__ import annotations

import asyncio
import sqlite3

from segdesk.collector_relay.buffer import Row
from segdesk.collector_relay.buffer_sqlite import WAL_CHECKPOINT_PAGES, SQLiteBuffer

UA = "Mozilla/5.0 (X11; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0"


def test_wal_stays_bounded_under_a_stream_of_single_event_commits(tmp_path):
    path = tmp_path / "buffer.db"
    buffer = SQLiteBuffer(path)
    buffer.start()
    wal = tmp_path / "buffer.db-wal"
    peak = 0
    body = b'{"type":"track","event":"Signup","context":{"userAgent":"%s"}}' % UA.encode()

    async def stream(count: int) -> None:
        nonlocal peak
        for n in range(count):
            # One event per commit, each touching the table and three indexes:
            # the shape of single-event requests arriving one at a time.
            await buffer.append([Row(f"m{n}", "2024-01-01T00:00:00.000Z", 0.0, f"anon-{n % 500}", None,
                                     f"p{n}@example.com", body)])
            peak = max(peak, wal.stat().st_size)

    try:
        asyncio.run(stream(4000))
    finally:
        buffer.stop()
    page_size = sqlite3.connect(path).execute("PRAGMA page_size").fetchone()[0]
    bound = 2 * WAL_CHECKPOINT_PAGES * (page_size + 24)  # frames carry a 24-byte header
    assert peak < bound, f"WAL reached {peak / 2**20:.1f} MiB (bound {bound / 2**20:.1f} MiB)"
    assert sqlite3.connect(path).execute("SELECT count(*) FROM events").fetchone()[0] == 4000
