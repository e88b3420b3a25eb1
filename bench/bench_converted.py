"""Reports with and without converted figures (issue 16 item 1), on a demo workspace.

    segdesk --workspace /tmp/demo3 demo --no-open --contacts 3000
    python bench/bench_converted.py /tmp/demo3

Prints the fastest of five builds of each report, in milliseconds.
"""

from __future__ import annotations

import sys
import time

from segdesk.core.reports import build_report
from segdesk.core.store import open_workspace

CASES = [("campaigns", None), ("campaigns", "eur"), ("attribution", None), ("attribution", "eur"),
         ("ltv", None), ("ltv", "eur"), ("summary", None), ("summary", "eur"), ("roas", None), ("roas", "eur")]


def main(folder: str) -> None:
    with open_workspace(folder) as w:
        for name, currency in CASES:
            times = []
            for _ in range(5):
                started = time.perf_counter()
                build_report(w.conn, name, currency=currency)
                times.append((time.perf_counter() - started) * 1000)
            print(f"{name:12} {currency or '-':4} {min(times):6.0f} ms")


if __name__ == "__main__":
    main(sys.argv[1])
