"""The LTV curves and the ROAS bars in the reporting currency, originals a tick away (issue 16 item 1),
and an LTV legend that fits with nine sources (issue 16 item 3).

The workspace is ``tests/core/test_chart_view.py``'s (a manual rate table, reporting currency EUR):
facebook's two contacts bought 100.00 USD (at 1.25 per euro: 80.00 EUR) and 50.00 EUR; google's one
bought 20.00 USD (at 1.60: 12.50 EUR) and 1,000.00 ARS, for which there is no rate. Spend: facebook
40.00 USD (32.00 EUR), google 10.00 EUR. The hand-worked values sit beside each assertion.
"""

from __future__ import annotations

import pytest

from segdesk.core.importing.events import import_events
from segdesk.core.refresh import refresh_after_import
from segdesk.core.store import open_workspace
from tests.core.test_chart_view import build
from tests.core.wire import at, identify, page


@pytest.fixture
def charted(_fresh_workspace):
    return build(_fresh_workspace)


@pytest.fixture
def ctx(charted):
    from segdesk.ui.context import AppContext

    context = AppContext(charted)
    yield context
    context.close()


def opened(page, ctx, qtbot):
    """A page of the app on ``ctx`` at 1280x800; a dashboard is loaded with March 2026."""
    from segdesk.ui.dashboard_view import DashboardView

    view = page(ctx)
    qtbot.addWidget(view)
    view.resize(1280, 800)
    view.show()
    if isinstance(view, DashboardView):
        with qtbot.waitSignal(view.loaded, timeout=15000):
            view.set_range("2026-03-01", "2026-03-31")
    return view


@pytest.fixture
def dashboard(ctx, qtbot):
    from segdesk.ui.dashboard_view import DashboardView

    yield opened(DashboardView, ctx, qtbot)


def curves(chart) -> dict:
    """Legend name -> [(day, value in major units)] per plot, as drawn."""
    return {(plot_i, name): [(x, round(y, 2)) for x, y, _ in pts]
            for plot_i, plot in enumerate(chart._points) for name, _cur, pts in plot}


def test_dashboard_ltv_curves_are_in_the_reporting_currency_with_a_mark(dashboard):
    chart = dashboard.ltv_chart
    assert len(chart.plots) == 1 and chart.plots[0].getAxis("left").labelText == "EUR"  # one axis
    # facebook: (80.00 + 50.00) / 2 contacts = 65.00 EUR at 30 days; google: 12.50 / 1 = 12.50 EUR, its ARS
    # order left out for want of a rate, so its name carries the mark.
    assert curves(chart) == {(0, "facebook"): [(0.0, 0.0), (30.0, 65.0)],
                             (0, "google *"): [(0.0, 0.0), (30.0, 12.5)]}
    caption = chart.caption.text()
    assert "Converted to EUR at each order's day with the manual rate table." in caption
    assert "* holds amounts without a rate (ARS on 2026-03-03)" in caption


def test_original_currencies_bring_back_a_plot_per_currency(dashboard):
    chart = dashboard.ltv_chart
    dashboard.originals.setChecked(True)
    assert [p.getAxis("left").labelText for p in chart.plots] == ["EUR", "USD", "ARS"]
    # facebook 50.00 EUR / 2 = 25.00 and 100.00 USD / 2 = 50.00; google 20.00 USD and 1,000.00 ARS.
    assert curves(chart) == {(0, "facebook (EUR)"): [(0.0, 0.0), (30.0, 25.0)],
                             (1, "facebook (USD)"): [(0.0, 0.0), (30.0, 50.0)],
                             (1, "google (USD)"): [(0.0, 0.0), (30.0, 20.0)],
                             (2, "google (ARS)"): [(0.0, 0.0), (30.0, 1000.0)]}
    assert "Converted" not in chart.caption.text()
    dashboard.originals.setChecked(False)
    assert len(chart.plots) == 1 and (0, "google *") in curves(chart)


def test_dashboard_pdf_has_the_converted_curves(dashboard, tmp_path):
    from segdesk.core.reports.bundle import dashboard_sections

    (section,) = dashboard_sections(dashboard.data)
    ltv = next(c for c in section.charts if c["title"].startswith("LTV"))
    assert ltv["title"].endswith("in EUR") and {s["currency"] for s in ltv["series"]} == {"eur"}
    assert "* holds amounts without a rate" in ltv["note"]
    assert dashboard.export_pdf(str(tmp_path / "d.pdf")) >= 1


@pytest.fixture
def reports(ctx, qtbot):
    from segdesk.ui.reports_view import ReportsView

    yield opened(ReportsView, ctx, qtbot)


def show(view, qtbot, name, **params):
    with qtbot.waitSignal(view.reportShown, timeout=15000):
        view.set_report(name, since="2026-03-01", until="2026-03-31", **params)


def bars(chart) -> dict:
    return {name: {key: round(y, 4) for _x, y, key in pts} for plot in chart._points for name, _cur, pts in plot}


