"""The summary, its comparisons and the dashboard read from the caches (per-contact revenue, orders per hour,
one statement for several periods) and give exactly what the live path gives, before and after every refresh.

Each check builds the same thing twice on the same data: as it is (caches in use when fresh) and with
every cache marked stale (a savepoint, rolled back), which sends the readers down the live path.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from segdesk.core import demo
from segdesk.core.fx import set_manual_rates, set_reporting_currency
from segdesk.core.importing.csv_import import import_contacts, import_orders
from segdesk.core.refresh import refresh_after_import
from segdesk.core.reports import build_report, dashboard
from segdesk.core.reports.converted import converting
from segdesk.core.reports.compare import TREND_PERIODS, build_view, shifted
from segdesk.core.reports.model import parse_range
from segdesk.core.reports.order_hours import hours_source
from segdesk.core.reports.summary import prefetch
from segdesk.core.reports.trend import revenue_and_spend
from segdesk.core.store import open_workspace

MONTH = {"since": "2026-02-01", "until": "2026-02-28"}
CASES = {
    "all time": lambda c: build_report(c, "summary"),
    "a month": lambda c: build_report(c, "summary", since="2026-01", until="2026-01"),
    # Half-hour offset: the bounds fall inside UTC hours, so the period figures are grouped live.
    "Kolkata days": lambda c: build_report(c, "summary", since="2026-01-10", until="2026-02-03", timezone="Asia/Kolkata"),
    "tag": lambda c: build_report(c, "summary", filters={"tag": "webinar"}),
    "product": lambda c: build_report(c, "summary", filters={"product": "Pro course"}, since="2026-01"),
    "converted usd": lambda c: build_report(c, "summary", currency="usd", **MONTH),
    "converted eur": lambda c: build_report(c, "summary", currency="eur"),
    "vs previous": lambda c: build_view(c, "summary", compare="previous", currency="usd", **MONTH),
    "vs last year, New York": lambda c: build_view(c, "summary", compare="year", since="2025-12", until="2026-02",
                                                   timezone="America/New_York"),
    "dashboard figures": lambda c: {k: v for k, v in dashboard.load_figures(c, None, None).items() if k != "summary"},
    "dashboard figures, a month": lambda c: {k: v for k, v in dashboard.load_figures(c, **MONTH).items()
                                             if k != "summary"},
    "dashboard changes": lambda c: dashboard.load_figure_changes(c, **MONTH),
    "trend by day": lambda c: revenue_and_spend(c, "usd", "2026-02-01", "2026-02-20"),
}


@pytest.fixture
def ws(tmp_path):
    w = open_workspace(tmp_path / "ws")
    demo.generate(w, contacts=300, events=15_000, orders_per_contact=2.5, seed=5,
                  now=datetime(2026, 3, 1, tzinfo=UTC))
    with w.conn:
        set_reporting_currency(w.conn, "usd")
    refresh_after_import(w)
    yield w
    w.close()


def _text(value) -> str:
    return json.dumps(value.to_json() if hasattr(value, "to_json") else value, sort_keys=True, default=str)


def _live(ws, case) -> str:
    ws.conn.execute("SAVEPOINT live")
    ws.conn.execute("UPDATE report_value_state SET dirty = 1")
    ws.conn.execute("UPDATE report_hours_state SET dirty = 1, fx_dirty = 1")
    try:
        return _text(case(ws.conn))
    finally:
        ws.conn.execute("ROLLBACK TO live")
        ws.conn.execute("RELEASE live")


def _fresh(ws) -> tuple:
    return ws.conn.execute("SELECT dirty, fx_dirty, fx_currency FROM report_hours_state").fetchone()


@pytest.mark.parametrize("name", CASES)
def test_cached_figures_equal_the_live_ones(ws, name):
    assert _fresh(ws) == (0, 0, "usd")
    cached = _text(CASES[name](ws.conn))
    assert cached == _live(ws, CASES[name])
    assert '"revenue": {}' not in cached


def test_a_comparison_read_at_once_equals_each_period_built_alone(ws):
    view = build_view(ws.conn, "summary", compare="previous", currency="usd", **MONTH)
    info = view.extra["compare"]
    periods = [shifted(MONTH["since"], MONTH["until"], "previous", step) for step in range(TREND_PERIODS - 1, 0, -1)]
    alone = [build_report(ws.conn, "summary", since=s, until=u, currency="usd") for s, u in periods]
    alone.append(build_report(ws.conn, "summary", currency="usd", **MONTH))
    assert info["trend"]["contacts"] == [r.extra["contacts"] for r in alone]
    assert info["trend"]["orders"] == [r.extra["orders"] for r in alone]
    assert info["trend"]["revenue"]["usd"] == [r.extra["revenue"].get("usd", 0) for r in alone]
    assert info["trend"]["converted"]["period_revenue"] == [r.extra["converted"]["period_revenue"].get("usd", 0)
                                                            for r in alone]
    before = alone[-2]
    assert info["figures"]["customers"]["previous"] == before.extra["customers"]
    assert info["converted_figures"]["revenue"]["previous"] == before.extra["converted"]["revenue"]
    assert view.notes == alone[-1].notes and any("converted to USD" in n for n in view.notes)
    # Read together, each build is still whole: figures, converted figures and the rates it used (its notes).
    with prefetch(periods):
        together = [build_report(ws.conn, "summary", since=s, until=u, currency="usd") for s, u in periods]
    assert [(_text(r), r.notes) for r in together] == [(_text(r), r.notes) for r in alone[:-1]]


def test_a_new_order_counts_before_and_after_the_refresh(ws):
    email = ws.conn.execute("SELECT email FROM contacts WHERE canonical_id = id AND email IS NOT NULL "
                            "ORDER BY id LIMIT 1").fetchone()[0]
    before = build_report(ws.conn, "summary", **MONTH).extra
    import_orders(ws, f"order_id,email,amount,currency,created_at\nhours-1,{email},12.34,usd,2026-02-14T09:30:00Z\n")
    assert _fresh(ws)[:2] == (1, 1)
    assert hours_source(ws.conn, [parse_range(ws.conn, None, None)]) is None
    stale = build_report(ws.conn, "summary", **MONTH).extra
    assert stale["orders"] == before["orders"] + 1
    assert stale["period_revenue"]["usd"] == before["period_revenue"]["usd"] + 1234
    refresh_after_import(ws)
    assert _fresh(ws) == (0, 0, "usd")
    assert build_report(ws.conn, "summary", **MONTH).extra == stale
    assert ws.conn.execute("SELECT orders, net FROM report_order_hours WHERE target = '' AND hour = '2026-02-14T09' "
                           "AND currency = 'usd'").fetchone() == tuple(ws.conn.execute(
        "SELECT count(*), sum(amount - refunded) FROM report_orders WHERE substr(created_at, 1, 13) = '2026-02-14T09' "
        "AND currency = 'usd'").fetchone())


def test_a_new_rate_or_reporting_currency_reads_live_until_the_refresh(ws):
    case = CASES["dashboard figures"]
    with ws.conn:
        set_manual_rates(ws.conn, [("2026-02-10", "usd", "2.0")])  # doubles that day's USD in euros' terms
    assert _fresh(ws)[:2] == (0, 1)
    assert _text(case(ws.conn)) == _live(ws, case)
    refresh_after_import(ws)
    assert _fresh(ws) == (0, 0, "usd")
    assert _text(case(ws.conn)) == _live(ws, case)
    with ws.conn:
        set_reporting_currency(ws.conn, "eur")
    everything = [parse_range(ws.conn, None, None)]
    with converting(ws.conn, "eur"):  # the figures the app reads now convert into EUR: the USD rows cannot answer
        assert hours_source(ws.conn, everything) is None
    with converting(ws.conn, "usd"):
        assert hours_source(ws.conn, everything) is not None
    eur = _text(case(ws.conn))
    assert eur == _live(ws, case) and '"currency": "eur"' in eur
    refresh_after_import(ws)
    assert _fresh(ws) == (0, 0, "eur")
    assert _text(case(ws.conn)) == eur


def test_an_order_time_not_in_the_canonical_form_leaves_the_hours_unused(ws):
    with ws.conn:
        ws.conn.execute("INSERT INTO orders(origin, order_id, email, amount, currency, created_at) "
                        "VALUES ('csv', 'odd-1', NULL, 500, 'usd', '2026-02-14T09:30:00Z')")
    refresh_after_import(ws)
    assert _fresh(ws)[:2] == (2, 2)
    assert hours_source(ws.conn, [parse_range(ws.conn, None, None)]) is None
    assert _text(CASES["a month"](ws.conn)) == _live(ws, CASES["a month"])


@pytest.fixture
def small(tmp_path):
    """Three buyers, orders placed by hand around hour and local-day boundaries (Asia/Kolkata is UTC+5:30)."""
    w = open_workspace(tmp_path / "small")
    import_contacts(w, "email,created_at\na@example.com,2026-01-05T10:00:00Z\nb@example.com,2026-02-10T18:00:00Z\n"
                       "c@example.com,2026-03-01T08:00:00Z\n")
    import_orders(w, "order_id,email,amount,currency,created_at\n"
                     "1,a@example.com,10.00,usd,2026-03-05T10:15:00Z\n"
                     "2,a@example.com,20.00,usd,2026-03-05T10:45:00Z\n"
                     "3,b@example.com,5.00,eur,2026-02-10T18:15:00Z\n"
                     "4,b@example.com,7.00,eur,2026-02-10T18:45:00Z\n"
                     "5,c@example.com,3.00,usd,2026-03-31T23:59:00Z\n")
    refresh_after_import(w)
    yield w
    w.close()


def test_period_figures_by_hand(small):
    assert _fresh(small)[0] == 0
    assert small.conn.execute("SELECT hour, currency, orders, net FROM report_order_hours WHERE target = '' "
                              "ORDER BY 1, 2").fetchall() == [
        ("2026-02-10T18", "eur", 2, 1200), ("2026-03-05T10", "usd", 2, 3000), ("2026-03-31T23", "usd", 1, 300)]
    march = build_report(small.conn, "summary", since="2026-03", until="2026-03").extra
    # Orders 1, 2 and 5 (30 + 3 USD); the cohort is c alone (first seen in March), who paid 3 USD.
    assert (march["orders"], march["period_revenue"], march["contacts"], march["revenue"]) == (3, {"usd": 3300}, 1,
                                                                                             {"usd": 300})
    # 11 February in Kolkata is 10 Feb 18:30Z to 11 Feb 18:30Z: order 4 (18:45Z) only, not order 3 (18:15Z),
    # although both are in the hour 18Z; b (first seen 18:00Z, 23:30 local on the 10th) is not in the cohort.
    kolkata = build_report(small.conn, "summary", since="2026-02-11", until="2026-02-11", timezone="Asia/Kolkata")
    assert (kolkata.extra["orders"], kolkata.extra["period_revenue"], kolkata.extra["contacts"]) == (1, {"eur": 700}, 0)
    # March against February with a six-month trend: January and the three months before have nothing.
    info = build_view(small.conn, "summary", compare="previous", since="2026-03", until="2026-03").extra["compare"]
    assert info["figures"]["period_revenue"] == {"previous": {"eur": 1200}, "change": {"eur": -1200, "usd": 3300},
                                                 "change_pct": {"eur": -100.0, "usd": None}}
    assert info["trend"]["period_revenue"] == {"eur": [0, 0, 0, 0, 1200, 0], "usd": [0, 0, 0, 0, 0, 3300]}
    assert info["trend"]["contacts"] == [0, 0, 0, 1, 1, 1]
    assert info["trend"]["customers"] == [0, 0, 0, 1, 1, 1]
