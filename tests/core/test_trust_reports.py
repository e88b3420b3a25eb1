"""Issue 12 items 2 and 4, issue 23 item 1: per-currency "per customer", lookback 0, cohort curves under a filter.

Every expected value is computed by hand in the comments above it.
"""

from __future__ import annotations

import json

import pytest

from segdesk.cli import main
from segdesk.core.csv_import import import_orders
from segdesk.core.events import import_events
from segdesk.core.refresh import refresh_after_import
from segdesk.core.reports import build_report
from segdesk.core.store import open_workspace

from .wire import identify, page


def _cli_json(capsys, *argv) -> dict:
    capsys.readouterr()
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture
def mixed(_fresh_workspace):
    """A pays 100 USD, B 50 EUR, C 20 USD and 10 EUR; D pays nothing."""
    w = open_workspace(_fresh_workspace)
    import_orders(w, "order_id,email,amount,currency,created_at\n"
                     "1,a@x.com,100.00,usd,2026-03-01T10:00:00Z\n2,b@x.com,50.00,eur,2026-03-02T10:00:00Z\n"
                     "3,c@x.com,20.00,usd,2026-03-03T10:00:00Z\n4,c@x.com,10.00,eur,2026-03-03T11:00:00Z\n")
    import_events(w, [identify("d1", "2026-03-04T10:00:00.000Z", email="d@x.com")], origin="test")
    refresh_after_import(w)
    w.close()
    return _fresh_workspace


def test_per_customer_divides_by_that_currencys_customers(mixed, capsys):
    # USD: (100 + 20) / 2 payers (A, C) = 60.00; EUR: (50 + 10) / 2 payers (B, C) = 30.00.
    s = _cli_json(capsys, "report", "summary")
    assert s["customers"] == 3 and s["customers_per_currency"] == {"eur": 2, "usd": 2}
    assert s["value_per_customer"] == {"eur": 3000.0, "usd": 6000.0}
    # Lead value still divides by all 4 contacts: 120/4 = 30.00 USD, 60/4 = 15.00 EUR.
    assert s["lead_value"] == {"eur": 1500.0, "usd": 3000.0}
    rows = {r["key"]: r for r in s["rows"]}
    assert (rows["usd"]["customers"], rows["eur"]["customers"]) == (2, 2)
    # LTV (all four contacts have no first touch: one "(unknown)" row) and ROAS say the same.
    ltv = _cli_json(capsys, "report", "ltv", "--by", "source")["rows"]
    assert [(r["key"], r["customers"], r["value_per_customer"]) for r in ltv] == [
        ("(unknown)", 3, {"eur": 3000.0, "usd": 6000.0})]
    month = _cli_json(capsys, "report", "ltv", "--by", "cohort_month")["rows"]
    assert {r["key"]: r["value_per_customer"] for r in month} == {"2026-03": {"eur": 3000.0, "usd": 6000.0}}


def test_the_text_report_says_what_each_column_divides_by(mixed, capsys):
    capsys.readouterr()
    assert main(["report", "summary"]) == 0
    out = capsys.readouterr().out
    assert "Value per customer: a currency's revenue divided by the contacts who paid in that currency" in out


@pytest.fixture
def same_day(_fresh_workspace):
    """A's touch at 08:00 on the order's day (14:00), B's the evening before (23:00): lookback 0 keeps A's only."""
    w = open_workspace(_fresh_workspace)
    import_events(w, [
        page("a1", "2026-03-10T08:00:00.000Z", "https://s.example.com/?utm_source=news&utm_medium=email"),
        identify("a1", "2026-03-10T08:01:00.000Z", email="a@x.com"),
        page("b1", "2026-03-09T23:00:00.000Z", "https://s.example.com/?utm_source=news&utm_medium=email"),
        identify("b1", "2026-03-09T23:01:00.000Z", email="b@x.com"),
    ], origin="test")
    import_orders(w, "order_id,email,amount,currency,created_at\n"
                     "1,a@x.com,40.00,usd,2026-03-10T14:00:00Z\n2,b@x.com,60.00,usd,2026-03-10T09:00:00Z\n")
    refresh_after_import(w)
    w.close()
    return _fresh_workspace


