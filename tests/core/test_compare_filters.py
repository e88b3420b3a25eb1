"""Issue 16 items 3 and 4: compare periods, models side by side, filters and saved views, through --json.

The workspace (hand-made; every expected value is worked out in the comments):
  A  iPhone, first touch facebook / spring on 1 Mar, tag vip, country DE;
     orders 100 USD "Course" (7 Mar) and 30 USD "Ebook" (8 Mar)
  B  Windows desktop, first touch google / organic on 11 Mar; order 50 USD "Course" (13 Mar)
  C  iPad, facebook / summer on 3 Mar then direct on 4 Mar, tag VIP; order 20 USD "Ebook" (26 Mar)
  D  Windows desktop, facebook / spring on 9 Feb; order 40 USD (10 Feb)
"""

from __future__ import annotations

import json

import pytest

from segdesk.cli import main
from segdesk.core.importing.csv_import import import_contacts, import_orders
from segdesk.core.importing.events import import_events
from segdesk.core.refresh import refresh_after_import
from segdesk.core.store import open_workspace

from .wire import at, identify, page

IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1"
IPAD = "Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"
WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"
SHOP = "https://shop.example.com/"
MARCH = ["--since", "2026-03-01", "--until", "2026-03-31"]


def _page(aid, ts, url, agent, referrer="", country=None):
    ev = page(aid, ts, url, referrer)
    ev["context"]["userAgent"] = agent
    if country:
        ev["context"]["location"] = {"country": country}
    return ev


def _utm(source, medium, campaign):
    return f"{SHOP}?utm_source={source}&utm_medium={medium}&utm_campaign={campaign}"


@pytest.fixture
def shop(_fresh_workspace):
    build_shop(_fresh_workspace)


def build_shop(folder) -> None:
    w = open_workspace(folder)
    import_events(w, [
        _page("a1", at(0), _utm("facebook", "cpc", "spring"), IPHONE, country="DE"),
        identify("a1", at(0, minutes=1), email="a@x.com"),
        _page("b1", at(10), SHOP, WINDOWS, referrer="https://www.google.com/"),
        identify("b1", at(10, minutes=1), email="b@x.com"),
        _page("c1", at(2), _utm("facebook", "cpc", "summer"), IPAD), _page("c1", at(3), SHOP, IPAD),
        identify("c1", at(3, minutes=1), email="c@x.com"),
        _page("d1", at(-20), _utm("facebook", "cpc", "spring"), WINDOWS),
        identify("d1", at(-20, minutes=1), email="d@x.com"),
    ], origin="test")
    import_contacts(w, "email,tags\na@x.com,vip\nc@x.com,VIP\n")
    import_orders(w, "order_id,email,amount,currency,created_at,product\n"
                     f"o1,a@x.com,100.00,usd,{at(6)},Course\no2,a@x.com,30.00,usd,{at(7)},Ebook\n"
                     f"o3,b@x.com,50.00,usd,{at(12)},Course\no4,c@x.com,20.00,usd,{at(25)},Ebook\n"
                     f"o5,d@x.com,40.00,usd,{at(-19)},\n")
    refresh_after_import(w)
    w.close()


def _json(capsys, *argv) -> dict:
    capsys.readouterr()
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def _rows(report) -> dict:
    return {r["key"]: r for r in report["rows"]}


def _fails(capsys, *argv) -> str:
    capsys.readouterr()
    assert main(list(argv)) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    return err


def test_ltv_against_the_previous_month(shop, capsys):
    r = _json(capsys, "report", "ltv", *MARCH, "--compare", "previous")
    # A whole month compares with the whole month before: February 2026.
    assert (r["compare"]["mode"], r["compare"]["since"], r["compare"]["until"]) == ("previous", "2026-02-01",
                                                                                    "2026-02-28")
    rows = _rows(r)
    fb = rows["facebook"]
    # March cohort: A (130) and C (20) = 150 USD; February: D's 40 USD. Change 110 USD, +275%.
    assert fb["revenue"] == {"usd": 15000}
    assert fb["compare"]["revenue"] == {"previous": {"usd": 4000}, "change": {"usd": 11000},
                                        "change_pct": {"usd": 275.0}}
    assert fb["compare"]["contacts"] == {"previous": 1, "change": 1, "change_pct": 100.0}
    # google had nobody in February: no percentage of nothing.
    assert rows["google.com"]["compare"]["revenue"] == {"previous": {}, "change": {"usd": 5000},
                                                        "change_pct": {"usd": None}}
    # The trend: facebook's USD revenue Oct..Mar, oldest first.
    assert fb["trend"] == [0, 0, 0, 0, 4000, 15000]
    assert rows["google.com"]["trend"] == [0, 0, 0, 0, 0, 5000]


