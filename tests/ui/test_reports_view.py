"""The Reports and Dashboard views on a small hand-made workspace (pytest-qt, offscreen)."""

from __future__ import annotations

import csv
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

from segdesk.core.importing.csv_import import import_orders, import_spend  # noqa: E402
from segdesk.core.importing.events import import_events  # noqa: E402
from segdesk.core.refresh import refresh_after_import  # noqa: E402
from segdesk.core.store import open_workspace  # noqa: E402
from tests.core.wire import at, identify, page  # noqa: E402

SHOP = "https://shop.example.com/"
FB = f"{SHOP}?utm_source=facebook&utm_medium=cpc&utm_campaign=spring"


def build_workspace(folder) -> None:
    """Three people whose first and last touches differ, two currencies, a refund, some ad spend.

    ann: facebook ad, then organic google 10 days later, buys 100 USD on day 11.
    bob: google organic, then the facebook ad, buys 40 EUR (10 refunded) on day 3.
    cy:  direct only, signs up 40 days later (so the others have 30-day LTV), buys nothing.
    """
    ws = open_workspace(folder)
    try:
        events = [
            page("a1", at(-30), FB, "https://l.facebook.com/"),
            page("a1", at(-20), SHOP, "https://www.google.com/"),
            identify("a1", at(-20, minutes=1), email="ann@example.com"),
            page("b1", at(-15), SHOP, "https://www.google.com/"),
            page("b1", at(-14), FB, "https://l.facebook.com/"),
            identify("b1", at(-14, minutes=1), email="bob@example.com"),
            page("c1", at(40), SHOP),
            identify("c1", at(40, minutes=1), email="cy@example.com"),
        ]
        import_events(ws, events, origin="test")
        import_orders(ws, "order_id,email,amount,currency,created_at,refunded_amount\n"
                          f"o1,ann@example.com,100.00,usd,{at(-19)},\n"
                          f"o2,bob@example.com,40.00,eur,{at(-12)},10.00\n")
        import_spend(ws, "date,source,medium,campaign,spend,currency\n"
                         f"{at(-30)[:10]},facebook,cpc,spring,25.00,usd\n")
        refresh_after_import(ws)
    finally:
        ws.close()


@pytest.fixture
def ctx(tmp_path, qtbot):
    from segdesk.ui.context import AppContext

    folder = tmp_path / "ws"
    build_workspace(folder)
    context = AppContext(folder)
    yield context
    context.close()


def _wait_shown(qtbot, view, timeout=10000):
    with qtbot.waitSignal(view.reportShown, timeout=timeout) as blocker:
        pass
    return blocker.args[0]


def _cells(view) -> dict:
    m = view.model
    return {m.row_key(r): [m.data(m.index(r, c)) for c in range(m.columnCount())] for r in range(m.rowCount())}


def test_attribution_model_switch_changes_table_and_chart_and_drills_down(ctx, qtbot, screenshot):
    from segdesk.ui.reports_view import ReportsView

    view = ReportsView(ctx)
    qtbot.addWidget(view)
    view.resize(1100, 700)
    view.show()
    with qtbot.waitSignal(view.reportShown, timeout=10000):
        view.set_report("attribution", by="source", model="first_touch", lookback_days=365)
    first = _cells(view)
    first_chart = [(s["name"], s["points"]) for s in view.chart.series]
    assert "facebook" in first and first_chart

    with qtbot.waitSignal(view.reportShown, timeout=10000):
        view.model_box.setCurrentIndex(view.model_box.findData("last_touch"))
    last = _cells(view)
    assert last != first
    assert [(s["name"], s["points"]) for s in view.chart.series] != first_chart
    # ann's USD goes to facebook first-touch but to google last-touch.
    assert "100.00 USD" in " ".join(first["facebook"]) and "100.00 USD" not in " ".join(last.get("facebook", []))

    qtbot.wait(100)  # let the new axes lay out before the screenshot
    screenshot(view, "reports_attribution")

    row = next(r for r in range(view.model.rowCount()) if view.model.row_key(r) == "google.com")
    dialog = view.drill_down(row)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.result is not None or "Could not" in dialog.summary.text(), timeout=10000)
    assert dialog.result is not None, dialog.summary.text()
    emails = {c.get("email") for c in dialog.result["contacts"]}
    assert "ann@example.com" in emails
    assert dialog.contacts.rowCount() >= 1 and dialog.orders.rowCount() >= 1


