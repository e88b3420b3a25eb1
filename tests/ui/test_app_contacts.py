"""Contacts and journeys as a user meets them: search, open, read the timeline, merge and unmerge, erase."""

from __future__ import annotations

from segdesk.core.read.timeline import device_labels

import sqlite3

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QInputDialog, QMessageBox

from segdesk.core.importing.csv_import import import_orders
from segdesk.core.importing.events import import_events
from segdesk.core.paths import database_path
from segdesk.core.identity.stitch import stitch
from segdesk.core.store import open_workspace
from segdesk.ui.contacts_model import EMAIL_ROLE, PAGE
from tests.core.wire import at, identify, page

SHOP = "https://shop.example.com/"
FB = f"{SHOP}?utm_source=facebook&utm_medium=cpc&utm_campaign=spring"


def build_people(folder) -> None:
    """ann browses anonymously on a laptop (facebook ad, then google), signs up by form, buys;
    later an email link identifies her phone. bob and carla are plain sign-ups."""
    ws = open_workspace(folder)
    events = [
        page("laptop", at(-10), FB, "https://l.facebook.com/"),
        page("laptop", at(-10, minutes=3), SHOP + "pricing"),
        page("laptop", at(-6), SHOP, "https://www.google.com/"),
        identify("laptop", at(-6, minutes=2), email="ann@example.com", method="form"),
        page("laptop", at(-6, minutes=4), SHOP + "checkout"),
        page("phone", at(-2), SHOP),
        identify("phone", at(-2, minutes=1), email="ann@example.com", method="link"),
        page("b-1", at(-3), SHOP),
        identify("b-1", at(-3, minutes=1), email="bob@example.com"),
        page("c-1", at(-1), SHOP, "https://www.bing.com/"),
        identify("c-1", at(-1, minutes=1), email="carla@example.com"),
    ]
    import_events(ws, events, origin="test")
    import_orders(ws, "order_id,email,amount,currency,created_at\n"
                      f"o1,ann@example.com,49.00,usd,{at(-5)}\no2,bob@example.com,9.50,usd,{at(-2)}\n")
    stitch(ws)
    ws.close()


def wait_rows(qtbot, view, n=None):
    qtbot.waitUntil(lambda: view.model.loaded and (n is None or view.model.rowCount() == n), timeout=5000)
    qtbot.waitUntil(lambda: view.model.rowCount() == 0 or view.model.email_at(0) is not None, timeout=5000)


def timeline_rows(tree):
    rows = []
    for i in range(tree.topLevelItemCount()):
        item = tree.topLevelItem(i)
        rows.append([item.text(c) for c in range(tree.columnCount())])
        for j in range(item.childCount()):
            rows.append([item.child(j).text(c) for c in range(tree.columnCount())])
    return rows


def open_contacts(open_window, folder):
    window = open_window(folder)
    window.show_page("contacts")
    return window, window.page("contacts")


def test_search_open_contact_and_read_backfill_and_identify(tmp_path, qtbot, open_window):
    build_people(tmp_path / "ws")
    window, view = open_contacts(open_window, tmp_path / "ws")
    wait_rows(qtbot, view, 3)
    assert [view.model.email_at(r) for r in range(3)] == ["ann@example.com", "bob@example.com", "carla@example.com"]

    qtbot.keyClicks(view.search, "ann")
    qtbot.keyClick(view.search, Qt.Key.Key_Return)
    wait_rows(qtbot, view, 1)
    assert view.count.text() == "1 match"
    row = {view.model.headerData(c, Qt.Orientation.Horizontal): view.model.data(view.model.index(0, c))
           for c in range(view.model.columnCount())}
    assert row["Devices"] == "2" and row["Revenue"] == "$49.00" and row["First touch"] == "facebook / cpc"

    index = view.model.index(0, 0)
    qtbot.mouseClick(view.table.viewport(), Qt.MouseButton.LeftButton, pos=view.table.visualRect(index).center())
    with qtbot.waitSignal(view.journey.loaded, timeout=5000):
        qtbot.keyClick(view.table, Qt.Key.Key_Return)
    assert view.stack.currentWidget() is view.journey
    rows = timeline_rows(view.journey.timeline)
    backfilled = [r for r in rows if r[3] == "anonymous · backfilled"]
    # The laptop's visits before the form are hers now, and marked as such; the ad visit among them.
    assert len(backfilled) >= 3
    assert any("utm_source=facebook" in r[4] for r in backfilled)
    identified = [r for r in rows if r[1].endswith("Identified by opt-in form")]
    labels = device_labels(view.journey.data)  # a row names its device; two alike are numbered
    assert len(identified) == 1 and identified[0][2] == labels["laptop"][1] and identified[0][3] == "device identified"
    assert any(r[1].endswith("Identified by email link") and r[2] == labels["phone"][1] for r in rows)
    assert any(r[1].endswith("Purchase") and "$49.00" in r[4] for r in rows)
    sessions = [r for r in rows if "Session" in r[1]]
    assert any("facebook / cpc / spring" in r[1] for r in sessions)
    devices = {view.journey.devices.topLevelItem(i).text(0): view.journey.devices.topLevelItem(i)
               for i in range(view.journey.devices.topLevelItemCount())}
    assert set(devices) == {"laptop", "phone"}
    assert devices["laptop"].text(4) == "opt-in form" and "identify by opt-in form" in devices["laptop"].text(6)
    assert devices["laptop"].text(1) == "Linux"  # the test pixel's minimal user agent
    assert devices["phone"].text(4) == "email link"

    view.journey.backRequested.emit()
    assert view.stack.currentIndex() == 0


