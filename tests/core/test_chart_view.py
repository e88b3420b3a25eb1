"""Charts in the reporting currency (issue 16 item 1): LTV curves and ROAS bars as data, converted or not.

The workspace (``charted``): three contacts whose first touch is 2026-03-01, a fourth visit on
April 15 so that 30 days have passed for them (the data's end), and a manual rate table:

- A (facebook): 100.00 USD on March 11; B (facebook): 50.00 EUR on March 6;
- C (google): 1,000.00 ARS on March 3 (no ARS rate anywhere) and 20.00 USD on March 4;
- spend on March 1: facebook 40.00 USD, google 10.00 EUR;
- USD per euro: 1.25 on March 1 and March 11, 1.60 on March 4. Reporting currency EUR.

Every expected value is worked out by hand beside its assertion.
"""

from __future__ import annotations

import pytest

from segdesk.core.fx import set_manual_rates, set_reporting_currency
from segdesk.core.importing.csv_import import import_orders, import_spend
from segdesk.core.importing.events import import_events
from segdesk.core.refresh import refresh_after_import
from segdesk.core.reports import build_report
from segdesk.core.reports.chart_view import chart_view
from segdesk.core.store import open_workspace

from .wire import at, identify, page

FB = "https://shop.example.com/?utm_source=facebook&utm_medium=cpc&utm_campaign=spring"
GOOGLE = "https://shop.example.com/?utm_source=google&utm_medium=cpc&utm_campaign=brand"


def build(path, *, late_visit: bool = True):
    with open_workspace(path) as w:
        import_events(w, [
            page("a1", at(0), FB), identify("a1", at(0, minutes=1), email="a@x.com"),
            page("b1", at(0, hours=1), FB), identify("b1", at(0, hours=1, minutes=1), email="b@x.com"),
            page("c1", at(0, hours=2), GOOGLE), identify("c1", at(0, hours=2, minutes=1), email="c@x.com"),
        ] + ([page("a1", at(45))] if late_visit else []),  # the data's end: 45 days on, so the 30-day point exists
            origin="test")
        import_orders(w, "order_id,email,amount,currency,created_at\n"
                         "o1,a@x.com,100.00,usd,2026-03-11T12:00:00Z\no2,b@x.com,50.00,eur,2026-03-06T12:00:00Z\n"
                         "o3,c@x.com,1000.00,ars,2026-03-03T12:00:00Z\no4,c@x.com,20.00,usd,2026-03-04T12:00:00Z\n")
        import_spend(w, "date,source,medium,campaign,spend,currency\n"
                        "2026-03-01,facebook,cpc,spring,40.00,usd\n2026-03-01,google,cpc,brand,10.00,eur\n")
        refresh_after_import(w)
        set_manual_rates(w.conn, [("2026-03-01", "usd", "1.25"), ("2026-03-11", "usd", "1.25"),
                                  ("2026-03-04", "usd", "1.60")])
        set_reporting_currency(w.conn, "eur")
    return path


@pytest.fixture
def charted(_fresh_workspace):
    return build(_fresh_workspace)


MARCH = {"since": "2026-03-01", "until": "2026-03-31"}


def test_ltv_curves_are_converted_order_by_order_and_marked_where_a_rate_is_missing(charted):
    with open_workspace(charted) as w:
        view = chart_view(build_report(w.conn, "ltv", by="source", currency="eur", **MARCH))
    by_key = {s["key"]: s for s in view.series}
    assert view.currency == "eur" and {s["currency"] for s in view.series} == {"eur"}  # one axis
    # facebook: A's 100.00 USD at 1.25 = 80.00 EUR, B's 50.00 EUR; (8,000 + 5,000) / 2 contacts = 65.00 EUR.
    assert by_key["facebook"]["points"] == [(0, 0.0), (30, 6500.0)] and by_key["facebook"]["name"] == "facebook"
    # google: C's 20.00 USD at March 4's 1.60 = 12.50 EUR; the ARS order has no rate and is left out: marked.
    assert by_key["google"]["points"] == [(0, 0.0), (30, 1250.0)] and by_key["google"]["name"] == "google *"
    assert "Converted to EUR at each order's day with the manual rate table." in view.note
    assert "* holds amounts without a rate (ARS on 2026-03-03)" in view.note