def test_lookback_zero_is_the_orders_own_day(same_day, capsys):
    # UTC: A's touch is on March 10 like its order (40.00 credited); B's was March 9 (60.00 unattributed).
    r = _cli_json(capsys, "report", "attribution", "--lookback-days", "0")
    assert r["lookback_days"] == 0
    assert r["rows"] == [{"key": "news", "credit": {"usd": 4000.0}, "orders": 1.0}]
    assert r["unattributed"] == {"usd": 6000} and r["total"] == {"usd": 10000}
    # In New York B's touch (18:00 on the 9th) and order (04:00 on the 10th) are on different days too,
    # but A's touch at 03:00 and order at 09:00 share March 10: the same answer, by local days.
    ny = _cli_json(capsys, "report", "attribution", "--lookback-days", "0", "--timezone", "America/New_York")
    assert ny["unattributed"] == {"usd": 6000}
    # In Tokyo B's touch is 08:00 on the 10th and its order 18:00 the same day: both attributed.
    tokyo = _cli_json(capsys, "report", "attribution", "--lookback-days", "0", "--timezone", "Asia/Tokyo")
    assert tokyo["unattributed"] == {"usd": 0}
    # The default stays 90 days and 1 day reaches back 24 hours (B's touch is 10 hours before).
    assert _cli_json(capsys, "report", "attribution")["lookback_days"] == 90
    assert _cli_json(capsys, "report", "attribution", "--lookback-days", "1")["unattributed"] == {"usd": 0}
    assert main(["report", "attribution", "--lookback-days", "-1"]) == 1


def test_lookback_zero_reaches_the_core_api_unchanged(same_day):
    with open_workspace(same_day) as w:
        assert build_report(w.conn, "attribution", lookback_days=0).extra["lookback_days"] == 0
        assert build_report(w.conn, "attribution", lookback_days=None).extra["lookback_days"] == 90


@pytest.fixture
def cohorts(_fresh_workspace):
    """A's first touch 2024-01-10, orders 100 USD on day 10 and 50 USD on day 51; B (Feb) buys on 2024-06-01."""
    w = open_workspace(_fresh_workspace)
    import_events(w, [
        page("a1", "2024-01-10T00:00:00.000Z"), identify("a1", "2024-01-10T00:01:00.000Z", email="a@x.com"),
        page("b1", "2024-02-15T00:00:00.000Z"), identify("b1", "2024-02-15T00:01:00.000Z", email="b@x.com"),
    ], origin="test")
    import_orders(w, "order_id,email,amount,currency,created_at\n"
                     "1,a@x.com,100.00,usd,2024-01-20T00:00:00Z\n2,a@x.com,50.00,usd,2024-03-01T00:00:00Z\n"
                     "3,b@x.com,10.00,usd,2024-06-01T00:00:00Z\n")
    refresh_after_import(w)
    w.close()
    return _fresh_workspace


def test_a_date_filter_chooses_the_cohort_not_the_clock(cohorts, capsys):
    # The data ends 2024-06-01 (142 days after Jan 10): 30, 60 and 90 days have passed, 180 not.
    # A had 100.00 by day 30 and 150.00 by days 60 and 90 (the second order is day 51).
    expected = {"30": {"usd": 10000.0}, "60": {"usd": 15000.0}, "90": {"usd": 15000.0}}
    whole = {r["key"]: r for r in _cli_json(capsys, "report", "ltv", "--by", "cohort_month")["rows"]}
    assert whole["2024-01"]["ltv_at_days"] == expected
    january = _cli_json(capsys, "report", "ltv", "--by", "cohort_month", "--since", "2024-01-01",
                        "--until", "2024-01-31")["rows"]
    assert [r["key"] for r in january] == ["2024-01"]
    assert january[0]["ltv_at_days"] == expected and january[0]["revenue"] == {"usd": 15000}
    # The same through the source grouping the dashboard's LTV curve uses.
    by_source = _cli_json(capsys, "report", "ltv", "--since", "2024-01-01", "--until", "2024-01-31")["rows"]
    assert by_source[0]["ltv_at_days"] == expected
