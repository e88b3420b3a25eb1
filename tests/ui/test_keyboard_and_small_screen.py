"""The keyboard and a 1024x700 screen: Ctrl+F, Escape and Alt+Left; the report tables' key columns in view."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QDialog

from segdesk.core.demo import generate
from segdesk.core.reports.glossary import NAMES
from segdesk.core.store import open_workspace
from segdesk.ui.column_chooser import KEY_COLUMNS


@pytest.fixture(scope="module")
def demo_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo") / "ws"
    ws = open_workspace(folder)
    generate(ws, contacts=300)
    ws.close()
    return folder


def key_columns_in_view(view) -> list[str]:
    """Labels of key columns whose header section does not lie wholly inside the viewport."""
    header, model = view.horizontalHeader(), view.model()
    width = view.viewport().width()
    outside = []
    for i, col in enumerate(model.table.columns):
        if col.key in KEY_COLUMNS:
            left = header.sectionViewportPosition(i)
            if view.isColumnHidden(i) or left < 0 or left + header.sectionSize(i) > width:
                outside.append(col.label)
    return outside


def test_shortcuts_find_and_go_back(tmp_path, qtbot, open_window):
    window = open_window(tmp_path / "ws")
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=3000)
    window.show_page("sources")
    qtbot.keyClick(window, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    contacts = window.page("contacts")
    assert window.current_page() == "contacts"
    qtbot.waitUntil(lambda: QApplication.focusWidget() is contacts.search, timeout=3000)
    window.sidebar.setFocus()
    qtbot.keyClick(window, Qt.Key.Key_Left, Qt.KeyboardModifier.AltModifier)
    assert window.current_page() == "sources"
    window.show_page("reports")
    window.sidebar.setFocus()
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    assert window.current_page() == "sources"


def test_escape_leaves_a_journey_for_the_list(demo_folder, qtbot, open_window):
    window = open_window(demo_folder)
    window.show_page("contacts")
    contacts = window.page("contacts")
    qtbot.waitUntil(lambda: contacts.model.rowCount() > 0 and contacts.model.email_at(0) is not None, timeout=10000)
    with qtbot.waitSignal(contacts.journey.loaded, timeout=10000):
        contacts.open_contact(contacts.model.email_at(0))
    assert contacts.stack.currentWidget() is contacts.journey
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=3000)
    window.sidebar.setFocus()
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    assert contacts.stack.currentWidget() is not contacts.journey and window.current_page() == "contacts"


@pytest.mark.parametrize("report, by", [("ltv", "source"), ("roas", "source"), ("attribution", "campaign")])
def test_key_columns_fit_1024x700(demo_folder, qtbot, open_window, report, by):
    window = open_window(demo_folder, size=(1024, 700))
    window.show_page("reports")
    view = window.page("reports")
    with qtbot.waitSignal(view.reportShown, timeout=20000):
        view.set_report(report, by=by)
    qtbot.wait(50)
    assert window.width() <= 1024
    h = view.table.horizontalHeader()
    assert key_columns_in_view(view.table) == [], (view.table.viewport().width(), [
        (c.key, view.table.isColumnHidden(i), h.sectionViewportPosition(i), h.sectionSize(i))
        for i, c in enumerate(view.model.table.columns)])
    assert view.table.horizontalScrollBar().maximum() == 0  # nothing to scroll to

    # A column folded away for room comes back when chosen, and stays.
    hidden = [i for i in range(view.model.columnCount()) if view.table.isColumnHidden(i)]
    if hidden:
        col = view.model.table.columns[hidden[0]]
        view.table.column_chooser.choose(col.key, True)
        assert not view.table.isColumnHidden(hidden[0])


def test_dashboard_campaigns_fit_1024x700(demo_folder, qtbot, open_window):
    window = open_window(demo_folder, size=(1024, 700))
    page = window.page("dashboard")
    qtbot.waitUntil(lambda: page.dashboard is not None, timeout=10000)
    qtbot.waitUntil(lambda: page.dashboard.campaigns.table is not None, timeout=20000)
    qtbot.wait(50)
    assert key_columns_in_view(page.dashboard.campaign_table) == []


def test_one_name_per_measure_with_its_explanation(demo_folder, qtbot, open_window):
    window = open_window(demo_folder)
    view = window.page("reports")
    window.show_page("reports")
    with qtbot.waitSignal(view.reportShown, timeout=20000):
        view.set_report("ltv", by="source")
    labels = {c.key: c.label for c in view.model.table.columns}
    assert labels["value_per_contact"] == NAMES["value_per_contact"] == "Lead value"
    assert labels["value_per_customer"] == "Value per customer"
    i = [c.key for c in view.model.table.columns].index("value_per_contact")
    tip = view.model.headerData(i, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole)
    assert tip.startswith("Lead value:")
    assert view.chart.series and view.chart._title.startswith("LTV")


def test_every_dialog_has_a_title(tmp_path, qtbot, open_window):
    window = open_window(tmp_path / "ws")
    window.open_settings()
    window.open_about()
    window.page("sources").ask_add("stripe")
    dialogs = [w for w in QApplication.topLevelWidgets() if isinstance(w, QDialog) and w.isVisible()]
    assert len(dialogs) >= 3 and all(d.windowTitle().strip() for d in dialogs)
    for d in dialogs:
        d.reject()