def test_reports_take_a_custom_date_range(ctx, qtbot):
    """Typing dates narrows the report to orders in them: ann's USD order is before, bob's EUR order inside."""
    from segdesk.ui.range_picker import CUSTOM
    from segdesk.ui.reports_view import ReportsView

    view = ReportsView(ctx)
    qtbot.addWidget(view)
    with qtbot.waitSignal(view.reportShown, timeout=10000):
        view.set_report("attribution", by="source", model="first_touch", lookback_days=365)
    everything = " ".join(" ".join(v) for v in _cells(view).values())
    assert "100.00 USD" in everything and "EUR" in everything

    since, until = at(-13)[:10], at(-2)[:10]
    with qtbot.waitSignal(view.reportShown, timeout=10000):
        view.range.set_range(since, until)
    assert view.range.preset.currentData() == CUSTOM
    assert (view.params()["since"], view.params()["until"]) == (since, until)
    inside = " ".join(" ".join(v) for v in _cells(view).values())
    assert "USD" not in inside and "30.00 EUR" in inside  # 40 EUR less the 10 refunded

    with qtbot.waitSignal(view.reportShown, timeout=10000):
        view.range.set_preset(None)
    assert "since" not in view.params() and "100.00 USD" in " ".join(" ".join(v) for v in _cells(view).values())


def test_ltv_sorts_money_numerically_and_exports_csv(ctx, qtbot, tmp_path):
    from PySide6.QtCore import Qt

    from segdesk.ui.reports_view import ReportsView

    view = ReportsView(ctx)
    qtbot.addWidget(view)
    with qtbot.waitSignal(view.reportShown, timeout=10000):
        view.set_report("ltv", by="source")
    col = next(i for i, c in enumerate(view.model.table.columns) if c.kind == "money")
    view.model.sort(col, Qt.SortOrder.DescendingOrder)
    keys = [view.model.data(view.model.index(r, col), view.model.SortRole) for r in range(view.model.rowCount())]
    assert keys == sorted(keys, reverse=True)

    out = tmp_path / "ltv.csv"
    view.export_csv(str(out))
    rows = list(csv.reader(out.open()))
    assert len(rows) == view.model.rowCount() + 1
    assert any("(USD)" in h for h in rows[0]) and any("(EUR)" in h for h in rows[0])


def test_dashboard_figures_equal_core_summary(ctx, qtbot, screenshot):
    from segdesk.core.reports import build_report
    from segdesk.core.reports.dashboard import figure_text, headline
    from segdesk.core.reports.table import ReportTable
    from segdesk.ui.dashboard_view import DashboardView

    view = DashboardView(ctx)
    qtbot.addWidget(view)
    view.resize(1200, 760)
    view.show()
    with qtbot.waitSignal(view.loaded, timeout=10000):
        view.set_preset(None)  # all time
    conn = ctx.reader()
    try:
        expected = headline(ReportTable.of(build_report(conn, "summary")))
    finally:
        conn.close()
    assert expected["contacts"] == 3 and expected["customers"] == 2
    assert expected["revenue"] == {"usd": 10000, "eur": 3000}
    # No rates in this workspace: the USD tiles leave the EUR amounts out, and say so with a mark.
    assert view.figures["revenue"].text() == "100.00 USD *"
    assert "EUR amounts of days without a rate" in view.figures["revenue"].toolTip()
    view.originals.setChecked(True)  # the originals, one click away
    for key, label in view.figures.items():
        assert label.text() == figure_text(key, expected[key])
    assert view.trend_chart.series and view.ltv_chart.series
    assert view.campaigns.rowCount() >= 1
    qtbot.wait(100)  # let the new figures and axes lay out before the screenshot
    screenshot(view, "dashboard_figures")


def test_views_refresh_after_data_changes(ctx, qtbot):
    from segdesk.ui.context import Changes
    from segdesk.ui.dashboard_view import DashboardView

    view = DashboardView(ctx)
    qtbot.addWidget(view)
    view.show()
    with qtbot.waitSignal(view.loaded, timeout=10000):
        view.set_preset(None)
    assert view.figures["customers"].text() == "2"

    def add_order(ws, progress):
        import_orders(ws, f"order_id,email,amount,currency,created_at\no3,cy@example.com,9.00,usd,{at(41)}\n")
        refresh_after_import(ws)

    job = ctx.write(add_order)
    qtbot.waitUntil(lambda: job.done, timeout=10000)
    with qtbot.waitSignal(view.loaded, timeout=10000):
        ctx.notify(Changes(orders=True))
    assert view.figures["customers"].text() == "3"
    assert "109.00 USD" in view.figures["revenue"].text()
