"""Converted figures read from the converted caches (report_orders_fx, report_contact_value_fx) are the
figures converted order by order at read time, rate notes included, and never stale.

Each check builds a report twice on the same data: as it is (the caches in use when fresh and in the
build's currency) and with ``report_fx_state`` marked stale, which sends every reader down the live
path (each counted order joined to its day's factor, ``converted.converted_orders``).
"""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime

import pytest

from segdesk.core import demo
from segdesk.core.fx import set_manual_rates, set_reporting_currency, store_rates
from segdesk.core.importing.csv_import import import_contacts, import_orders
from segdesk.core.refresh import refresh_after_import, refresh_reports
from segdesk.core.reports import build_report, converted, dashboard
from segdesk.core.reports.campaign_view import campaign_table
from segdesk.core.reports.compare import build_view
from segdesk.core.reports.contact_value import refresh_contact_value, value_table
from segdesk.core.reports.data import orders_source
from segdesk.core.reports.model import parse_range
from segdesk.core.reports.trend import revenue_and_spend
from segdesk.core.store import open_workspace

BUYER_DAY = "2026-02-10"  # the day of the orders the staleness tests add, with a USD rate of 1.25 per euro


def _make(folder):
    w = open_workspace(folder)
    demo.generate(w, contacts=300, events=15_000, orders_per_contact=2.5, seed=5,
                  now=datetime(2026, 3, 1, tzinfo=UTC))
    email = w.conn.execute("SELECT email FROM contacts WHERE email LIKE '%.com' ORDER BY id LIMIT 1").fetchone()[0]
    # A currency without any rate: its orders are left out of converted figures and named in the notes.
    import_orders(w, f"order_id,email,amount,currency,created_at\ngbp-1,{email},30.00,gbp,2026-01-15T10:00:00Z\n")
    set_reporting_currency(w.conn, "usd")
    refresh_after_import(w)
    days = sorted({d for (d,) in w.conn.execute("SELECT DISTINCT substr(created_at, 1, 10) FROM orders")})
    rnd = random.Random(9)
    # Most days a USD rate of their own, some none (an earlier day's is taken), a fortnight in December
    # none at all (orders left out), odd values so amounts round; BUYER_DAY's is known.
    # The demo's ECB rates cover every day: replace the dollar's with ECB and manual ones on some days.
    rates = [(d, "usd", round(rnd.uniform(0.9, 1.3), 4)) for d in days
             if rnd.random() < 0.7 and not "2025-12-01" <= d <= "2025-12-14" and d != BUYER_DAY]
    with w.conn:
        w.conn.execute("DELETE FROM fx_rates WHERE currency = 'usd'")
        store_rates(w.conn, rates[::2], "ecb")
    set_manual_rates(w.conn, [(d, c, str(r)) for d, c, r in rates[1::2]] + [(BUYER_DAY, "usd", "1.25")])
    refresh_reports(w)
    assert converted.cached_target(w.conn) == "usd"
    return w, email


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    w, _ = _make(tmp_path_factory.mktemp("fxc") / "ws")
    yield w
    w.close()


@pytest.fixture
def ws(tmp_path):
    w, email = _make(tmp_path / "ws")
    w.buyer = email
    yield w
    w.close()


def _text(value) -> str:
    return json.dumps(value.to_json() if hasattr(value, "to_json") else value, sort_keys=True, default=repr)


def _live(conn, build) -> str:
    """``build()`` with the converted caches marked stale (every converted read goes live), then undone."""
    conn.execute("SAVEPOINT live")
    conn.execute("UPDATE report_fx_state SET dirty = 1")
    try:
        assert converted.cached_target(conn) is None
        return _text(build())
    finally:
        conn.execute("ROLLBACK TO live")
        conn.execute("RELEASE live")


MONTH = {"since": "2026-01-01", "until": "2026-01-31"}
CASES = {
    "ltv by source": lambda c: build_report(c, "ltv", by="source", currency="usd"),
    "ltv by tag": lambda c: build_report(c, "ltv", by="tag", currency="usd"),
    "ltv by cohort month, a range in New York": lambda c: build_report(
        c, "ltv", by="cohort_month", since="2025-12", until="2026-02-10", timezone="America/New_York", currency="usd"),
    "ltv by campaign, filter tag": lambda c: build_report(c, "ltv", by="campaign", currency="usd",
                                                          filters={"tag": "webinar"}),
    "ltv by source, filter product": lambda c: build_report(c, "ltv", by="source", currency="usd",
                                                            filters={"product": "Pro course"}),
    "attribution time decay": lambda c: build_report(c, "attribution", model="time_decay", currency="usd"),
    "attribution linear by campaign, a month": lambda c: build_report(c, "attribution", by="campaign",
                                                                      currency="usd", **MONTH),
    "attribution models side by side": lambda c: build_view(c, "attribution", model="all", currency="usd"),
    "summary": lambda c: build_report(c, "summary", currency="usd"),
    "summary, filter source": lambda c: build_report(c, "summary", currency="usd", filters={"source": "google"}),
    "summary, month vs previous + trend": lambda c: build_view(c, "summary", compare="previous", currency="usd",
                                                               **MONTH),
    "ltv by source, month vs previous + trend": lambda c: build_view(c, "ltv", by="source", compare="previous",
                                                                     currency="usd", **MONTH),
    "roas by campaign": lambda c: build_report(c, "roas", by="campaign", currency="usd"),
    "campaigns": lambda c: build_report(c, "campaigns", currency="usd"),
    "campaign table": lambda c: campaign_table(c),
    "dashboard": lambda c: dashboard.load_dashboard(c),
    "dashboard figure changes, a month": lambda c: dashboard.load_figure_changes(c, **MONTH),
    "revenue and spend per week": lambda c: revenue_and_spend(c, "usd", "2025-11-01", "2026-02-28",
                                                              today=datetime(2026, 3, 1).date()),
}


