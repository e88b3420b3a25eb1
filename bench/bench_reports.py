"""Reports benchmark (issues 5 and 20): every report, and the incremental session update after 10,000 new events.

    python bench/bench_reports.py --events 1000000 --contacts 50000 --orders-per-contact 3
    python bench/bench_reports.py --events 5000000 --contacts 250000 --orders-per-contact 3 --reports-only

``--reports-only`` skips the import and refresh at the end (the workspace copy stays as built);
``--repeat`` sets the builds per report (best kept).

Builds (once, cached under bench/out/) a demo workspace with segdesk.core.demo,
runs the first refresh, then times every report on a read connection (best of
3, wall and CPU) and the refresh after importing 10,000 more events (pages on
existing devices plus link identifies). The machine is shared: compare the CPU
column between runs, and run the previous commit the same way for a before/after.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from segdesk.core import demo  # noqa: E402
from segdesk.core.importing.events import import_events  # noqa: E402
from segdesk.core.refresh import refresh_after_import, refresh_reports  # noqa: E402
from segdesk.core.reports import MODELS, build_report  # noqa: E402
from segdesk.core.store import open_workspace  # noqa: E402
from segdesk.core.timeutil import format_ts, parse_ts  # noqa: E402

OUT = Path(__file__).resolve().parent / "out"
CASES = ([("summary", {})] + [("attribution", {"model": m}) for m in MODELS]
         + [("attribution", {"model": "linear", "by": "campaign"})]
         + [("ltv", {"by": b}) for b in ("source", "campaign", "tag", "cohort_month")]
         + [("roas", {"by": "source"}), ("roas", {"by": "campaign"}), ("campaigns", {})])


def later_cases(conn) -> list[tuple[str, object]]:
    """The newer reports (issue 16): campaign table, converted figures, filters, compare, dashboard.

    Converted cases convert into the workspace's reporting currency (the locale's when none is chosen:
    USD on the machines that measured bench/RESULTS.md), one case into another currency ("live path").

    Ranges are the month of the newest order, as in bench_compare_filters.py."""
    from segdesk.core.reports.campaign_view import campaign_table
    from segdesk.core.reports.compare import build_view
    from segdesk.core.reports import dashboard
    from segdesk.core.fx import reporting_currency

    newest = conn.execute("SELECT max(created_at) FROM orders").fetchone()[0]
    since, until = newest[:8] + "01", newest[:10]
    month = {"since": since, "until": until}
    # Converted figures in the workspace's reporting currency, as the app shows them (read from the
    # converted caches, converted.py), and one into another currency: converted order by order.
    cur = reporting_currency(conn)
    other = "eur" if cur != "eur" else "usd"
    up, oup = cur.upper(), other.upper()
    return [
        (f"campaign table (converted to {up})", lambda: campaign_table(conn, currency=cur)),
        (f"ltv by source, converted to {up}", lambda: build_report(conn, "ltv", by="source", currency=cur)),
        (f"ltv by source, converted to {oup} (live path)",
         lambda: build_report(conn, "ltv", by="source", currency=other)),
        (f"attribution linear, converted to {up}", lambda: build_report(conn, "attribution", currency=cur)),
        (f"summary, converted to {up}", lambda: build_report(conn, "summary", currency=cur)),
        ("ltv by source, filter tag webinar", lambda: build_report(conn, "ltv", by="source", filters={"tag": "webinar"})),
        ("ltv by source, filter source google",
         lambda: build_report(conn, "ltv", by="source", filters={"source": "google"})),
        ("ltv by source, filter device phone",
         lambda: build_report(conn, "ltv", by="source", filters={"device": "phone"})),
        ("attribution linear, filter product", lambda: build_report(conn, "attribution", filters={"product": "Pro course"})),
        ("ltv by source, a month", lambda: build_report(conn, "ltv", by="source", **month)),
        ("ltv by source, month vs previous (no trend)",
         lambda: build_view(conn, "ltv", by="source", compare="previous", trend=False, **month)),
        ("ltv by source, month vs previous + 6-period trend",
         lambda: build_view(conn, "ltv", by="source", compare="previous", **month)),
        ("summary, month vs previous + trend", lambda: build_view(conn, "summary", compare="previous", **month)),
        ("attribution, models side by side", lambda: build_view(conn, "attribution", model="all")),
        ("dashboard: figures", lambda: dashboard.load_figures(conn, None, None)),
        ("dashboard: ltv curve", lambda: dashboard.load_ltv_curve(conn, None, None)),
        ("dashboard: campaign table", lambda: dashboard.load_top_campaigns(conn, None, None)),
        ("dashboard: figure changes (a month)", lambda: dashboard.load_figure_changes(conn, since, until)),
    ]


def cache_rebuilds(ws, repeat: int = 3) -> None:
    """What a refresh pays to rebuild the counted orders and the converted caches whole (as after a sync that
    changed orders, or a rate): each rebuilt in a savepoint rolled back after, best of ``repeat``."""
    from segdesk.core.reports.contact_value import refresh_converted
    from segdesk.core.reports.data import refresh_report_orders

    for label, mark, rebuild in (
            ("rebuild report_orders (+ report_order_days)", "report_orders_state", refresh_report_orders),
            ("rebuild the converted caches (orders + per contact)", "report_fx_state", refresh_converted)):
        def run():
            ws.conn.execute("SAVEPOINT bench")
            ws.conn.execute(f"UPDATE {mark} SET dirty = 1")
            assert rebuild(ws.conn)
        def undo():
            ws.conn.execute("ROLLBACK TO bench")
            ws.conn.execute("RELEASE bench")
        best = None
        for _ in range(repeat):
            w, c = time.perf_counter(), time.process_time()
            run()
            sample = (time.perf_counter() - w, time.process_time() - c)
            undo()
            best = sample if best is None or sample[0] < best[0] else best
        print(f"{label:55} {best[0] * 1000:7.0f} ms wall {best[1] * 1000:7.0f} ms cpu", flush=True)


def workspace(events: int, contacts: int, per_contact: float) -> Path:
    base = OUT / f"reports-{events}-{contacts}-{per_contact}"
    if not (base / "done").exists():
        shutil.rmtree(base, ignore_errors=True)
        t = time.perf_counter()
        with open_workspace(base / "ws") as ws:
            info = demo.generate(ws, contacts=contacts, events=events, orders_per_contact=per_contact, seed=7)
            print(f"generated {info} in {time.perf_counter() - t:.1f} s", flush=True)
            t = time.perf_counter()
            refresh_after_import(ws)
            print(f"first refresh (stitch + all sessions) {time.perf_counter() - t:.1f} s", flush=True)
        (base / "done").write_text("ok")
    work = base.parent / f"{base.name}-run-{os.getpid()}"  # runs side by side (before / after) do not collide
    shutil.rmtree(work, ignore_errors=True)
    shutil.copytree(base / "ws", work)
    return work


def timed(fn, repeat=3):
    best = None
    for _ in range(repeat):
        w, c = time.perf_counter(), time.process_time()
        fn()
        sample = (time.perf_counter() - w, time.process_time() - c)
        best = sample if best is None or sample[0] < best[0] else best
    return best


def new_events(ws, n: int, seed: int = 3) -> list[dict]:
    rng = random.Random(seed)
    devices = ws.conn.execute("SELECT anonymous_id, last_seen FROM devices ORDER BY random() LIMIT ?",
                              (n // 5,)).fetchall()
    out = []
    for i, (aid, last) in enumerate(devices):
        t = parse_ts(last).timestamp() + rng.uniform(600, 86400 * 3)
        for k in range(5):
            url = "https://shop.example.com/" + ("?utm_source=facebook&utm_medium=cpc" if k == 0 and i % 3 else "")
            out.append({"type": "page", "anonymousId": aid, "messageId": f"bench-{seed}-{i}-{k}",
                        "timestamp": format_ts(parse_ts(last).fromtimestamp(t + k * 240, parse_ts(last).tzinfo)),
                        "context": {"page": {"url": url, "referrer": ""}}})
    return out[:n]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--events", type=int, default=1_000_000)
    ap.add_argument("--contacts", type=int, default=50_000)
    ap.add_argument("--orders-per-contact", type=float, default=3.0)
    ap.add_argument("--reports-only", action="store_true")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    folder = workspace(args.events, args.contacts, args.orders_per_contact)
    ws = open_workspace(folder)
    refresh_reports(ws)
    counts = {t: ws.conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
              for t in ("events", "sessions", "contact_touches", "report_first_touch", "report_orders",
                        "device_segments")}
    counts["contacts"] = ws.conn.execute("SELECT count(*) FROM contacts WHERE canonical_id = id").fetchone()[0]
    print("workspace:", counts)
    reader = ws.reader()
    cases = [(f"{name:12} {str(params)}", lambda name=name, params=params: build_report(reader, name, **params))
             for name, params in CASES] + later_cases(reader)
    for label, fn in cases:
        wall, cpu = timed(fn, args.repeat)
        print(f"{label:55} {wall * 1000:7.0f} ms wall {cpu * 1000:7.0f} ms cpu", flush=True)
    cache_rebuilds(ws, args.repeat)
    if args.reports_only:
        reader.close()
        ws.close()
        shutil.rmtree(folder)
        return
    events = new_events(ws, 10_000)
    t = time.perf_counter()
    import_events(ws, events, origin="bench")
    print(f"import 10,000 events {time.perf_counter() - t:.2f} s")
    t, cpu = time.perf_counter(), time.process_time()
    sessions, rebuilt = refresh_reports(ws)  # sessions, touches and every report cache
    print(f"incremental session update after 10,000 events {time.perf_counter() - t:.2f} s "
          f"({time.process_time() - cpu:.2f} s cpu) "
          f"({len(sessions.devices)} devices, {sessions.sessions_written} sessions written)")
    t = time.perf_counter()
    refresh_after_import(ws)
    print(f"(for scale: a full refresh_after_import = stitch + no-op session update: {time.perf_counter() - t:.2f} s)")
    reader.close()
    ws.close()
    shutil.rmtree(folder)


if __name__ == "__main__":
    main()
