"""LTV, ROAS (grouped in SQL, reports/grouped.py) and attribution sums give exactly what they gave before.

The oracle below is the grouping the reports used before (contacts from
``cohort.members``, grouped one by one in Python); both run on a generated
workspace for every key, with and without a date range and in three
timezones, and the JSON must be identical, rounding and row order included.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from statistics import median

import pytest

from segdesk.core import demo
from segdesk.core.importing.csv_import import import_orders
from segdesk.core.refresh import refresh_after_import
from segdesk.core.reports import LTV_BY, MODELS, ROAS_BY, build_report
from segdesk.core.reports.cohort import as_of, epoch, members
from segdesk.core.store import open_workspace
from segdesk.core.timeutil import format_ts

LTV_DAYS = (30, 60, 90, 180, 365)


def _ltv_groups(ms: dict, end_epoch: float | None) -> dict:
    """The former ltv._group, verbatim in substance."""
    groups: dict[str, dict] = {}
    for m in ms.values():
        revenue = m.revenue()
        customer = any(v > 0 for v in revenue.values())
        anchor = epoch(m.anchor) if m.anchor else None
        timed = [(cur, net, epoch(t)) for _i, cur, net, t in m.orders] if anchor is not None else []
        paid = [t for _c, net, t in timed if net > 0]
        for key in m.keys:
            g = groups.setdefault(key, {"contacts": 0, "customers": 0, "revenue": {}, "days": [],
                                        "ltv": {d: [0, {}] for d in LTV_DAYS}})
            g["contacts"] += 1
            g["customers"] += customer
            for cur, v in revenue.items():
                g["revenue"][cur] = g["revenue"].get(cur, 0) + v
            if anchor is None:
                continue
            if paid:
                g["days"].append(max(0.0, (min(paid) - anchor) / 86400))
            for d in LTV_DAYS:
                if end_epoch is None or anchor + d * 86400 > end_epoch:
                    continue
                slot = g["ltv"][d]
                slot[0] += 1
                limit = anchor + d * 86400
                for cur, net, t in timed:
                    if t <= limit:
                        slot[1][cur] = slot[1].get(cur, 0) + net
    return groups


def _oracle(conn, rng, by) -> dict:
    end = as_of(conn)
    out = {}
    for key, g in _ltv_groups(members(conn, rng, by), epoch(end) if end else None).items():
        out[key] = {"contacts": g["contacts"], "customers": g["customers"], "revenue": dict(sorted(g["revenue"].items())),
                    "ltv": {str(d): {c: round(v / n, 2) for c, v in sorted(money.items())}
                            for d, (n, money) in g["ltv"].items() if n},
                    "median": round(median(g["days"]), 1) if g["days"] else None}
    return out


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    w = open_workspace(tmp_path_factory.mktemp("grouped") / "ws")
    demo.generate(w, contacts=400, events=30_000, orders_per_contact=2.5, seed=11,
                  now=datetime(2026, 3, 1, tzinfo=UTC))
    refresh_after_import(w)
    # Edges the generator does not make: orders exactly N days after the first touch (inside the
    # window), 1 ms later (outside), and a fully refunded order (its currency is still listed).
    firsts = w.conn.execute("SELECT c.email, f.start_ts FROM report_first_touch f JOIN contacts c ON c.id = f.contact_id "
                            "WHERE c.email IS NOT NULL ORDER BY f.start_ts LIMIT 6").fetchall()
    lines = ["order_id,email,amount,currency,created_at,refunded_amount"]
    for i, (email, start) in enumerate(firsts):
        t = datetime.fromisoformat(start)
        for n, (days, ms, cur, refund) in enumerate([(30, 0, "usd", ""), (60, 1, "usd", ""), (3, 0, "gbp", "5.00")]):
            at = format_ts(t + timedelta(days=days + 30 * (i % 2), milliseconds=ms))
            lines.append(f"edge-{i}-{n},{email},5.00,{cur},{at},{refund}")
    import_orders(w, "\n".join(lines) + "\n")
    refresh_after_import(w)
    yield w
    w.close()


RANGES = [{}, {"since": "2025-12", "until": "2026-02-10", "timezone": "America/New_York"},
          {"until": "2026-01-15", "timezone": "Asia/Kolkata"}, {"since": "2025-11-20", "timezone": "UTC"}]


@pytest.mark.parametrize("params", RANGES)
@pytest.mark.parametrize("by", LTV_BY)
def test_ltv_matches_python_grouping(ws, by, params):
    from segdesk.core.reports.model import parse_range

    rng = parse_range(ws.conn, params.get("since"), params.get("until"), params.get("timezone"))
    expected = _oracle(ws.conn, rng, by)
    report = build_report(ws.conn, "ltv", by=by, **params)
    got = {r["key"]: {"contacts": r["contacts"], "customers": r["customers"], "revenue": r["revenue"],
                      "ltv": r["ltv_at_days"], "median": r["median_days_to_first_purchase"]} for r in report.rows}
    assert json.dumps(got, sort_keys=True) == json.dumps(expected, sort_keys=True)
    assert len(got) > 1


@pytest.mark.parametrize("params", RANGES[:2])
@pytest.mark.parametrize("by", ROAS_BY)
def test_roas_matches_python_grouping(ws, by, params):
    from segdesk.core.reports.model import parse_range

    from segdesk.core.reports.roas import row_key
    from segdesk.core.reports.spend_match import Matcher, first_touch_ads, spend_lines

    rng = parse_range(ws.conn, params.get("since"), params.get("until"), params.get("timezone"))
    # A ROAS row's leads are the contacts its spend bought (issue 12 item 3): this oracle grouped every
    # contact by first-touch key, organic and direct ones under a paid key included.
    grain = "ad_group" if by == "ad_group" else "campaign"
    matcher = Matcher(ws.conn, spend_lines(ws.conn, rng, grain), grain)
    cohort = members(ws.conn, rng, "source")
    ads = first_touch_ads(ws.conn, cohort)
    expected = {}
    for m in cohort.values():
        line = matcher.line_of(*m.touch, *ads[m.contact_id]) if m.touch else None
        if line is None:
            continue
        key = row_key(by, line)
        g = expected.setdefault(key, {"leads": 0, "customers": 0, "revenue": {}})
        g["leads"] += 1
        g["customers"] += m.is_customer()
        for cur, v in m.revenue().items():
            g["revenue"][cur] = g["revenue"].get(cur, 0) + v
    rows = build_report(ws.conn, "roas", by=by, **params).rows
    got = {r["key"]: {"leads": r["leads"], "customers": r["customers"], "revenue": r["revenue"]}
           for r in rows if r["leads"]}
    assert json.dumps(got, sort_keys=True) == json.dumps(expected, sort_keys=True)


def _credits_from_touches(conn, rng, model, lookback, by):
    """The plain loop: every order's touches in time order, weighted in Python by ``weights``; each channel
    (source, medium, campaign) summed touch by touch in (order, touch) order, then a key's channels added in
    channel order (attribution's rounding rule, which its cached weights follow too)."""
    attr = sys.modules["segdesk.core.reports.attribution"]
    data = sys.modules["segdesk.core.reports.data"]
    since, wparams = attr.window(conn, rng, lookback)
    sql = attr.TOUCHES_SQL.format(
        columns="t.contact_id, t.source, t.medium, coalesce(t.campaign, '(not set)'), "
                "julianday(o.created_at) - julianday(t.start_ts)",
        since=since, orders=data.orders_source(conn, rng), touches=attr.touches_source(conn), where=data.range_where("o"))
    per_order: dict = {}
    for oid, cur, net, touched, source, medium, campaign, age in conn.execute(
            sql, {**data.order_params(conn, rng), **wparams}):
        touches = per_order.setdefault(oid, (cur, net, []))[2]
        if touched is not None:
            touches.append(((source, medium, campaign), age))
    chan_credit, chan_orders, attributed, attributed_orders, total = {}, {}, {}, 0, {}
    for cur, net, touches in per_order.values():
        total[cur] = total.get(cur, 0) + net
        if not touches:
            continue
        attributed[cur] = attributed.get(cur, 0) + net
        attributed_orders += 1
        shares = attr.weights(model, [ch[0] != "(direct)" for ch, _ in touches], [age for _, age in touches])
        for (ch, _), w in zip(touches, shares):
            if w > 0:
                row = chan_credit.setdefault(ch, {})
                row[cur] = row.get(cur, 0.0) + net * w
                chan_orders[ch] = chan_orders.get(ch, 0.0) + w
    key = {"source": lambda ch: ch[0], "campaign": lambda ch: ch[2]}[by]
    credit, orders = {}, {}
    for ch in sorted(chan_credit):
        row = credit.setdefault(key(ch), {})
        for cur, v in chan_credit[ch].items():
            row[cur] = row.get(cur, 0.0) + v
        orders[key(ch)] = orders.get(key(ch), 0.0) + chan_orders[ch]
    return credit, orders, attributed, attributed_orders, total


@pytest.mark.parametrize("params", RANGES[:2])
@pytest.mark.parametrize("lookback", [90, 5])
@pytest.mark.parametrize("model", MODELS)
def test_attribution_sums_match_the_touch_loop(ws, model, lookback, params):
    """Single-touch models summed in SQL, the others in a leaner loop or from the cached weights (lookback 90):
    the same floats, bit for bit."""
    from segdesk.core.reports.model import parse_range

    attr = sys.modules["segdesk.core.reports.attribution"]
    rng = parse_range(ws.conn, params.get("since"), params.get("until"), params.get("timezone"))
    for by in ("source", "campaign"):
        expected = _credits_from_touches(ws.conn, rng, model, lookback, by)
        assert attr._credits(ws.conn, rng, model, lookback, by) == expected
        assert expected[0] and expected[2]


@pytest.mark.parametrize("params", RANGES)
def test_summary_matches_per_order_sums(ws, params):
    """The summary's SQL grouping against the former per-contact and per-order loops."""
    from segdesk.core.reports.model import parse_range

    rng = parse_range(ws.conn, params.get("since"), params.get("until"), params.get("timezone"))
    cohort = set(members(ws.conn, rng, "source"))
    per_contact: dict = {}
    period, refunds, monthly, orders = {}, {}, {}, 0
    for cid, cur, amount, refunded, created in ws.conn.execute(
            "SELECT contact_id, currency, amount, refunded, created_at FROM report_orders"):
        if cid in cohort:
            per_contact[(cid, cur)] = per_contact.get((cid, cur), 0) + amount - refunded
        if rng.contains(created) or not (rng.since or rng.until):
            orders += 1
            period[cur] = period.get(cur, 0) + amount - refunded
            refunds[cur] = refunds.get(cur, 0) + refunded
            months = monthly.setdefault(cur, {})
            months[created[:7]] = months.get(created[:7], 0) + amount - refunded
    revenue: dict = {}
    for (_cid, cur), v in per_contact.items():
        revenue[cur] = revenue.get(cur, 0) + v
    report = build_report(ws.conn, "summary", **params)
    assert report.extra["contacts"] == len(cohort) and report.extra["orders"] == orders
    assert report.extra["customers"] == len({cid for (cid, _c), v in per_contact.items() if v > 0})
    assert (report.extra["revenue"], report.extra["period_revenue"], report.extra["refunds"]) == (
        dict(sorted(revenue.items())), dict(sorted(period.items())), dict(sorted(refunds.items())))
    assert {s["currency"]: dict(s["points"]) for s in report.series} == monthly
