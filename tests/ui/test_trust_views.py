"""The app shows the per-currency "per customer" figure and lookback 0 as the CLI does (issue 12 items 2, 4)."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

from segdesk.core.importing.csv_import import import_orders  # noqa: E402
from segdesk.core.importing.events import import_events  # noqa: E402
from segdesk.core.refresh import refresh_after_import  # noqa: E402
from segdesk.core.store import open_workspace  # noqa: E402
from tests.core.wire import identify, page  # noqa: E402


@pytest.fixture
def ctx(tmp_path, qtbot):
    """A pays 100 USD, B 50 EUR, C 20 USD + 10 EUR (all from one newsletter touch on the order's day)."""
    from segdesk.ui.context import AppContext

    folder = tmp_path / "ws"
    with open_workspace(folder) as ws:
        news = "https://s.example.com/?utm_source=news&utm_medium=email"
        import_events(ws, [e for who in "abc" for e in (
            page(f"{who}1", "2026-03-01T08:00:00.000Z", news),
            identify(f"{who}1", "2026-03-01T08:01:00.000Z", email=f"{who}@x.com"))], origin="test")
        import_orders(ws, "order_id,email,amount,currency,created_at\n"
                          "1,a@x.com,100.00,usd,2026-03-01T10:00:00Z\n2,b@x.com,50.00,eur,2026-03-01T10:00:00Z\n"
                          "3,c@x.com,20.00,usd,2026-03-01T10:00:00Z\n4,c@x.com,10.00,eur,2026-03-01T10:00:00Z\n")
        refresh_after_import(ws)
    context = AppContext(folder)
    yield context
    context.close()


def _row(view, key) -> dict:
    from PySide6.QtCore import Qt

    m = view.model
    r = next(r for r in range(m.rowCount()) if m.row_key(r) == key)
    heads = [m.headerData(c, Qt.Orientation.Horizontal) for c in range(m.columnCount())]
    return dict(zip(heads, (m.data(m.index(r, c)) for c in range(m.columnCount()))))


def test_the_ltv_table_divides_each_currency_by_its_own_customers(ctx, qtbot):
    from PySide6.QtCore import Qt

    from segdesk.ui.reports_view import ReportsView

    view = ReportsView(ctx)
    qtbot.addWidget(view)
    with qtbot.waitSignal(view.reportShown, timeout=10000):
        view.set_report("ltv", by="source")
    row = _row(view, "news")
    # USD 120.00 / 2 payers = 60.00; EUR 60.00 / 2 payers = 30.00 (not 40.00 and 20.00 over all 3).
    assert "60.00 USD" in row["Value per customer"] and "30.00 EUR" in row["Value per customer"]
    m = view.model
    col = next(c for c in range(m.columnCount()) if m.headerData(c, Qt.Orientation.Horizontal) == "Value per customer")
    assert "paid in that currency" in m.headerData(col, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole)


def test_lookback_zero_in_the_app(ctx, qtbot):
    from segdesk.ui.reports_view import ReportsView

    view = ReportsView(ctx)
    qtbot.addWidget(view)
    with qtbot.waitSignal(view.reportShown, timeout=10000):
        view.set_report("attribution", by="source", model="linear", lookback_days=0)
    assert view.lookback.value() == 0 and view.params()["lookback_days"] == 0
    assert "120.00 USD" in _row(view, "news")["Credit"]


def test_the_pdf_shows_the_per_currency_figure_and_says_what_it_divides_by(ctx, qtbot, tmp_path):
    import shutil
    import subprocess

    from segdesk.core.store import open_workspace as reopen
    from segdesk.core.reports.bundle import report_bundle
    from segdesk.ui.pdf_export import write_bundle

    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext (poppler-utils) is not installed")
    pdf = tmp_path / "ltv.pdf"
    with reopen(ctx.workspace.path) as ws:
        write_bundle(pdf, report_bundle(ws.conn, ["ltv", "summary"]))
    text = " ".join(subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout.split())
    assert "60.00 USD" in text and "30.00 EUR" in text
    assert "Value per customer: a currency's revenue divided by the contacts who paid in that currency." in text
