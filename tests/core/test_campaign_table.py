"""Issue 16 item 2: one campaign table, with hand-computed values through --json and the drill-down.

Data (all on 2026-03-01/02, UTC):
- A google/cpc/brand, pays 50.00 USD and 20.00 EUR the next day;
- B google/organic (no campaign), pays 30.00 USD;
- C direct, pays 9.00 USD;
- D facebook/cpc/spring, pays 100.00 USD; D2 facebook/cpc/spring too, pays nothing;
- E facebook/cpc/autumn, pays 7.00 USD;
- spend: google/cpc without a campaign 100.00 USD, facebook/cpc/spring 40.00 USD.
"""

from __future__ import annotations

import json

import pytest

from segdesk.cli import main
from segdesk.core.importing.csv_import import import_orders, import_spend
from segdesk.core.importing.events import import_events
from segdesk.core.fx import set_manual_rates
from segdesk.core.refresh import refresh_after_import
from segdesk.core.reports import build_report, drill_down
from segdesk.core.store import open_workspace

from .wire import identify, page


@pytest.fixture
def table(_fresh_workspace):
    w = open_workspace(_fresh_workspace)
    shop = "https://s.example.com/"
    events = []
    for n, (who, url) in enumerate([
        ("a", shop + "?utm_source=google&utm_medium=cpc&utm_campaign=brand"),
        ("b", shop + "?utm_source=google&utm_medium=organic"), ("c", shop),
        ("d", shop + "?utm_source=facebook&utm_medium=cpc&utm_campaign=spring"),
        ("d2", shop + "?utm_source=facebook&utm_medium=cpc&utm_campaign=spring"),
        ("e", shop + "?utm_source=facebook&utm_medium=cpc&utm_campaign=autumn"),
    ]):
        events += [page(f"{who}1", f"2026-03-01T1{n}:00:00.000Z", url),
                   identify(f"{who}1", f"2026-03-01T1{n}:01:00.000Z", email=f"{who}@x.com")]
    events.append(page("v1", "2026-03-01T09:00:00.000Z", shop + "?utm_source=facebook&utm_medium=cpc&utm_campaign=spring"))
    import_events(w, events, origin="test")
    import_orders(w, "order_id,email,amount,currency,created_at\n"
                     "1,a@x.com,50.00,usd,2026-03-02T10:00:00Z\n2,a@x.com,20.00,eur,2026-03-02T11:00:00Z\n"
                     "3,b@x.com,30.00,usd,2026-03-02T10:00:00Z\n4,c@x.com,9.00,usd,2026-03-02T10:00:00Z\n"
                     "5,d@x.com,100.00,usd,2026-03-02T10:00:00Z\n6,e@x.com,7.00,usd,2026-03-02T10:00:00Z\n")
    import_spend(w, "date,source,medium,campaign,spend,currency\n2026-03-01,google,cpc,,100.00,usd\n"
                    "2026-03-01,facebook,cpc,spring,40.00,usd\n")
    # EUR/USD 1.25 on the 1st and 2nd: 20.00 EUR = 25.00 USD.
    set_manual_rates(w.conn, [("2026-03-01", "usd", "1.25"), ("2026-03-02", "usd", "1.25")])
    refresh_after_import(w)
    w.close()
    return _fresh_workspace


def _json(capsys, *argv) -> dict:
    capsys.readouterr()
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_one_row_per_source_and_campaign_with_spend_leads_and_value(table, capsys):
    r = _json(capsys, "report", "campaigns")
    rows = {row["key"]: row for row in r["rows"]}
    # google/cpc's spend names no campaign: it bought A (brand), so A counts in "google / (not set)" with it.
    assert set(rows) == {"google / (not set)", "facebook / spring", "facebook / autumn", "(direct) / (not set)"}
    g = rows["google / (not set)"]
    # B (organic, no campaign) is google / (not set) too: 2 leads, 2 customers, 80.00 USD + 20.00 EUR.
    assert (g["spend"], g["leads"], g["customers"], g["revenue"]) == ({"usd": 10000}, 2, 2, {"eur": 2000, "usd": 8000})
    # cost per lead 100 / 2 = 50.00; per customer who paid USD (A, B) 50.00; ROAS 80 / 100 = 0.8.
    assert (g["cost_per_lead"], g["cost_per_customer"], g["roas"]) == ({"usd": 5000.0}, {"usd": 5000.0}, {"usd": 0.8})
    f = rows["facebook / spring"]
    # D and D2 are leads, D alone pays 100.00: lead value 50.00, cost per lead 20.00, ROAS 2.5.
    assert (f["leads"], f["customers"], f["lead_value"], f["cost_per_lead"], f["roas"]) == (
        2, 1, {"usd": 5000.0}, {"usd": 2000.0}, {"usd": 2.5})
    # Visitors: D's, D2's and the anonymous v1's devices came by facebook/cpc/spring.
    assert f["visitors"] == 3
    # No LTV window has passed for anyone (the data ends on March 2): no LTV, no payback yet.
    assert f["ltv_30"] == {} and f["payback_days"] == {"usd": None}
    assert rows["facebook / autumn"]["spend"] == {} and rows["(direct) / (not set)"]["revenue"] == {"usd": 900}
    # Spend first, then customers: google (100) before facebook / spring (40).
    assert [row["key"] for row in r["rows"]][:2] == ["google / (not set)", "facebook / spring"]
    t = r["total"]
    assert (t["key"], t["spend"], t["leads"], t["customers"], t["visitors"]) == ("Total", {"usd": 14000}, 6, 5, 7)
    assert t["revenue"] == {"eur": 2000, "usd": 19600}
    assert "utm_campaign" in r["not_set"]


