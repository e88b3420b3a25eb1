"""The Add-source dialog offers the ad platforms with their account field."""

from __future__ import annotations

from segdesk.core.store import open_workspace
from segdesk.sync.sources import list_sources


def test_add_meta_ads_with_its_ad_account(tmp_path, qtbot, open_window, memory_keyring):
    window = open_window(tmp_path / "ws")
    window.show_page("sources")
    view = window.page("sources")
    dialog = view.ask_add("meta-ads")
    assert dialog.form.isRowVisible(dialog.account) and not dialog.form.isRowVisible(dialog.client_id)
    qtbot.keyClicks(dialog.account, "act_99")
    qtbot.keyClicks(dialog.secret, "EAAB-token")
    with qtbot.waitSignal(view.changed, timeout=5000):
        dialog.accept()
    qtbot.waitUntil(lambda: [r["name"] for r in view.rows] == ["meta-ads"], timeout=5000)
    ws = open_workspace(tmp_path / "ws")
    assert [(s.kind, s.config) for s in list_sources(ws.conn)] == [("meta-ads", {"account_id": "act_99"})]
    ws.close()
    assert list(memory_keyring.items.values()) == ["EAAB-token"]


def test_google_ads_without_a_sign_in_is_refused_with_the_way_to_sign_in(tmp_path, qtbot, open_window,
                                                                          memory_keyring):
    window = open_window(tmp_path / "ws")
    window.show_page("sources")
    view = window.page("sources")
    dialog = view.ask_add("google-ads")
    assert dialog.form.isRowVisible(dialog.account)
    qtbot.keyClicks(dialog.account, "123-456-7890")
    qtbot.keyClicks(dialog.secret, '{"developer_token": "d", "client_id": "c", "client_secret": "s"}')
    dialog.accept()
    # The dialog stays open with what was typed and says why (ui/source_dialog.py).
    qtbot.waitUntil(lambda: "sign in with 'segdesk sources add google-ads'" in dialog.error.text(), timeout=5000)
    assert view.rows == [] and memory_keyring.items == {}


def test_every_ad_platform_is_offered_with_its_account_field(tmp_path, qtbot):
    from segdesk.ui.source_dialog import SourceDialog

    dialog = SourceDialog(tmp_path, None, "microsoft-ads")
    qtbot.addWidget(dialog)
    kinds = [dialog.kind.itemData(i) for i in range(dialog.kind.count())]
    assert {"meta-ads", "google-ads", "microsoft-ads"} <= set(kinds)
    qtbot.keyClicks(dialog.account, "149876543")
    qtbot.keyClicks(dialog.secret, '{"developer_token": "d", "client_id": "c", "refresh_token": "r"}')
    assert dialog.values()[:3] == ("microsoft-ads", None, {"account_id": "149876543"})