def test_summary_against_the_same_period_last_year_and_previous(shop, capsys):
    r = _json(capsys, "report", "summary", *MARCH, "--compare", "year")
    assert (r["compare"]["since"], r["compare"]["until"]) == ("2025-03-01", "2025-03-31")
    assert r["compare"]["figures"]["contacts"] == {"previous": 0, "change": 3, "change_pct": None}
    r = _json(capsys, "report", "summary", *MARCH, "--compare", "previous")
    figures = r["compare"]["figures"]
    assert figures["contacts"] == {"previous": 1, "change": 2, "change_pct": 200.0}
    assert figures["revenue"] == {"previous": {"usd": 4000}, "change": {"usd": 16000}, "change_pct": {"usd": 400.0}}
    assert r["compare"]["trend"]["contacts"] == [0, 0, 0, 0, 1, 3]


def test_a_range_of_days_compares_with_as_many_days_before(shop, capsys):
    r = _json(capsys, "report", "ltv", "--since", "2026-03-05", "--until", "2026-03-14", "--compare", "previous")
    # 10 days (5th-14th) against the 10 days before: 23 Feb - 4 Mar (A and C start there).
    assert (r["compare"]["since"], r["compare"]["until"]) == ("2026-02-23", "2026-03-04")
    assert _rows(r)["google.com"]["compare"]["contacts"]["previous"] == 0
    assert "facebook" in _rows(r)  # only in the earlier period: listed with its previous figures
    assert _rows(r)["facebook"]["compare"]["contacts"] == {"previous": 2, "change": -2, "change_pct": -100.0}


def test_compare_needs_both_ends(shop, capsys):
    err = _fails(capsys, "report", "ltv", "--since", "2026-03-01", "--compare", "previous")
    assert "both ends" in err


def test_attribution_models_side_by_side(shop, capsys):
    r = _json(capsys, "report", "attribution", *MARCH, "--model", "all")
    assert r["models"] == ["first_touch", "last_touch", "last_non_direct", "linear", "time_decay", "position_based"]
    rows = _rows(r)
    # March orders: A 130 (facebook only), B 50 (google only), C 20 (facebook then direct).
    assert rows["facebook"]["first_touch"] == {"usd": 15000.0}
    assert rows["facebook"]["last_touch"] == {"usd": 13000.0}
    assert rows["(direct)"]["last_touch"] == {"usd": 2000.0}
    assert rows["facebook"]["last_non_direct"] == {"usd": 15000.0}
    assert rows["facebook"]["linear"] == {"usd": 14000.0}  # half of C's 20
    assert rows["facebook"]["position_based"] == {"usd": 14000.0}  # two touches: 50/50
    # time decay: C's facebook touch is a day older than the direct one, so it gets less than half.
    assert 13000 < rows["facebook"]["time_decay"]["usd"] < 14000
    for m in r["models"]:  # every model shares out the same revenue
        assert sum(row[m].get("usd", 0) for row in r["rows"]) == pytest.approx(20000)
    assert _json(capsys, "report", "attribution", *MARCH, "--compare-models")["rows"] == r["rows"]


@pytest.mark.parametrize("flags, expected", [
    (["--tag", "VIP"], {"facebook": (2, {"usd": 15000})}),  # A (vip) and C (VIP): one tag in any case
    (["--device", "phone"], {"facebook": (1, {"usd": 13000})}),  # A's iPhone
    (["--device", "tablet"], {"facebook": (1, {"usd": 2000})}),  # C's iPad
    (["--device", "desktop"], {"google.com": (1, {"usd": 5000})}),  # B (D is February's)
    (["--product", "Course"], {"facebook": (2, {"usd": 10000}), "google.com": (1, {"usd": 5000})}),
    (["--source", "google.com"], {"google.com": (1, {"usd": 5000})}),
    (["--campaign", "spring"], {"facebook": (1, {"usd": 13000})}),
    (["--country", "de"], {"facebook": (1, {"usd": 13000})}),
    (["--tag", "vip", "--device", "tablet"], {"facebook": (1, {"usd": 2000})}),
])
def test_filters_narrow_ltv(shop, capsys, flags, expected):
    r = _json(capsys, "report", "ltv", *MARCH, *flags)
    assert {k: (row["contacts"], row["revenue"]) for k, row in _rows(r).items()} == expected
    assert r["filters"]  # the JSON says what narrowed it