def test_converted_columns_stand_beside_the_originals(table, capsys):
    r = _json(capsys, "report", "campaigns", "--currency", "usd")
    g = {row["key"]: row for row in r["rows"]}["google / (not set)"]
    # 80.00 USD + 20.00 EUR * 1.25 = 105.00 USD; ROAS 105 / 100 = 1.05; lead value 105 / 2 = 52.50.
    assert g["revenue"] == {"eur": 2000, "usd": 8000} and g["revenue_converted"] == {"usd": 10500}
    assert g["roas_converted"] == {"usd": 1.05} and g["lead_value_converted"] == {"usd": 5250.0}
    assert r["total"]["revenue_converted"] == {"usd": 22100}  # 196.00 + 25.00
    # EUR is the rates' base: the rate used is USD per euro, from the manual table.
    assert r["converted"]["rates"] == {"usd": {"origins": ["manual"], "first_rate_day": "2026-03-02",
                                               "last_rate_day": "2026-03-02"}}


def test_a_rows_drill_down_lists_its_leads_and_their_orders(table):
    with open_workspace(table) as w:
        params = build_report(w.conn, "campaigns").parameters
        d = drill_down(w.conn, params, "google / (not set)")
    assert sorted(c["email"] for c in d["contacts"]) == ["a@x.com", "b@x.com"]
    assert sorted(o["order_id"] for o in d["orders"]) == ["1", "2", "3"]


def test_payback_is_the_first_ltv_window_that_covers_the_cost_per_lead(table, capsys):
    with open_workspace(table) as w:  # the data now reaches April 15: the 30-day windows of March 1 have passed
        import_events(w, [page("late1", "2026-04-15T10:00:00.000Z", "https://s.example.com/")], origin="test")
        refresh_after_import(w)
    rows = {row["key"]: row for row in _json(capsys, "report", "campaigns", "--currency", "usd")["rows"]}
    f = rows["facebook / spring"]
    # LTV 30: D's 100.00 over 2 leads = 50.00 USD >= 20.00 cost per lead: paid back within 30 days.
    assert (f["ltv_30"], f["payback_days"]) == ({"usd": 5000.0}, {"usd": 30})
    g = rows["google / (not set)"]
    # USD alone: 80.00 / 2 = 40.00 < 50.00 per lead, and no later window has passed: not yet.
    assert (g["ltv_30"], g["payback_days"]) == ({"eur": 1000.0, "usd": 4000.0}, {"usd": None})
    # Converted, the EUR counts too: (80.00 + 25.00) / 2 = 52.50 >= 50.00: paid back within 30 days.
    assert (g["ltv_30_converted"], g["payback_days_converted"]) == ({"usd": 5250.0}, {"usd": 30})


def test_every_report_carries_converted_figures_beside_its_own(table, capsys):
    a = _json(capsys, "report", "attribution", "--model", "first_touch", "--currency", "usd")
    # All orders: 196.00 USD + 20.00 EUR (25.00 USD) = 221.00 USD; per row the credit converted, rows add up.
    assert a["total"] == {"eur": 2000, "usd": 19600} and a["converted"]["total"] == {"usd": 22100}
    rows = {r["key"]: r for r in a["rows"]}
    assert rows["google"]["credit"] == {"eur": 2000.0, "usd": 8000.0} and rows["google"]["credit_converted"] == {"usd": 10500.0}
    assert sum(r["credit_converted"]["usd"] for r in a["rows"]) + a["converted"]["unattributed"].get("usd", 0) == 22100
    ltv = {r["key"]: r for r in _json(capsys, "report", "ltv", "--currency", "usd")["rows"]}
    # google's first touches: A (50.00 USD + 25.00) and B (30.00 USD): 105.00 USD over 2 customers = 52.50.
    assert ltv["google"]["revenue_converted"] == {"usd": 10500} and ltv["google"]["value_per_customer_converted"] == {"usd": 5250.0}
    roas = {r["key"]: r for r in _json(capsys, "report", "roas", "--currency", "usd")["rows"]}
    # google's spend bought A only: 50.00 USD + 25.00 = 75.00 over 100.00 spend: ROAS 0.75 converted, 0.5 in USD alone.
    assert roas["google"]["roas"] == {"usd": 0.5} and roas["google"]["roas_converted"] == {"usd": 0.75}
    assert roas["google"]["spend_converted"] == {"usd": 10000}
