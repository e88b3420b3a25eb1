"""Issue 13 item 5: ROAS by ad group / ad set, with spend no visit met kept apart; hand-computed values.

Spend (2026-03-01/02), as the ad platforms' syncs store it (ad_platform_spend) and a CSV import:
- facebook / cpc / Spring (id 100): ad set Lookalike (id 11) 30.00 + 20.00 USD, Retarget (id 12)
  40.00 USD, Broad (id 13) 10.00 USD; Ghost (id 200) / G1 (id 21) 7.00 USD; Tokyo (id 300) / T1 (id 31) ¥5000;
  Autumn (id 400) / A1 (id 41) 3.00 USD;
- google / cpc / brand 15.00 USD from a CSV file (no ad group).
Visitors:
- a: spring, utm_content=lookalike, pays 100.00 USD;
- b: spring, utm_content=ad-7 (the ad), utm_term=12 (the ad set's id, Meta's {{adset.id}}), pays 30.00 USD;
- c: spring, no content or term: bought by the campaign, but by none of its ad sets;
- d: google / cpc / brand, utm_content=headline-2, pays 20.00 USD;
- e: tokyo, utm_content=t1, pays nothing; f: a Google search visit (organic), pays 5.00 USD;
- g: autumn, utm_content=41 (the ad set's id), never identified: a visit, no lead.
"""

from __future__ import annotations

import csv
import io
import json

import pytest

from segdesk.cli import main
from segdesk.core.importing.csv_import import import_orders, import_spend
from segdesk.core.importing.events import import_events
from segdesk.core.refresh import refresh_after_import
from segdesk.core.reports import build_report, drill_down
from segdesk.core.store import open_workspace

from .wire import identify, page

SHOP = "https://s.example.com/"
FB = SHOP + "?utm_source=facebook&utm_medium=cpc&utm_campaign="
PLATFORM = [  # date, campaign id, campaign, ad set id, ad set, currency, spend (minor units)
    ("2026-03-01", "100", "Spring", "11", "Lookalike", "usd", 3000),
    ("2026-03-02", "100", "Spring", "11", "Lookalike", "usd", 2000),
    ("2026-03-01", "100", "Spring", "12", "Retarget", "usd", 4000),
    ("2026-03-01", "100", "Spring", "13", "Broad", "usd", 1000),
    ("2026-03-01", "200", "Ghost", "21", "G1", "usd", 700),
    ("2026-03-01", "300", "Tokyo", "31", "T1", "jpy", 5000),
    ("2026-03-01", "400", "Autumn", "41", "A1", "usd", 300),
]


def build(w) -> None:
    """The data above, in the workspace ``w``."""
    visits = [("a", FB + "spring&utm_content=lookalike"), ("b", FB + "spring&utm_content=ad-7&utm_term=12"),
              ("c", FB + "spring"), ("d", SHOP + "?utm_source=google&utm_medium=cpc&utm_campaign=brand"
                                               "&utm_content=headline-2"),
              ("e", FB + "tokyo&utm_content=t1"), ("f", SHOP)]
    events = []
    for n, (who, url) in enumerate(visits):
        referrer = "https://www.google.com/" if who == "f" else ""
        events += [page(f"{who}1", f"2026-03-01T1{n}:00:00.000Z", url, referrer=referrer),
                   identify(f"{who}1", f"2026-03-01T1{n}:01:00.000Z", email=f"{who}@x.com")]
    events.append(page("g1", "2026-03-01T18:00:00.000Z", FB + "autumn&utm_content=41"))
    import_events(w, events, origin="test")
    import_orders(w, "order_id,email,amount,currency,created_at\n1,a@x.com,100.00,usd,2026-03-02T10:00:00Z\n"
                     "2,b@x.com,30.00,usd,2026-03-02T10:00:00Z\n3,d@x.com,20.00,usd,2026-03-02T10:00:00Z\n"
                     "4,f@x.com,5.00,usd,2026-03-02T10:00:00Z\n")
    import_spend(w, "date,source,medium,campaign,spend,currency\n2026-03-01,google,cpc,brand,15.00,usd\n")
    with w.conn:
        w.conn.executemany(
            "INSERT INTO ad_platform_spend(origin, date, campaign_id, campaign, ad_group_id, ad_group, source, "
            "medium, currency, spend) VALUES ('meta-ads', ?, ?, ?, ?, ?, 'facebook', 'cpc', ?, ?)", PLATFORM)
    refresh_after_import(w)


@pytest.fixture
def ws(_fresh_workspace):
    w = open_workspace(_fresh_workspace)
    build(w)
    yield w
    w.close()


def roas(ws, by):
    return build_report(ws.conn, "roas", by=by, since="2026-03-01", until="2026-03-31").to_json()


def figures(report) -> dict:
    return {r["key"]: (r["spend"], r["leads"], r["customers"], r["revenue"], r["roas"]) for r in report["rows"]}


def all_spend(report) -> dict[str, int]:
    out: dict[str, int] = {}
    for money in [r["spend"] for r in report["rows"]] + [{u["currency"]: u["spend"]} for u in report["unmatched_spend"]]:
        for cur, v in money.items():
            out[cur] = out.get(cur, 0) + v
    return out


