"""Charts that read at a glance: a plot per currency, readable axes, break-even, partial months, empty state."""

from __future__ import annotations

from segdesk.ui.charts import EMPTY_TEXT, ChartWidget, current_month
from segdesk.ui.style import DARK, LIGHT, apply_theme

REVENUE = [{"name": "USD", "currency": "usd", "points": [("2026-02", 1_250_000), ("2026-01", 300_000)]},
           {"name": "EUR", "currency": "eur", "points": [("2026-01", 99_00)]}]


def pen_color(item) -> str:
    return item.opts["pen"].color().name()


def test_currencies_get_a_plot_each_with_the_currency_on_its_axis(app, qtbot):
    chart = ChartWidget(title="Revenue per month")
    qtbot.addWidget(chart)
    chart.set_series(REVENUE)
    assert len(chart.plots) == 2
    assert [p.getAxis("left").labelText for p in chart.plots] == ["USD", "EUR"]
    assert [[name for name, _cur, _pts in points] for points in chart._points] == [["USD"], ["EUR"]]
    # Months read left to right whatever order they came in; both plots share the slots.
    assert [key for _x, _y, key in chart._points[0][0][2]] == ["2026-01", "2026-02"]


def test_axis_ticks_have_thousands_separators(app, qtbot):
    chart = ChartWidget()
    qtbot.addWidget(chart)
    chart.set_series(REVENUE[:1])
    axis = chart.plot.getAxis("left")
    assert axis.tickStrings([0, 5000, 12500], 1, 2500) == ["0", "5,000", "12,500"]
    assert axis.tickStrings([0.5, 1.25], 1, 0.25) == ["0.50", "1.25"]


def test_an_empty_chart_says_so_instead_of_drawing_axes(app, qtbot):
    chart = ChartWidget(title="LTV by first-touch source")
    qtbot.addWidget(chart)
    chart.show()
    chart.set_series([{"name": "x", "currency": "usd", "points": []}])
    assert chart.plots == [] and chart.pages.currentIndex() == 1
    assert chart.empty_label.isVisible() and EMPTY_TEXT in chart.empty_label.text()
    assert "LTV by first-touch source" in chart.empty_label.text()
    chart.set_series(REVENUE[:1])
    assert chart.pages.currentIndex() == 0 and not chart.empty_label.isVisible()


def test_roas_has_a_break_even_line_at_one(app, qtbot):
    chart = ChartWidget()
    qtbot.addWidget(chart)
    chart.set_series([{"name": "ROAS (USD)", "currency": None, "points": [("facebook", 0.95), ("google", 1.03)]}])
    assert len(chart.break_even) == 1 and chart.break_even[0].value() == 1.0
    assert "ratio" in chart.plot.getAxis("left").labelText
    chart.set_series(REVENUE[:1])
    assert chart.break_even == []  # only ratios get one


def test_the_current_month_is_marked_partial(app, qtbot):
    chart = ChartWidget()
    qtbot.addWidget(chart)
    month = current_month()
    chart.set_series([{"name": "USD", "currency": "usd", "points": [("2020-01", 100), (month, 50)]}], kind="category")
    assert chart.partial == month
    ticks = chart.plot.getAxis("bottom")._tickLevels[0]
    assert (1, f"{month} (partial)") in ticks
    assert f"{month} is still running" in chart.caption.text()


def test_cohort_lines_in_date_order_one_colour_per_group_and_explained_ends(app, qtbot):
    chart = ChartWidget(x_label="days after first touch")
    qtbot.addWidget(chart)
    chart.set_series([
        {"name": "2026-08 (USD)", "key": "2026-08", "currency": "usd", "points": [(0, 0), (30, 3500)]},
        {"name": "2026-04 (USD)", "key": "2026-04", "currency": "usd", "points": [(0, 0), (30, 4000), (90, 6600)]},
        {"name": "2026-04 (EUR)", "key": "2026-04", "currency": "eur", "points": [(0, 0), (30, 1100)]},
    ])
    assert [name for name, _c, _p in chart._points[0]] == ["2026-04 (USD)", "2026-08 (USD)"]
    lines = {item.name(): item for plot in chart.plots for item in plot.listDataItems()}
    assert pen_color(lines["2026-04 (USD)"]) == pen_color(lines["2026-04 (EUR)"])  # one colour per group
    assert pen_color(lines["2026-04 (USD)"]) != pen_color(lines["2026-08 (USD)"])
    assert "A line ends" in chart.caption.text()


def test_the_legend_folds_away(app, qtbot):
    chart = ChartWidget()
    qtbot.addWidget(chart)
    chart.set_series(REVENUE)
    chart.legend_btn.click()
    assert not any(legend.isVisible() for legend in chart.legends)
    chart.legend_btn.click()
    assert all(legend.isVisible() for legend in chart.legends)


def test_charts_follow_the_dark_theme(app, qtbot):
    chart = ChartWidget()
    qtbot.addWidget(chart)
    chart.set_series(REVENUE[:1])
    try:
        apply_theme(app, "dark")
        qtbot.waitUntil(lambda: chart.plot_widget.backgroundBrush().color().name() == DARK["surface"], timeout=3000)
        assert chart.plot.getAxis("left").textPen().color().name() == DARK["fg"]
    finally:
        apply_theme(app, "light")
    qtbot.waitUntil(lambda: chart.plot_widget.backgroundBrush().color().name() == LIGHT["surface"], timeout=3000)