def test_filters_narrow_attribution_summary_and_drill_down(shop, capsys):
    r = _json(capsys, "report", "attribution", *MARCH, "--device", "phone", "--model", "last_touch")
    assert {k: row["credit"] for k, row in _rows(r).items()} == {"facebook": {"usd": 13000.0}}
    assert r["total"] == {"usd": 13000}
    s = _json(capsys, "report", "summary", *MARCH, "--product", "Ebook")
    # Product narrows orders, not people: 3 March contacts, A's 30 and C's 20 USD of ebooks.
    assert (s["contacts"], s["customers"], s["revenue"]) == (3, 2, {"usd": 5000})
    d = _json(capsys, "report", "ltv", *MARCH, "--tag", "vip", "--rows", "facebook")
    assert sorted(c["email"] for c in d["contacts"]) == ["a@x.com", "c@x.com"]


def test_no_country_data_is_said(_fresh_workspace, capsys):
    w = open_workspace(_fresh_workspace)
    import_events(w, [page("z1", at(0)), identify("z1", at(0, minutes=1), email="z@x.com")], origin="test")
    refresh_after_import(w)
    from segdesk.core.reports.filters import facets

    assert "country" not in facets(w.conn)
    w.close()
    assert "no country data" in _fails(capsys, "report", "ltv", "--country", "de")


def test_bad_device_is_one_line(shop, capsys):
    assert "unknown device type" in _fails(capsys, "report", "ltv", "--device", "fridge")


def test_saved_views_open_from_report_csv_and_pdf(shop, capsys, tmp_path):
    assert main(["views", "save", "VIP phones", "--report", "ltv", "--by", "source", "--tag", "vip",
                 "--device", "phone", *MARCH]) == 0
    assert "saved view" in capsys.readouterr().out
    listed = _json(capsys, "views", "list")["views"]
    assert [(v["name"], v["report"], v["filters"]) for v in listed] == [
        ("VIP phones", "ltv", {"tag": "vip", "device": "phone"})]
    r = _json(capsys, "report", "--view", "vip phones")  # names compare without case
    assert {k: row["revenue"] for k, row in _rows(r).items()} == {"facebook": {"usd": 13000}}
    # A flag given with the view overrides its value.
    r = _json(capsys, "report", "ltv", "--view", "VIP phones", "--device", "tablet")
    assert {k: row["revenue"] for k, row in _rows(r).items()} == {"facebook": {"usd": 2000}}
    capsys.readouterr()
    assert main(["report", "--view", "VIP phones", "--csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("key,contacts") and len(lines) == 2 and lines[1].startswith("facebook,1,1,130")
    # Saving the name again replaces it: one view, never two.
    assert main(["views", "save", "vip PHONES", "--report", "attribution", "--model", "all", *MARCH]) == 0
    assert "replaced" in capsys.readouterr().out
    assert len(_json(capsys, "views", "list")["views"]) == 1
    assert _json(capsys, "report", "--view", "VIP phones")["model"] == "all"
    out = tmp_path / "view.pdf"
    assert main(["export", "pdf", str(out), "--view", "VIP phones"]) == 0
    assert out.stat().st_size > 1000


def test_bad_views_are_refused_and_nothing_is_stored(shop, capsys):
    assert "unknown device type" in _fails(capsys, "views", "save", "x", "--report", "ltv", "--device", "fridge")
    assert "no grouping" in _fails(capsys, "views", "save", "x", "--report", "summary", "--by", "source")
    assert "attribution" in _fails(capsys, "views", "save", "x", "--report", "ltv", "--model", "linear")
    assert "no saved view" in _fails(capsys, "report", "--view", "nope")
    assert _json(capsys, "views", "list")["views"] == []