@pytest.mark.parametrize("case", CASES)
def test_cached_converted_figures_equal_the_live_ones(shared, case):
    cached = _text(CASES[case](shared.conn))
    assert cached == _live(shared.conn, lambda: CASES[case](shared.conn))
    assert "usd" in cached or '"revenue": "' in cached  # figure changes are texts: "+$1,234 (+5%)"


def test_the_cached_path_is_the_one_taken(shared):
    rng = parse_range(shared.conn, None, None, None)
    with converted.converting(shared.conn, "usd") as rates:
        assert orders_source(shared.conn, rng) == "report_orders_fx"
        assert value_table(shared.conn, rng) == "report_contact_value_fx"
    used = rates.usage.as_dict()
    # The notes' facts were recorded without converting an order: a fortnight without a USD rate, GBP never.
    assert used["usd"]["missing_days"] >= 3 and used["gbp"]["missing_days"] == 1
    assert used["usd"]["days_on_earlier_rate"] > 0
    with converted.converting(shared.conn, "eur"):  # another currency: converted order by order
        assert orders_source(shared.conn, rng).startswith("(SELECT b.id")
        assert value_table(shared.conn, rng) is None
    assert value_table(shared.conn, rng) == "report_contact_value"


@pytest.mark.parametrize("name, by", [("ltv", "source"), ("ltv", "tag"), ("campaigns", None), ("roas", "campaign")])
def test_a_converted_twin_counts_contacts_once_and_as_the_original_does(shared, name, by):
    """Contacts per key depend on no currency: the twin reuses the original build's statement rather
    than grouping every contact again (at 5M the grouping is ~200 ms of each half)."""
    params = {"by": by} if by else {}
    statements = []
    shared.conn.set_trace_callback(statements.append)
    try:
        report = build_report(shared.conn, name, currency="eur", **params)
    finally:
        shared.conn.set_trace_callback(None)
    counting = [s for s in statements if s.lstrip().startswith("SELECT 0,")]
    assert len(counting) == 1
    plain = build_report(shared.conn, name, **params)
    with converted.converting(shared.conn, "eur"):  # the twin on its own, nothing shared
        alone = build_report(shared.conn, name, **params)
    assert _text(report.rows) != _text(plain.rows)  # converted columns were added beside the originals
    for row in report.rows:
        twin = next(r for r in alone.rows if r["key"] == row["key"])
        for key in [k for k in row if k.endswith("_converted")]:
            assert row[key] == twin.get(key[: -len("_converted")], {}), (row["key"], key)


def _usd_revenue(conn) -> int:
    return build_report(conn, "summary", currency="usd").extra["converted"]["revenue"]["usd"]


def _check_stale_then_fresh(ws, build=lambda c: build_report(c, "ltv", by="source", currency="usd")) -> str:
    """Stale: the live path answers; after the refresh: the caches, with the same figures."""
    assert converted.cached_target(ws.conn) is None
    stale = _text(build(ws.conn))
    refresh_after_import(ws)
    assert converted.cached_target(ws.conn) == "usd"
    assert _text(build(ws.conn)) == stale == _live(ws.conn, lambda: build(ws.conn))
    return stale


def test_a_new_order_and_a_refund(ws):
    before = _usd_revenue(ws.conn)
    import_orders(ws, f"order_id,email,amount,currency,created_at\nfx-1,{ws.buyer},100.00,eur,{BUYER_DAY}T10:00:00Z\n")
    assert _usd_revenue(ws.conn) == before + 12_500  # 100.00 EUR at 1.25 USD per euro, live
    _check_stale_then_fresh(ws)
    assert _usd_revenue(ws.conn) == before + 12_500  # and from the caches
    assert ws.conn.execute("SELECT r.amount FROM report_orders_fx r JOIN orders o ON o.id = r.id "
                           "WHERE o.order_id = 'fx-1'").fetchone() == (12_500,)
    import_orders(ws, f"order_id,email,amount,currency,created_at,refunded_amount\n"
                      f"fx-1,{ws.buyer},100.00,eur,{BUYER_DAY}T10:00:00Z,40.00\n")
    _check_stale_then_fresh(ws)
    assert _usd_revenue(ws.conn) == before + 7_500  # 60.00 EUR kept


