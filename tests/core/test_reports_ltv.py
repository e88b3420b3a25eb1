"""LTV, cohorts, summary, ROAS and drill-down on a small hand-made workspace."""

from __future__ import annotations

import json

import pytest

from segdesk.cli import main
from segdesk.core.importing.csv_import import import_contacts, import_orders, import_spend
from segdesk.core.importing.events import import_events
from segdesk.core.refresh import refresh_after_import
from segdesk.core.reports import build_report, drill_down
from segdesk.core.store import open_workspace

from .wire import at, identify, page

FB = "https://shop.example.com/?utm_source=facebook&utm_medium=cpc&utm_campaign=spring"


@pytest.fixture
def ws(_fresh_workspace):
    w = open_workspace(_fresh_workspace)
    import_events(w, [
        page("a1", at(0), FB), identify("a1", at(0, minutes=1), email="a@x.com"),
        page("b1", at(0, hours=-8.5), FB), identify("b1", at(0, hours=-8), email="b@x.com"),  # 00:30 UTC on March 1
        page("c1", at(35), "https://shop.example.com/", "https://www.google.com/"),
        identify("c1", at(35, minutes=1), email="c@x.com"),
    ], origin="test")
    import_contacts(w, f"email,tags,created_at\nb@x.com,vip,\nd@x.com,vip,{at(50)}\n")
    import_orders(w, "order_id,email,amount,currency,created_at,refunded_amount\n"
                     f"o1,a@x.com,100.00,usd,{at(10)},\no2,a@x.com,50.00,usd,{at(40)},20.00\n"
                     f"o3,c@x.com,20.00,eur,{at(36)},\n")
    import_spend(w, "date,source,campaign,spend,currency\n2026-03-01,facebook,spring,40.00,usd\n")
    refresh_after_import(w)
    yield w
    w.close()


def _rows(ws, by, **kw):
    return {r["key"]: r for r in build_report(ws.conn, "ltv", by=by, **kw).to_json()["rows"]}


def test_ltv_by_first_touch_source(ws):
    rows = _rows(ws, "source")
    fb = rows["facebook"]
    assert (fb["contacts"], fb["customers"], fb["revenue"]) == (2, 1, {"usd": 13000})
    assert fb["value_per_contact"] == {"usd": 6500.0} and fb["value_per_customer"] == {"usd": 13000.0}
    assert fb["conversion_rate"] == 0.5 and fb["median_days_to_first_purchase"] == 10.0
    # The data ends at day 40: only 30 days have passed for the March contacts; A had 100.00 by then.
    assert fb["ltv_at_days"] == {"30": {"usd": 5000.0}}
    assert rows["google.com"]["revenue"] == {"eur": 2000} and rows["google.com"]["ltv_at_days"] == {}
    assert rows["(unknown)"]["contacts"] == 1 and rows["(unknown)"]["revenue"] == {}


def test_ltv_by_tag_and_campaign(ws):
    tags = _rows(ws, "tag")
    assert (tags["vip"]["contacts"], tags["vip"]["customers"]) == (2, 0)
    assert tags["(no tag)"]["revenue"] == {"eur": 2000, "usd": 13000}
    assert _rows(ws, "campaign")["spring"]["contacts"] == 2


def test_cohort_month_in_the_workspace_timezone(ws):
    utc = _rows(ws, "cohort_month")
    assert {k: r["contacts"] for k, r in utc.items()} == {"2026-03": 2, "2026-04": 2}
    la = _rows(ws, "cohort_month", timezone="America/Los_Angeles")
    assert {k: r["contacts"] for k, r in la.items()} == {"2026-02": 1, "2026-03": 1, "2026-04": 2}


def test_since_until_select_the_cohort(ws):
    rows = _rows(ws, "source", since="2026-04-01", until="2026-04-30")
    assert set(rows) == {"google.com", "(unknown)"}


def test_summary(ws):
    s = build_report(ws.conn, "summary").to_json()
    assert (s["contacts"], s["customers"], s["conversion_rate"], s["orders"]) == (4, 2, 0.5, 3)
    assert s["revenue"] == {"eur": 2000, "usd": 13000} and s["refunds"] == {"eur": 0, "usd": 2000}
    assert s["lead_value"] == {"eur": 500.0, "usd": 3250.0}
    # Per currency, "per customer" divides by that currency's customers: A alone paid USD, C alone EUR
    # (this test had 1000/6500, dividing by both customers: issue 12 item 2).
    assert s["customers_per_currency"] == {"eur": 1, "usd": 1}
    assert s["value_per_customer"] == {"eur": 2000.0, "usd": 13000.0}


def test_roas_by_source(ws):
    rows = {r["key"]: r for r in build_report(ws.conn, "roas", by="source").to_json()["rows"]}
    fb = rows["facebook"]
    assert fb["spend"] == {"usd": 4000} and (fb["leads"], fb["customers"]) == (2, 1)
    assert fb["cost_per_lead"] == {"usd": 2000.0} and fb["cost_per_customer"] == {"usd": 4000.0}
    assert fb["roas"] == {"usd": 3.25}


def test_drill_down_of_an_ltv_row(ws):
    report = build_report(ws.conn, "ltv", by="source")
    rows = drill_down(ws.conn, report.parameters, "facebook")
    assert [c["email"] for c in rows["contacts"]] == ["b@x.com", "a@x.com"]
    assert [o["order_id"] for o in rows["orders"]] == ["o1", "o2"]
    assert rows["orders"][1]["revenue"] == {"usd": 3000}


def test_cli_json_csv_and_rows(ws, capsys):
    ws.close()
    capsys.readouterr()
    assert main(["report", "ltv", "--by", "source", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["by"] == "source"
    assert {"key", "contacts", "customers", "revenue", "value_per_contact", "value_per_customer"} <= set(data["rows"][0])
    assert main(["report", "attribution", "--model", "first_touch", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"model", "lookback_days", "by", "rows", "total", "unattributed"}
    assert main(["report", "summary", "--csv"]) == 0
    assert capsys.readouterr().out.splitlines()[0].startswith("key,contacts,customers,revenue_eur,revenue_usd")
    assert main(["report", "ltv", "--rows", "facebook", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["contacts"]) == 2
    assert main(["report", "ltv", "--timezone", "Mars/Base"]) == 1
