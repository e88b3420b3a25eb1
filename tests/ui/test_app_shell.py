"""The window around the data: first run, sources, relay setup, settings, window state, About."""

from __future__ import annotations

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QMessageBox

from segdesk.core.store import open_workspace
from segdesk.sync import secrets
from segdesk.sync.sources import list_sources
from segdesk.ui.context import APP, ORG


def test_first_run_guides_an_empty_workspace(tmp_path, qtbot, open_window, screenshot):
    window = open_window(tmp_path / "empty")
    page = window.page("dashboard")
    qtbot.waitUntil(lambda: page.empty is not None, timeout=5000)
    assert page.empty and page.currentWidget() is page.first_run
    steps = list(page.first_run.buttons)
    assert steps == ["Deploy the relay", "Paste the snippet", "Connect CRM and payments"]
    screenshot(window, "first_run")
    qtbot.mouseClick(page.first_run.buttons["Deploy the relay"], Qt.MouseButton.LeftButton)
    assert window.current_page() == "relay"
    qtbot.mouseClick(page.first_run.buttons["Connect CRM and payments"], Qt.MouseButton.LeftButton)
    assert window.current_page() == "sources"


def test_add_and_remove_a_source_with_its_key_in_the_keychain(tmp_path, qtbot, open_window, monkeypatch,
                                                              memory_keyring):
    window = open_window(tmp_path / "ws")
    window.show_page("sources")
    view = window.page("sources")
    dialog = view.ask_add("stripe")
    qtbot.keyClicks(dialog.secret, "sk_test_123")
    with qtbot.waitSignal(view.changed, timeout=5000):
        dialog.accept()
    qtbot.waitUntil(lambda: [r["name"] for r in view.rows] == ["stripe"], timeout=5000)
    assert "Added Stripe" in view.banner.text()
    assert list(memory_keyring.items.values()) == ["sk_test_123"]
    ws = open_workspace(tmp_path / "ws")
    assert [s.secret_ref.startswith("keyring:") for s in list_sources(ws.conn)] == [True]
    ws.close()

    # A source that cannot work is refused with its reason in the dialog, which stays open with what was typed.
    dialog = view.ask_add("relay")
    qtbot.keyClicks(dialog.secret, "pull-token")
    dialog.accept()
    qtbot.waitUntil(lambda: "needs --base-url" in dialog.error.text(), timeout=5000)
    assert dialog.isVisible() and dialog.secret.text() == "pull-token" and dialog.ok_button.isEnabled()
    dialog.reject()

    view.tree.topLevelItem(0).setSelected(True)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    with qtbot.waitSignal(view.changed, timeout=5000):
        qtbot.mouseClick(view.remove_btn, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: view.rows == [], timeout=5000)
    assert memory_keyring.items == {}


def test_relay_page_snippet_copy_save_and_command_output(tmp_path, qtbot, open_window, memory_keyring):
    window = open_window(tmp_path / "ws")
    window.show_page("relay")
    view = window.page("relay")
    qtbot.keyClicks(view.url, "https://t.example.com")
    qtbot.keyClicks(view.write_key, "wk_live_1")
    expected = ('<script>window.segdesk=window.segdesk||function(){(segdesk.q=segdesk.q||[]).push(arguments)};'
                '</script>\n<script async src="https://t.example.com/p.js" data-write-key="wk_live_1"></script>')
    assert view.snippet.toPlainText() == expected
    qtbot.mouseClick(view.copy_btn, Qt.MouseButton.LeftButton)
    assert QGuiApplication.clipboard().text() == expected

    qtbot.keyClicks(view.token, "pull-token-1")
    view.save()
    qtbot.waitUntil(lambda: view.state["name"] == "relay", timeout=5000)
    assert view.state == {"name": "relay", "url": "https://t.example.com", "write_key": "wk_live_1"}
    ws = open_workspace(tmp_path / "ws")
    source = list_sources(ws.conn)[0]
    assert source.kind == "relay" and secrets.load_secret(ws.path, source.secret_ref) == "pull-token-1"
    ws.close()

    qtbot.keyClicks(view.target, "ssh://deploy@relay.example.com")
    assert view.command.text() == "segdesk relay deploy ssh://deploy@relay.example.com"
    proc = view.run_relay_command(["--help"])  # the same QProcess plumbing the deploy button uses
    with qtbot.waitSignal(proc.finished, timeout=15000):
        pass
    assert "segdesk-relay" in view.output.toPlainText() and "[finished with exit status 0]" in view.output.toPlainText()


def test_settings_change_display_and_the_window_remembers_its_state(tmp_path, qtbot, open_window):
    from segdesk.ui.settings import SettingsDialog

    window = open_window(tmp_path / "ws", size=(1100, 700))
    ctx = window.ctx
    assert ctx.money({"usd": 4900}) == "$49.00"
    dialog = SettingsDialog(ctx, window)
    dialog.timezone.setCurrentIndex(dialog.timezone.findData("Asia/Tokyo"))
    dialog.currency.setCurrentIndex(dialog.currency.findData("code"))
    with qtbot.waitSignal(ctx.settingsChanged, timeout=2000):
        dialog.accept()
    assert ctx.money({"usd": 4900}) == "49.00 USD"
    assert ctx.time("2026-01-01T00:00:00.000Z") == "2026-01-01 09:00"
    assert QSettings(ORG, APP).value("display/timezone") == "Asia/Tokyo"

    window.show_page("sources")
    window.close()
    assert bytes(QSettings(ORG, APP).value("window/geometry")) == bytes(window.saveGeometry())
    again = open_window(tmp_path / "ws", size=(1000, 650))
    again._restore_state()
    assert again.current_page() == "sources"
    assert again.height() == 700  # (the offscreen screen is too narrow to check the width)


def test_about_names_every_version(tmp_path, qtbot, open_window):
    from segdesk.ui.about import AboutDialog, versions

    window = open_window(tmp_path / "ws")
    dialog = AboutDialog(window.ctx, window)
    qtbot.addWidget(dialog)
    v = versions()
    assert {"SegDesk", "Python", "Qt", "PySide6", "SQLite"} <= set(v)
    for name in ("SegDesk", "Python", "Qt", "PySide6", "SQLite"):
        assert f"{name} {v[name]}" in dialog.version_text


def test_settings_list_erased_people_and_lift_one(tmp_path, qtbot, open_window):
    from segdesk.core.identity import people
    from segdesk.core.importing.csv_import import import_contacts
    from segdesk.core.refresh import refresh_after_import
    from segdesk.ui.settings import SettingsDialog

    with open_workspace(tmp_path / "ws") as ws:
        import_contacts(ws, "email,contact_id\nann@example.com,ac:7\nbob@example.com,\n")
        refresh_after_import(ws)
        people.erase(ws, "ann@example.com")
    window = open_window(tmp_path / "ws")
    dialog = SettingsDialog(window.ctx, window)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.suppressions.isEnabled(), timeout=3000)
    items = [dialog.suppressions.item(i).text() for i in range(dialog.suppressions.count())]
    assert len(items) == 1 and "2 identifiers (CRM contact id, email)" in items[0] and "ann" not in items[0]

    dialog.lift_email.setText("carl@example.com")
    qtbot.mouseClick(dialog.lift_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "not on the suppression list" in dialog.lift_status.text(), timeout=3000)
    dialog.lift_email.setText("Ann@Example.com")
    qtbot.mouseClick(dialog.lift_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.suppressions.isEnabled(), timeout=3000)
    assert dialog.suppressions.item(0).text() == "Nobody has been erased."
    assert dialog.lift_status.text().startswith("Lifted: Ann@Example.com")