def test_a_new_ecb_rate_and_a_manual_rate(ws):
    dec = ws.conn.execute("SELECT min(substr(created_at, 1, 10)) FROM orders "
                          "WHERE created_at >= '2025-12-03' AND currency = 'eur'").fetchone()[0]
    assert dec < "2025-12-15"  # an EUR order on a day without any USD rate within a week
    before = _usd_revenue(ws.conn)
    with ws.conn:
        store_rates(ws.conn, [("usd", dec, 1.1)], "ecb")
    _check_stale_then_fresh(ws)
    assert _usd_revenue(ws.conn) > before  # the day's orders convert now
    set_manual_rates(ws.conn, [(BUYER_DAY, "usd", "1.5")])
    _check_stale_then_fresh(ws, lambda c: build_report(c, "attribution", model="time_decay", currency="usd"))
    assert ws.conn.execute("SELECT rate FROM fx_rates WHERE day = ? AND origin = 'manual'",
                           (BUYER_DAY,)).fetchone() == (1.5,)


def test_a_change_of_reporting_currency(ws):
    set_reporting_currency(ws.conn, "eur")
    # Still the USD figures, and still right: they say which currency they hold.
    assert converted.cached_target(ws.conn) == "usd"
    eur = _text(campaign_table(ws.conn))
    assert '"eur"' in eur
    refresh_reports(ws)
    assert converted.cached_target(ws.conn) == "eur"
    rng = parse_range(ws.conn, None, None, None)
    with converted.converting(ws.conn, "eur"):
        assert value_table(ws.conn, rng) == "report_contact_value_fx"
    assert _text(campaign_table(ws.conn)) == eur == _live(ws.conn, lambda: campaign_table(ws.conn))
    with converted.converting(ws.conn, "usd"):
        assert value_table(ws.conn, rng) is None


def test_choosing_a_reporting_currency_converts_the_caches_at_once(ws):
    from segdesk.sync.sources import choose_reporting_currency

    assert choose_reporting_currency(ws, "EUR")[0] == "eur"
    assert converted.cached_target(ws.conn) == "eur"
    # The hourly figures (summary periods, the dashboard's trend) follow at once too.
    assert ws.conn.execute("SELECT fx_currency FROM report_hours_state").fetchone()[0] == "eur"
    assert _text(campaign_table(ws.conn)) == _live(ws.conn, lambda: campaign_table(ws.conn))


def test_a_moved_anchor_rewrites_that_contact_in_both_value_caches(ws):
    # A contact never seen on the site: its anchor is first_seen. Moving it moves its LTV windows.
    import_contacts(ws, "email,created_at\nshop-only@example.com,2026-01-05T09:00:00Z\n")
    import_orders(ws, f"order_id,email,amount,currency,created_at\nshop-1,shop-only@example.com,80.00,eur,"
                      f"{BUYER_DAY}T10:00:00Z\n")
    refresh_after_import(ws)
    cid = ws.conn.execute("SELECT id FROM contacts WHERE email = 'shop-only@example.com'").fetchone()[0]
    # 80.00 EUR at 1.25 USD per euro
    assert ws.conn.execute("SELECT rev FROM report_contact_value_fx WHERE contact_id = ?",
                           (cid,)).fetchone() == (10_000,)
    build = lambda c: build_report(c, "ltv", by="cohort_month", currency="usd")  # noqa: E731
    before = _text(build(ws.conn))
    with ws.conn:
        ws.conn.execute("UPDATE contacts SET first_seen = '2020-01-01T00:00:00.000Z' WHERE id = ?", (cid,))
    rng = parse_range(ws.conn, None, None, None)
    with converted.converting(ws.conn, "usd"):
        assert value_table(ws.conn, rng) is None  # the contact's anchor moved: live
    live = _text(build(ws.conn))
    assert live != before  # a 2020 cohort appears
    with ws.conn:
        assert refresh_contact_value(ws.conn) == 1  # that contact, in both tables
    with converted.converting(ws.conn, "usd"):
        assert value_table(ws.conn, rng) == "report_contact_value_fx"
    assert _text(build(ws.conn)) == live == _live(ws.conn, lambda: build(ws.conn))


def test_a_read_only_connection_never_writes(ws):
    reader = ws.reader()
    try:
        fresh = _text(build_report(reader, "ltv", by="source", currency="usd"))
        import_orders(ws, f"order_id,email,amount,currency,created_at\n"
                          f"fx-2,{ws.buyer},10.00,eur,{BUYER_DAY}T11:00:00Z\n")
        stale = _text(build_report(reader, "ltv", by="source", currency="usd"))  # query_only: a write would raise
        assert stale != fresh
        assert reader.total_changes == 0
        assert converted.cached_target(reader) is None
    finally:
        reader.close()
