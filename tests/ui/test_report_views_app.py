"""Issue 16 items 3, 4, 7 in the app: filters, comparisons, models side by side, saved views, tiles that
compare, the PDF cover settings, and "Open file" / "Show in folder" after an export.

The workspace is ``tests/core/test_compare_filters.build_shop`` (its docstring has every person); March 2026.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
from PySide6.QtCore import QObject, Qt, QUrl, Slot  # noqa: E402

from tests.core.test_compare_filters import build_shop  # noqa: E402


@pytest.fixture
def reports(tmp_path, qtbot):
    from segdesk.ui.context import AppContext
    from segdesk.ui.reports_view import ReportsView

    build_shop(tmp_path / "ws")
    ctx = AppContext(tmp_path / "ws")
    view = ReportsView(ctx)
    qtbot.addWidget(view)
    view.show()
    qtbot.waitUntil(lambda: view.filter_bar.boxes["device"].findData("phone") >= 0, timeout=10000)
    with qtbot.waitSignal(view.reportShown, timeout=10000):
        view.set_report("ltv", by="source", since="2026-03-01", until="2026-03-31")
    yield view
    ctx.close()


def shown(view, qtbot, change) -> dict:
    with qtbot.waitSignal(view.reportShown, timeout=10000) as blocker:
        change()
    return {r["key"]: r for r in blocker.args[0].rows}


def pick(box, value):
    return lambda: box.setCurrentIndex(box.findData(value))


def test_filters_narrow_the_report_on_screen(reports, qtbot):
    bar = reports.filter_bar
    rows = shown(reports, qtbot, pick(bar.boxes["device"], "phone"))
    assert {k: r["revenue"] for k, r in rows.items()} == {"facebook": {"usd": 13000}}  # A's iPhone
    rows = shown(reports, qtbot, pick(bar.boxes["device"], None))
    assert {k: r["revenue"] for k, r in rows.items()} == {"facebook": {"usd": 15000}, "google.com": {"usd": 5000}}
    rows = shown(reports, qtbot, pick(bar.boxes["product"], "Course"))
    assert {k: r["revenue"] for k, r in rows.items()} == {"facebook": {"usd": 10000}, "google.com": {"usd": 5000}}
    assert bar.boxes["country"].isVisible() and bar.boxes["country"].findData("DE") >= 0
    assert [bar.boxes["tag"].itemData(i) for i in range(bar.boxes["tag"].count())] == [None, "vip"]


def test_compare_and_models_side_by_side(reports, qtbot):
    bar = reports.filter_bar
    rows = shown(reports, qtbot, pick(bar.compare_box, "previous"))
    labels = [reports.model.headerData(c, Qt.Orientation.Horizontal) for c in range(reports.model.columnCount())]
    assert "Change" in labels and "Change %" in labels and any(str(x).startswith("Trend") for x in labels)
    assert rows["facebook"]["main_previous"] == {"usd": 4000} and rows["facebook"]["main_change_pct"] == "USD +275.0%"
    assert rows["facebook"]["trend"] == [0, 0, 0, 0, 4000, 15000]
    # The trend is painted as a line: its column has the sparkline delegate, fed the numbers themselves.
    trend = next(i for i, x in enumerate(labels) if str(x).startswith("Trend"))
    assert reports.table.itemDelegateForColumn(trend) is reports._sparkline
    assert reports.table.itemDelegateForColumn(0) is not reports._sparkline
    assert reports.model.index(0, trend).data(reports.model.SortRole) == [0, 0, 0, 0, 4000, 15000]
    shown(reports, qtbot, pick(bar.compare_box, None))
    with qtbot.waitSignal(reports.reportShown, timeout=10000) as blocker:
        reports.set_report("attribution", by="source", model="all", lookback_days=90)
    table = blocker.args[0]
    assert [c.key for c in table.columns][1:] == ["first_touch", "last_touch", "last_non_direct", "linear",
                                                 "time_decay", "position_based"]
    rows = {r["key"]: r for r in table.rows}
    assert rows["facebook"]["linear"] == {"usd": 14000.0} and rows["(direct)"]["last_touch"] == {"usd": 2000.0}


def test_a_saved_view_reopens_with_its_filters(reports, qtbot):
    bar = reports.filter_bar
    shown(reports, qtbot, pick(bar.boxes["tag"], "vip"))
    before = shown(reports, qtbot, pick(bar.boxes["device"], "tablet"))
    assert {k: r["revenue"] for k, r in before.items()} == {"facebook": {"usd": 2000}}  # C
    with qtbot.waitSignal(bar.saved, timeout=10000):
        bar.save_as("VIP tablets")
    qtbot.waitUntil(lambda: bar.views_box.findData("VIP tablets") >= 0, timeout=5000)
    shown(reports, qtbot, pick(bar.boxes["device"], None))
    shown(reports, qtbot, pick(bar.boxes["tag"], None))
    with qtbot.waitSignal(reports.reportShown, timeout=10000) as blocker:
        bar.open_view("VIP tablets")
    assert {r["key"]: r["revenue"] for r in blocker.args[0].rows} == {"facebook": {"usd": 2000}}
    assert bar.filters() == {"tag": "vip", "device": "tablet"}
    assert reports.range.date_range() == ("2026-03-01", "2026-03-31")


class Opened(QObject):
    """Receives what QDesktopServices would hand the desktop (Qt's own hook for a URL scheme)."""

    def __init__(self):
        super().__init__()
        self.urls: list[QUrl] = []

    @Slot(QUrl)
    def open(self, url):
        self.urls.append(url)


def test_export_offers_open_file_and_show_in_folder(reports, qtbot, tmp_path):
    from PySide6.QtGui import QDesktopServices

    opened = Opened()
    QDesktopServices.setUrlHandler("file", opened, "open")
    try:
        pdf = tmp_path / "out" / "ltv.pdf"
        pdf.parent.mkdir()
        reports._exported(str(pdf), reports.export_pdf(str(pdf)))
        note = reports.export_note
        assert note.isVisible() and str(pdf) in note.text()
        note.open_button.click()
        note = reports.export_note
        note.folder_button.click()
        assert [u.toLocalFile() for u in opened.urls] == [str(pdf), str(pdf.parent)]
    finally:
        QDesktopServices.unsetUrlHandler("file")


def test_cover_settings_reach_the_pdf(reports, qtbot, tmp_path):
    import shutil
    import subprocess

    from segdesk.ui.settings import SettingsDialog

    dialog = SettingsDialog(reports.ctx)
    qtbot.addWidget(dialog)
    dialog.cover.name.setText("Acme Gardening Ltd")
    dialog.cover.save()
    def stored():
        conn = reports.ctx.reader()
        try:
            return conn.execute("SELECT value FROM settings WHERE key = 'report.client_name'").fetchone()
        finally:
            conn.close()

    qtbot.waitUntil(lambda: stored() == ("Acme Gardening Ltd",), timeout=5000)
    pdf = tmp_path / "cover.pdf"
    reports.export_pdf(str(pdf))
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True).stdout
        assert "Acme Gardening Ltd" in text and "1 March 2026 – 31 March 2026" in text


def test_dashboard_tiles_compare_with_the_previous_period(tmp_path, qtbot):
    from segdesk.ui.context import AppContext
    from segdesk.ui.dashboard_view import DashboardView

    build_shop(tmp_path / "ws")
    ctx = AppContext(tmp_path / "ws")
    try:
        view = DashboardView(ctx)
        qtbot.addWidget(view)
        with qtbot.waitSignal(view.loaded, timeout=10000):
            view.set_range("2026-03-01", "2026-03-31")
        # March, a whole month, against February: D alone, 40 USD.
        qtbot.waitUntil(lambda: view.changes["contacts"].text() != "", timeout=10000)
        assert view.changes["contacts"].text().startswith("+2 (+200.0%)")
        assert view.changes["revenue"].text().startswith("+$160.00 (+400.0%)") or \
            view.changes["revenue"].text().startswith("+160.00 USD (+400.0%)")
        assert "2026-02-01 – 2026-02-28" in view.changes["contacts"].toolTip()
    finally:
        ctx.close()
