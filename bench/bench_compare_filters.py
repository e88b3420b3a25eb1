"""Compare, filters and models side by side (issue 16 items 3-4): each report built on a read connection.

Usage: python bench/bench_compare_filters.py WORKSPACE  (e.g. one made by
``segdesk --workspace W demo --no-open --contacts 5000 --seed 1``). The range is
the month of the newest order; each figure is the best of three builds.
"""

from __future__ import annotations

import sys
import time

from segdesk.core.reports import build_report
from segdesk.core.reports.compare import build_view
from segdesk.core.store import open_workspace


def best(fn, n: int = 3) -> float:
    out = float("inf")
    for _ in range(n):
        start = time.perf_counter()
        fn()
        out = min(out, time.perf_counter() - start)
    return out * 1000


def main(folder: str) -> None:
    ws = open_workspace(folder)
    conn = ws.reader()
    newest = conn.execute("SELECT max(created_at) FROM orders").fetchone()[0]
    since, until = newest[:8] + "01", newest[:10]
    contacts = conn.execute("SELECT count(*) FROM contacts").fetchone()[0]
    devices = conn.execute("SELECT count(*) FROM devices").fetchone()[0]
    print(f"{contacts} contacts, {devices} devices, range {since} - {until}")
    cases = {
        "ltv by source": lambda: build_report(conn, "ltv", by="source", since=since, until=until),
        "ltv by source --compare previous (6-period trend)":
            lambda: build_view(conn, "ltv", by="source", since=since, until=until, compare="previous"),
        "ltv by source --device phone":
            lambda: build_report(conn, "ltv", by="source", since=since, until=until, filters={"device": "phone"}),
        "ltv by source --tag vip": lambda: build_report(conn, "ltv", by="source", filters={"tag": "vip"}),
        "attribution linear": lambda: build_report(conn, "attribution", by="source", model="linear"),
        "attribution --model all": lambda: build_view(conn, "attribution", by="source", model="all"),
    }
    for name, fn in cases.items():
        print(f"| {name} | {best(fn):.0f} ms |")
    conn.close()
    ws.close()


if __name__ == "__main__":
    main(sys.argv[1])
