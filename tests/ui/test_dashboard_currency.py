"""The dashboard in one currency (issue 16 item 2) with a spend line beside revenue (issue 13 item 5).

Rates come from a fake ECB on loopback through a real sync (``tests/sync/test_ecb_rates.py``'s
``shop``: A 100 USD on Friday 2026-03-06, B 30 USD on Saturday the 7th, C 50 EUR on the 6th,
D 1,000 ARS on the 6th, which the ECB has no rate for; 1.10 USD per euro on the 6th, and the
Saturday takes Friday's rate). Reporting currency EUR. Ad spend: 22.00 USD on the 6th, 11.00 USD
on the 7th. Every expected value is worked out by hand above its assertion.
"""

from __future__ import annotations

import pytest

from segdesk.core.importing.csv_import import import_spend
from segdesk.core.refresh import refresh_after_import
from segdesk.core.store import open_workspace
from tests.sync.test_ecb_rates import ecb, shop  # noqa: F401  (fixtures: the fake ECB and its synced workspace)


@pytest.fixture
def shop_with_spend(shop):  # noqa: F811
    with open_workspace(shop) as w:
        import_spend(w, "date,source,medium,campaign,spend,currency\n"
                        "2026-03-06,facebook,cpc,spring,22.00,usd\n2026-03-07,google,cpc,brand,11.00,usd\n")
        refresh_after_import(w)
    return shop


@pytest.fixture
def dashboard(shop_with_spend, qtbot):
    from segdesk.ui.context import AppContext
    from segdesk.ui.dashboard_view import DashboardView

    ctx = AppContext(shop_with_spend)
    view = DashboardView(ctx)
    qtbot.addWidget(view)
    view.resize(1280, 800)
    view.show()
    with qtbot.waitSignal(view.loaded, timeout=15000):
        view.set_range("2026-03-02", "2026-03-08")
    yield view
    view.close()
    ctx.close()


def test_tiles_show_the_reporting_currency_with_originals_a_click_away(dashboard, qtbot):
    revenue = dashboard.figures["revenue"]
    # 100 / 1.10 = 90.91 EUR; 30 / 1.10 = 27.27 EUR (Friday's rate); 50.00 EUR; ARS left out: 168.18 EUR,
    # marked because the ARS amount has no rate.
    assert revenue.text() == "168.18 EUR *"
    tip = revenue.toolTip()
    assert "original currencies: 1,000.00 ARS  50.00 EUR  130.00 USD" in tip
    assert "* leaves out the ARS amounts of days without a rate" in tip
    # Four contacts (each buyer is one): 16,818 cents / 4 = 4,204.5 cents, shown to the cent (half to even).
    assert dashboard.figures["lead_value"].text() == "42.04 EUR *"
    assert dashboard.figures["contacts"].text() == "4" and dashboard.figures["customers"].text() == "4"
    # Nothing in the week before: the change is the whole figure, in EUR.
    qtbot.waitUntil(lambda: dashboard.changes["revenue"].text() != "", timeout=15000)
    assert dashboard.changes["revenue"].text().startswith("+168.18 EUR")

    dashboard.originals.setChecked(True)
    assert revenue.text() == "1,000.00 ARS\n130.00 USD\n50.00 EUR"  # largest amount first, never summed
    dashboard.originals.setChecked(False)
    assert revenue.text() == "168.18 EUR *"


def test_the_trend_chart_draws_spend_beside_revenue_per_day(dashboard):
    chart = dashboard.trend_chart
    by_key = {s["key"]: s for s in chart.series}
    assert set(by_key) == {"revenue", "spend"} and {s["currency"] for s in chart.series} == {"eur"}
    days = [f"2026-03-0{d}" for d in range(2, 9)]  # a 7-day range: one point a day
    # Revenue on the 6th: 90.91 (A) + 50.00 (C) = 140.91 EUR; on the 7th: 27.27 EUR (B).
    assert by_key["revenue"]["points"] == list(zip(days, [0, 0, 0, 0, 14091, 2727, 0]))
    # Spend: 22.00 USD / 1.10 = 20.00 EUR on the 6th; 11.00 / 1.10 = 10.00 EUR on the 7th.
    assert by_key["spend"]["points"] == list(zip(days, [0, 0, 0, 0, 2000, 1000, 0]))
    assert len(chart.plots) == 1  # one currency: one axis
    assert chart._title == "Revenue and ad spend" and chart._x_label == "daily totals"
    assert chart.plots[0].getAxis("left").labelText == "EUR"
    caption = chart.caption.text()  # nothing converted silently: the rates used, and the one missing
    assert "Converted to EUR at each order's day with the ECB euro reference rates." in caption
    assert "No ARS rate for 1 day (2026-03-06)" in caption


def test_a_longer_range_goes_by_week_and_names_its_cut_weeks(shop_with_spend):
    from segdesk.core.reports.trend import revenue_and_spend

    with open_workspace(shop_with_spend) as w:
        trend = revenue_and_spend(w.conn, "eur", "2026-03-04", "2026-04-29")
    assert trend["unit"] == "week"
    revenue, spend = trend["series"]
    # Mondays from the 2nd of March (the week the range starts in) to the 27th of April.
    assert [k for k, _ in revenue["points"]][:2] == ["2026-03-02", "2026-03-09"] and len(revenue["points"]) == 9
    assert revenue["points"][0] == ("2026-03-02", 14091 + 2727) and spend["points"][0] == ("2026-03-02", 3000)
    assert sum(v for _, v in revenue["points"][1:]) == 0
    assert trend["notes"][:2] == ["the week of 2026-03-02 is only partly in the range: its figures are partial.",
                                  "the week of 2026-04-27 is only partly in the range: its figures are partial."]