def test_merge_and_unmerge_through_confirmations(tmp_path, qtbot, open_window, monkeypatch):
    build_people(tmp_path / "ws")
    window, view = open_contacts(open_window, tmp_path / "ws")
    wait_rows(qtbot, view, 3)
    journey = view.journey
    with qtbot.waitSignal(journey.loaded, timeout=5000):
        view.open_contact("bob@example.com")
    assert not journey.unmerge_btn.isEnabled()

    asked = []
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("carla@example.com", True))
    monkeypatch.setattr(QMessageBox, "question",
                        lambda parent, title, text, *a, **k: asked.append(text) or QMessageBox.StandardButton.Yes)
    with qtbot.waitSignal(journey.loaded, timeout=8000):
        qtbot.mouseClick(journey.merge_btn, Qt.MouseButton.LeftButton)
    assert "carla@example.com" in asked[0] and "Unmerge" in asked[0]
    assert journey.data["contact"]["emails"] == ["bob@example.com", "carla@example.com"]
    assert "Merged" in journey.banner.text()
    assert journey.unmerge_btn.isEnabled()
    wait_rows(qtbot, view, 2)  # the table followed: two contacts now

    with qtbot.waitSignal(journey.loaded, timeout=8000):
        qtbot.mouseClick(journey.unmerge_btn, Qt.MouseButton.LeftButton)
    assert "carla@example.com" in asked[1]
    assert "emails" not in journey.data["contact"]
    wait_rows(qtbot, view, 3)

    # Saying No changes nothing.
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.No)
    qtbot.mouseClick(journey.merge_btn, Qt.MouseButton.LeftButton)
    qtbot.wait(200)
    assert "emails" not in journey.data["contact"]


def test_erase_asks_then_deletes_everywhere(tmp_path, qtbot, open_window, monkeypatch):
    build_people(tmp_path / "ws")
    window, view = open_contacts(open_window, tmp_path / "ws")
    wait_rows(qtbot, view, 3)
    with qtbot.waitSignal(view.journey.loaded, timeout=5000):
        view.open_contact("carla@example.com")
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    with qtbot.waitSignal(view.journey.erased, timeout=8000):
        qtbot.mouseClick(view.journey.erase_btn, Qt.MouseButton.LeftButton)
    assert view.stack.currentIndex() == 0 and "Erased carla@example.com" in view.banner.text()
    wait_rows(qtbot, view, 2)


def fill_contacts(folder, n: int) -> None:
    """n canonical contacts straight into the table (the stitch is not what this test measures)."""
    open_workspace(folder).close()
    conn = sqlite3.connect(database_path(folder))
    with conn:
        conn.executemany(
            "INSERT INTO contacts(id, email, first_name, last_name, first_seen, canonical_id) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            ((i, f"person{i:06d}@example.com", "Person", f"No{i}", "2026-01-01T00:00:00.000Z", i)
             for i in range(1, n + 1)))
    conn.close()


def test_hundred_thousand_contacts_open_without_loading_every_row(tmp_path, qtbot, open_window):
    fill_contacts(tmp_path / "ws", 100_000)
    window, view = open_contacts(open_window, tmp_path / "ws")
    wait_rows(qtbot, view, 100_000)
    assert view.count.text() == "100,000 contacts"
    assert view.model.data(view.model.index(0, 0), EMAIL_ROLE) == "person000001@example.com"
    assert 0 < view.model.fetched_rows <= 2 * PAGE  # the first screen, not 100,000 rows

    view.table.scrollToBottom()
    last = view.model.rowCount() - 1
    qtbot.waitUntil(lambda: view.model.email_at(last) is not None, timeout=5000)
    assert view.model.email_at(last) == "person100000@example.com"
    assert view.model.fetched_rows <= 4 * PAGE

    view.table.sortByColumn(0, Qt.SortOrder.DescendingOrder)
    qtbot.waitUntil(lambda: view.model.email_at(0) == "person100000@example.com", timeout=5000)
    assert view.model.fetched_rows < 1000
