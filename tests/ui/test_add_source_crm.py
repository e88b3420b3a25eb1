"""The Add-source dialog offers Drip, Ontraport and HighLevel with the account each needs beside its key."""

from __future__ import annotations

from segdesk.core.store import open_workspace
from segdesk.sync.sources import list_sources
from segdesk.ui.source_dialog import SourceDialog


def test_each_asks_for_its_own_account_field(app, qtbot, tmp_path):
    dialog = SourceDialog(tmp_path, kind="drip")
    qtbot.addWidget(dialog)
    assert dialog.form.isRowVisible(dialog.crm_account) and not dialog.form.isRowVisible(dialog.won_as_orders)
    assert dialog.form.labelForField(dialog.crm_account).text() == "Account id"
    dialog.crm_account.setText(" 9999999 ")
    dialog.secret.setText("token")
    assert dialog.values() == ("drip", None, {"account_id": "9999999"}, "token")

    dialog.kind.setCurrentIndex(dialog.kind.findData("ontraport"))
    assert dialog.form.labelForField(dialog.crm_account).text() == "App ID"
    assert dialog.form.isRowVisible(dialog.currency)
    dialog.crm_account.setText("2_123456_AbC")
    dialog.currency.setText("EUR")
    assert dialog.values() == ("ontraport", None, {"app_id": "2_123456_AbC", "currency": "eur"}, "token")

    dialog.kind.setCurrentIndex(dialog.kind.findData("mailchimp"))
    assert not dialog.form.isRowVisible(dialog.crm_account) and not dialog.form.isRowVisible(dialog.currency)


def test_add_highlevel_with_won_opportunities_as_orders(tmp_path, qtbot, open_window, memory_keyring):
    window = open_window(tmp_path / "ws")
    window.show_page("sources")
    view = window.page("sources")
    dialog = view.ask_add("highlevel")
    assert dialog.form.labelForField(dialog.crm_account).text() == "Location id"
    assert dialog.form.isRowVisible(dialog.won_as_orders)
    qtbot.keyClicks(dialog.crm_account, "ve9EPM428h8vShlRW1KT")
    dialog.won_as_orders.click()
    qtbot.keyClicks(dialog.secret, "pit-token")
    with qtbot.waitSignal(view.changed, timeout=5000):
        dialog.accept()
    qtbot.waitUntil(lambda: [r["name"] for r in view.rows] == ["highlevel"], timeout=5000)
    ws = open_workspace(tmp_path / "ws")
    assert [(s.kind, s.config) for s in list_sources(ws.conn)] == [
        ("highlevel", {"location_id": "ve9EPM428h8vShlRW1KT", "opportunities_as_orders": True})]
    ws.close()
    assert list(memory_keyring.items.values()) == ["pit-token"]


def test_a_highlevel_source_without_its_location_stays_open_and_says_so(tmp_path, qtbot, open_window,
                                                                        memory_keyring):
    window = open_window(tmp_path / "ws")
    window.show_page("sources")
    view = window.page("sources")
    dialog = view.ask_add("highlevel")
    qtbot.keyClicks(dialog.secret, "pit-token")
    dialog.accept()
    qtbot.waitUntil(lambda: "needs --location-id" in dialog.error.text(), timeout=5000)
    assert view.rows == [] and memory_keyring.items == {}
