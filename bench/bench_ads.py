"""Ad-platform spend at scale: a year of daily ad-level Meta spend for 500 ads (issue 13).

    python bench/bench_ads.py            # 500 ads x 365 days = 182,500 rows
    python bench/bench_ads.py --ads 100  # smaller

The fake Marketing API (tests/sync/fakes_ads.py, the one the tests use, with
its rows indexed per requested range so it answers at once) runs in a child
process on loopback; this process runs the real ``run_sync``: a first sync
(a year: twelve report jobs, 500 rows a page), then an incremental sync (the
28 re-read days, one restated), then ``report roas --by campaign`` and
``--by ad_group`` over the result (no visits: all spend is unmatched, the
matching's worst case of lines). No sleeping: the injected sleep records instead of waiting.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def serve(ads: int, port_file: str) -> None:
    import httpx

    from tests.sync.fakes_ads import FakeMeta
    from tests.sync.loopback import Loopback

    class Indexed(FakeMeta):
        """The same answers, with each range's rows sorted once instead of per page."""

        def __init__(self) -> None:
            super().__init__()
            self.by_range: dict[str, list] = {}

        def route(self, request):
            # The incremental sync reads directly (no job): the platform has restated one day by then.
            if request.method == "GET" and request.url.path.endswith("act_1234/insights") and not self.by_range.get("r"):
                self.ad(date.today() - timedelta(days=3), "ad0", "0.01", campaign=("c0", "Campaign 0"),
                        adset=("s0", "Set 0"))
                self.by_range = {"r": [True]}
            return super().route(request)

        def _page(self, query, q):
            span = query["time_range"]
            if span not in self.by_range:
                s = json.loads(span)
                self.by_range[span] = [r for (d, _), r in sorted(self.spend.items()) if s["since"] <= d <= s["until"]]
            rows = self.by_range[span]
            start = int(q.get("after") or 0)
            limit = min(int(q.get("limit") or 25), self.page_cap)
            page = rows[start:start + limit]
            paging = {"cursors": {"before": str(start), "after": str(start + len(page))}}
            if start + limit < len(rows):
                paging["next"] = "https://graph.facebook.com/v21.0/next"
            return httpx.Response(200, json={"data": page, "paging": paging})

    fake = Indexed()
    fake.polls_before_done = 0
    today = date.today()
    for n in range(365):
        for a in range(ads):
            fake.ad(today - timedelta(days=n), f"ad{a}", f"{1 + (a * 7 + n) % 50}.{a % 100:02d}",
                    campaign=(f"c{a // 50}", f"Campaign {a // 50}"), adset=(f"s{a // 10}", f"Set {a // 10}"))
    fake.log = _NoLog()
    with Loopback(fake) as transport:
        Path(port_file).write_text(str(transport.port))
        sys.stdin.read()  # the parent closes stdin when done


class _NoLog(list):
    def append(self, item) -> None:  # the bench keeps no request log (memory)
        pass


def measure(ads: int) -> dict:
    from segdesk.core.reports import build_report
    from segdesk.core.store import open_workspace
    from segdesk.sync.engine import run_sync
    from segdesk.sync.http import HttpOptions
    from segdesk.sync.sources import add_source
    import keyring

    from tests.memory_keyring import MemoryKeyring
    from tests.sync.loopback import ToLoopback

    keyring.set_keyring(MemoryKeyring())  # never the machine's own keychain

    with tempfile.TemporaryDirectory() as tmp:
        port_file = Path(tmp) / "port"
        server = subprocess.Popen([sys.executable, __file__, "--serve", str(port_file), "--ads", str(ads)],
                                  stdin=subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(REPO)})
        try:
            while not port_file.exists() or not port_file.read_text():
                time.sleep(0.1)
            transport = ToLoopback(int(port_file.read_text()))
            sleeps: list[float] = []
            options = HttpOptions(transports={"meta-ads": transport}, sleep=sleeps.append)
            ws = open_workspace(Path(tmp) / "ws")
            add_source(ws, "meta-ads", None, {"account_id": "act_1234"}, "EAAB-meta-token")
            out = {"ads": ads}
            for phase in ("first", "incremental"):
                t0, c0 = time.perf_counter(), time.process_time()
                report = run_sync(ws, options=options)
                result = report.sources[0]
                assert result.ok, result.reason
                out[phase] = {"wall_s": round(time.perf_counter() - t0, 2),
                              "cpu_s": round(time.process_time() - c0, 2), "requests": result.requests,
                              "rows": result.counts.get("spend_rows", 0), "changed": result.changed.get("spend", 0)}
            out["stored_rows"] = ws.conn.execute("SELECT count(*) FROM ad_platform_spend").fetchone()[0]
            for by in ("campaign", "ad_group"):
                t0, c0 = time.perf_counter(), time.process_time()
                report = build_report(ws.conn, "roas", by=by).to_json()
                out[f"roas_by_{by}"] = {"wall_s": round(time.perf_counter() - t0, 3),
                                        "cpu_s": round(time.process_time() - c0, 3), "rows": len(report["rows"]),
                                        "unmatched_lines": len(report["unmatched_spend"])}
            out["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
            out["sleeps"] = len(sleeps)
            ws.close()
        finally:
            server.stdin.close()
            server.wait(timeout=30)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ads", type=int, default=500)
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.ads, args.serve)
        return
    print(json.dumps(measure(args.ads), indent=2))


if __name__ == "__main__":
    main()