def test_original_currencies_keep_a_curve_per_currency(charted):
    with open_workspace(charted) as w:
        view = chart_view(build_report(w.conn, "ltv", by="source", currency="eur", **MARCH), originals=True)
    points = {(s["key"], s["currency"]): s["points"] for s in view.series}
    # facebook: 100.00 USD / 2 contacts = 50.00 USD; 50.00 EUR / 2 = 25.00 EUR. google: 1,000.00 ARS, 20.00 USD.
    assert points == {("facebook", "eur"): [(0, 0.0), (30, 2500.0)], ("facebook", "usd"): [(0, 0.0), (30, 5000.0)],
                      ("google", "ars"): [(0, 0.0), (30, 100000.0)], ("google", "usd"): [(0, 0.0), (30, 2000.0)]}
    assert view.currency is None and "converted" not in view.note


def test_roas_bars_in_the_reporting_currency(charted):
    with open_workspace(charted) as w:
        report = build_report(w.conn, "roas", by="source", currency="eur", **MARCH)
    view = chart_view(report)
    (roas,) = view.series
    assert roas["name"] == "ROAS in EUR" and roas["currency"] is None  # a ratio: the break-even line applies
    # facebook: 130.00 EUR of revenue (80.00 + 50.00) over 40.00 USD at 1.25 = 32.00 EUR: 4.0625.
    # google: 12.50 EUR (the ARS order left out, so marked) over 10.00 EUR: 1.25.
    assert dict(roas["points"]) == {"facebook": 4.0625, "google *": 1.25}
    # In the originals ROAS is only where spend and revenue share a currency: facebook 100 / 40 USD, google
    # 0 EUR of revenue over 10.00 EUR.
    originals = {s["name"]: dict(s["points"]) for s in chart_view(report, originals=True).series}
    assert originals == {"ROAS (EUR)": {"google": 0.0}, "ROAS (USD)": {"facebook": 2.5}}


def test_a_report_without_a_reporting_currency_charts_its_originals(charted):
    with open_workspace(charted) as w:
        view = chart_view(build_report(w.conn, "ltv", by="source", **MARCH))
    assert view.currency is None and {s["currency"] for s in view.series} == {"eur", "usd", "ars"}


def test_bars_of_a_money_column_are_converted_too(charted):
    with open_workspace(charted) as w:
        view = chart_view(build_report(w.conn, "attribution", by="source", model="first_touch", currency="eur",
                                       **MARCH))
    (bars,) = view.series
    # Every order's credit goes to its buyer's first touch: facebook 80.00 + 50.00 EUR, google 12.50 EUR.
    assert bars["currency"] == "eur" and bars["name"] == "credit in EUR"
    assert bars["points"] == [("facebook", 13000), ("google *", 1250)]


def test_ltv_without_a_curve_yet_charts_converted_revenue_bars(_fresh_workspace):
    young = build(_fresh_workspace, late_visit=False)  # the data ends on March 11: no contact has had 30 days
    with open_workspace(young) as w:
        view = chart_view(build_report(w.conn, "ltv", by="source", currency="eur", **MARCH))
    (bars,) = view.series
    # Revenue per source in EUR, largest first: facebook 80.00 + 50.00; google 12.50 (its ARS left out: marked).
    assert bars["name"] == "Revenue in EUR" and bars["currency"] == "eur"
    assert bars["points"] == [("facebook", 13000), ("google *", 1250)]


def test_the_pdf_of_named_reports_charts_them_in_the_reporting_currency(charted):
    from segdesk.core.reports.bundle import report_bundle

    with open_workspace(charted) as w:  # what `segdesk export pdf ltv roas` lays out
        bundle = report_bundle(w.conn, ["ltv", "roas"], **MARCH)
    ltv, roas = (section.charts[0] for section in bundle.sections)
    assert {s["name"]: s["points"][-1] for s in ltv["series"]} == {"facebook": (30, 6500.0), "google *": (30, 1250.0)}
    assert dict(roas["series"][0]["points"]) == {"facebook": 4.0625, "google *": 1.25}
    assert "* holds amounts without a rate (ARS on 2026-03-03)" in roas["note"]
    # The tables keep their per-currency columns: a page has no room for a converted one beside each.
    assert not [c.key for s in bundle.sections for c in s.table.columns if c.key.endswith("_converted")]
