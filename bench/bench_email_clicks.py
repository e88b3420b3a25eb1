"""What email-platform clicks cost the touch tables (issue 15 item 8).

    python bench/bench_email_clicks.py --events 200000 --contacts 20000 --clicks-per-contact 2

Builds a demo workspace, then times (best of 3, wall) a full rebuild of
``contact_touches`` without clicks, the same with the clicks stored (each
checked against the contact's email sessions for the pixel de-dup), the
refresh of 1,000 contacts marked dirty, and an attribution report.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from segdesk.core import demo  # noqa: E402
from segdesk.core.email_clicks import store_clicks  # noqa: E402
from segdesk.core.refresh import refresh_after_import  # noqa: E402
from segdesk.core.reports import build_report  # noqa: E402
from segdesk.core.reports.touches import rebuild_touches, refresh_touches  # noqa: E402
from segdesk.core.store import open_workspace  # noqa: E402


def best(fn, n: int = 3) -> float:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=200_000)
    ap.add_argument("--contacts", type=int, default=20_000)
    ap.add_argument("--clicks-per-contact", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as folder, open_workspace(Path(folder) / "ws") as ws:
        demo.generate(ws, contacts=args.contacts, events=args.events, orders_per_contact=1, seed=7)
        refresh_after_import(ws)
        conn = ws.conn
        print(f"touches without clicks: {conn.execute('SELECT count(*) FROM contact_touches').fetchone()[0]}")
        base = best(lambda: rebuild_touches(conn))

        def dirty_refresh():
            conn.execute("INSERT OR IGNORE INTO first_touch_dirty(contact_id) "
                         "SELECT DISTINCT contact_id FROM contact_touches LIMIT 1000")
            refresh_touches(conn)
        dirty_base = best(dirty_refresh)
        rng = random.Random(3)
        emails = [e for (e,) in conn.execute("SELECT email FROM contacts")]
        rows = [("mailchimp", f"c{rng.randrange(20)}:{e}:{k}", e,
                 f"2026-0{rng.randrange(1, 9)}-1{rng.randrange(10)}T10:00:00.000Z", "mailchimp",
                 f"campaign {rng.randrange(20)}", None)
                for e in emails for k in range(args.clicks_per_contact)]
        with conn:
            store_clicks(conn, rows)
        with_clicks = best(lambda: rebuild_touches(conn))
        touches = conn.execute("SELECT count(*) FROM contact_touches").fetchone()[0]
        dirty = best(dirty_refresh)
        report = best(lambda: build_report(conn, "attribution", model="linear", by="source"))
        print(f"{len(rows)} clicks, {touches} touches with them")
        print(f"rebuild_touches: {base:.3f} s without clicks, {with_clicks:.3f} s with them")
        print(f"refresh of 1,000 dirty contacts: {dirty_base * 1000:.1f} ms without clicks, {dirty * 1000:.1f} ms "
              f"with them; linear attribution with them: {report * 1000:.0f} ms")


if __name__ == "__main__":
    main()