def test_roas_bars_on_the_reports_page_in_the_reporting_currency(reports, qtbot):
    show(reports, qtbot, "roas", by="source")
    chart = reports.chart
    # facebook: 130.00 EUR of revenue over 32.00 EUR of spend = 4.0625; google: 12.50 over 10.00 = 1.25 (marked).
    assert bars(chart) == {"ROAS in EUR": {"facebook": 4.0625, "google *": 1.25}}
    assert len(chart.break_even) == 1 and reports.originals.isVisible()
    with qtbot.waitSignal(reports.reportShown, timeout=15000):
        reports.originals.setChecked(True)
    # Per currency, only where spend and revenue share one: facebook 100.00 / 40.00 USD; google 0 / 10.00 EUR.
    assert bars(chart) == {"ROAS (EUR)": {"facebook": 0.0, "google": 0.0}, "ROAS (USD)": {"facebook": 2.5, "google": 0.0}}


def test_ltv_chart_on_the_reports_page_in_the_reporting_currency(reports, qtbot, tmp_path):
    show(reports, qtbot, "ltv", by="source")
    assert curves(reports.chart) == {(0, "facebook"): [(0.0, 0.0), (30.0, 65.0)],
                                     (0, "google *"): [(0.0, 0.0), (30.0, 12.5)]}
    assert reports.export_pdf(str(tmp_path / "ltv.pdf")) >= 1
    from segdesk.core.reports.bundle import section_of

    (chart,) = section_of(reports.model.sorted_table()).charts  # what the PDF draws: the same curves
    assert {s["name"]: s["points"][-1] for s in chart["series"]} == {"facebook": (30, 6500.0),
                                                                     "google *": (30, 1250.0)}


def test_the_ltv_legend_fits_nine_sources_at_1280x800(charted, qtbot):
    from segdesk.ui.context import AppContext
    from segdesk.ui.dashboard_view import DashboardView

    more = ["bing", "tiktok", "linkedin", "newsletter", "instagram", "pinterest", "reddit"]
    with open_workspace(charted) as w:  # seven more sources, a contact each, all on March 2
        events = []
        for i, source in enumerate(more):
            events += [page(f"x{i}", at(1, hours=i), f"https://shop.example.com/?utm_source={source}&utm_medium=cpc"),
                       identify(f"x{i}", at(1, hours=i, minutes=1), email=f"{source}@x.com")]
        import_events(w, events, origin="test")
        refresh_after_import(w)
    with open_workspace(charted) as w:
        from segdesk.core.importing.csv_import import import_orders

        import_orders(w, "order_id,email,amount,currency,created_at\n" + "".join(
            f"m{i},{s}@x.com,{10 + i}.00,eur,2026-03-05T12:00:00Z\n" for i, s in enumerate(more)))
        refresh_after_import(w)
    ctx = AppContext(charted)
    view = opened(DashboardView, ctx, qtbot)
    try:
        chart = view.ltv_chart
        qtbot.wait(50)  # the legend's second fit, once laid out
        legend, plot = chart.legends[0], chart.plots[0]
        # Nine sources: the eight with the most contacts are drawn (the caption says so), each in the legend.
        assert len(legend.items) == 8 and "The 8 largest of 9 groups" in chart.caption.text()
        # Every entry inside the chart's scene, not cut at the plot's bottom edge, and none beside the view.
        box = legend.mapRectToScene(legend.boundingRect())
        scene = chart.plot_widget.mapToScene(chart.plot_widget.viewport().rect()).boundingRect()
        assert box.bottom() <= plot.mapRectToScene(plot.boundingRect()).bottom() and scene.contains(box)
        for sample, label in legend.items:
            assert scene.contains(label.mapRectToScene(label.boundingRect()))
        # In a 1024x700 window (less the sidebar) the chart has about 400 by 180 pixels: no room for a
        # second column, so the smallest groups end in "+N more", and the legend stays inside the chart.
        view.resize(834, 610)
        qtbot.waitUntil(lambda: legend.items[-1][1].text.endswith("more"), timeout=5000)
        shown = [label.text for _sample, label in legend.items]
        assert legend.columnCount == 1 and shown[0] == "facebook" and shown[-1] == f"+{8 - len(shown) + 1} more"

        def inside() -> bool:
            seen = chart.plot_widget.mapToScene(chart.plot_widget.viewport().rect()).boundingRect()
            return seen.contains(legend.mapRectToScene(legend.boundingRect()))

        qtbot.waitUntil(inside, timeout=5000)
        view.resize(1280, 800)  # room again: every entry is back
        qtbot.waitUntil(lambda: len(legend.items) == 8 and legend.items[-1][1].isVisible() and inside(), timeout=5000)
        # A wide but short chart wraps the legend into columns rather than cutting it.
        from segdesk.ui.charts import ChartWidget

        short = ChartWidget(title="LTV by first-touch source", x_label="days after first touch")
        qtbot.addWidget(short)
        short.resize(530, 200)
        short.show()
        short.set_series(chart.series)
        qtbot.waitUntil(lambda: short.legends[0].columnCount == 2 and len(short.legends[0].items) == 8, timeout=5000)
        box, area = short.legends[0], short.plots[0]
        assert box.mapRectToScene(box.boundingRect()).bottom() <= area.mapRectToScene(area.boundingRect()).bottom()
    finally:
        view.close()
        ctx.close()
