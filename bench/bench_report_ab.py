"""A/B timing of a few reports on one workspace, for alternating before/after runs on a shared machine.

    python bench/bench_report_ab.py TREE WORKSPACE LABEL

TREE is the source tree to import segdesk from (this checkout, or ``git archive <commit>`` unpacked
elsewhere), WORKSPACE a built workspace folder (bench_reports.py keeps its 1M one under bench/out/).
Run it alternately for the two trees and compare the CPU column (best of 3).
"""

from __future__ import annotations

import sys
import time


def main() -> None:
    tree, folder, label = sys.argv[1:4]
    sys.path.insert(0, tree)
    from segdesk.core.reports import build_report, dashboard
    from segdesk.core.reports.campaign_view import campaign_table
    from segdesk.core.reports.compare import build_view
    from segdesk.core.store import open_workspace

    ws = open_workspace(folder)
    r = ws.reader()
    cases = [(f"attribution {m}", lambda m=m: build_report(r, "attribution", model=m))
             for m in ("linear", "position_based", "time_decay")]
    cases += [("models side by side", lambda: build_view(r, "attribution", model="all")),
              ("campaign table EUR", lambda: campaign_table(r, currency="eur")),
              ("summary EUR", lambda: build_report(r, "summary", currency="eur")),
              ("dashboard figures", lambda: dashboard.load_figures(r, None, None))]
    for name, fn in cases:
        best = None
        for _ in range(3):
            c = time.process_time()
            fn()
            spent = time.process_time() - c
            best = spent if best is None or spent < best else best
        print(f"{label:6} {name:28} {best * 1000:6.0f} ms cpu", flush=True)
    r.close()
    ws.close()


if __name__ == "__main__":
    main()