def test_by_ad_group_rows_come_from_utm_content_or_term_and_the_rest_stays_apart(ws):
    report = roas(ws, "ad_group")
    assert figures(report) == {
        "facebook / spring / lookalike": ({"usd": 5000}, 1, 1, {"usd": 10000}, {"usd": 2.0}),
        "facebook / spring / retarget": ({"usd": 4000}, 1, 1, {"usd": 3000}, {"usd": 0.75}),
        "google / brand / (not set)": ({"usd": 1500}, 1, 1, {"usd": 2000}, {"usd": 1.3333}),
        "facebook / tokyo / t1": ({"jpy": 5000}, 1, 0, {}, {"jpy": 0.0}),
        "facebook / autumn / a1": ({"usd": 300}, 0, 0, {}, {"usd": 0.0}),  # visited: spend met, no lead yet
    }
    row = next(r for r in report["rows"] if r["key"] == "facebook / spring / retarget")
    assert (row["source"], row["campaign"], row["ad_group"]) == ("facebook", "spring", "retarget")
    assert row["cost_per_lead"] == {"usd": 4000} and row["cost_per_customer"] == {"usd": 4000}
    assert report["unmatched_spend"] == [
        {"source": "facebook", "medium": "cpc", "campaign": "spring", "ad_group": "broad", "currency": "usd",
         "spend": 1000},
        {"source": "facebook", "medium": "cpc", "campaign": "ghost", "ad_group": "g1", "currency": "usd",
         "spend": 700}]
    notes = build_report(ws.conn, "roas", by="ad_group").notes
    assert any(n.startswith("1 lead came from a campaign with spend but named none of its ad groups") for n in notes)
    assert any(n.startswith("spend that no visit in the range met, not in the rows: 17.00 USD (2 spend lines") for n in notes)


def test_by_campaign_the_ad_sets_add_up_and_only_unvisited_campaigns_stay_apart(ws):
    report = roas(ws, "campaign")
    assert figures(report) == {
        "spring": ({"usd": 10000}, 3, 2, {"usd": 13000}, {"usd": 1.3}),
        "brand": ({"usd": 1500}, 1, 1, {"usd": 2000}, {"usd": 1.3333}),
        "tokyo": ({"jpy": 5000}, 1, 0, {}, {"jpy": 0.0}),
        "autumn": ({"usd": 300}, 0, 0, {}, {"usd": 0.0}),
    }
    assert next(r for r in report["rows"] if r["key"] == "spring")["cost_per_lead"] == {"usd": 3333.33}
    assert report["unmatched_spend"] == [{"source": "facebook", "medium": "cpc", "campaign": "ghost",
                                          "currency": "usd", "spend": 700}]
    assert figures(roas(ws, "source")) == {
        "facebook": ({"jpy": 5000, "usd": 10300}, 4, 2, {"usd": 13000}, {"jpy": 0.0, "usd": 1.2621}),
        "google": ({"usd": 1500}, 1, 1, {"usd": 2000}, {"usd": 1.3333}),
    }


@pytest.mark.parametrize("by", ["source", "campaign", "ad_group"])
def test_rows_plus_unmatched_spend_are_all_the_spend_per_currency(ws, by):
    total = dict(ws.conn.execute("SELECT currency, sum(spend) FROM spend_rows GROUP BY 1").fetchall())
    assert total == {"usd": 12500, "jpy": 5000}
    assert all_spend(roas(ws, by)) == total
    # A narrower range: only its days' spend, and the same equality.
    day = build_report(ws.conn, "roas", by=by, since="2026-03-02", until="2026-03-02").to_json()
    assert all_spend(day) == {"usd": 2000}


def test_a_visit_naming_an_ad_set_by_its_id_and_the_drill_down_of_its_row(ws):
    rows = drill_down(ws.conn, {"name": "roas", "by": "ad_group", "since": "2026-03-01", "until": "2026-03-31"},
                      "facebook / spring / retarget")
    assert [c["email"] for c in rows["contacts"]] == ["b@x.com"]
    assert [o["order_id"] for o in rows["orders"]] == ["2"]


def test_cli_report_roas_by_ad_group_json_and_csv(ws, capsys):
    args = ["--workspace", str(ws.path), "report", "roas", "--by", "ad_group", "--since", "2026-03-01",
            "--until", "2026-03-31"]
    assert main([*args, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["by"] == "ad_group" and figures(out) == figures(roas(ws, "ad_group"))
    assert main([*args, "--csv"]) == 0
    table = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    first = table[0]
    assert first["key"] == "facebook / spring / lookalike" and first["spend_usd"] == "50.00"
    assert first["revenue_usd"] == "100.00" and first["cost_per_lead_usd"] == "50.000"
    assert {r["key"] for r in table} == set(figures(out))
    assert main(args) == 0
    assert "spend matching no visit: facebook / cpc / spring / broad: 10.00 USD" in capsys.readouterr().out
