"""SamCart from the app: added in the Add-source dialog, synced by Sync Now, a revoked key shown as its one line."""

from __future__ import annotations

from PySide6.QtCore import Qt

from segdesk.core.store import open_workspace
from segdesk.sync.http import HttpOptions
from segdesk.sync.sources import list_sources
from tests.sync.fakes_samcart import KEY, FakeSamCart
from tests.sync.loopback import Loopback

LINE = "SamCart rejected the API key: Invalid authentication credentials"


def test_samcart_is_added_from_the_dialog_and_a_revoked_key_is_its_failure_reason(
        tmp_path, qtbot, open_window, memory_keyring):
    fake = FakeSamCart()
    fake.order(fake.customer("ann@x.com"), [("Course", 4900)])
    window = open_window(tmp_path / "ws")
    window.show_page("sources")
    view = window.page("sources")
    dialog = view.ask_add("samcart")
    assert dialog.form.labelForField(dialog.secret).text() == "API key (from SamCart Support)"
    assert not dialog.form.isRowVisible(dialog.shop) and not dialog.form.isRowVisible(dialog.consumer_key)
    qtbot.keyClicks(dialog.secret, KEY)
    with qtbot.waitSignal(view.changed, timeout=5000):
        dialog.accept()
    with open_workspace(tmp_path / "ws") as ws:
        assert [(s.name, s.kind, s.config) for s in list_sources(ws.conn)] == [("samcart", "samcart", {})]
    assert list(memory_keyring.items.values()) == [KEY]

    status = window.sync_status
    with Loopback(fake) as transport:
        status.http_options = HttpOptions(transports={"samcart": transport}, sleep=lambda _s: None, max_attempts=2)
        with qtbot.waitSignal(status.finished, timeout=30000) as done:
            qtbot.mouseClick(window.sync_button, Qt.MouseButton.LeftButton)
        assert [s.ok for s in done.args[0].sources] == [True]
        fake.revoked = True
        with qtbot.waitSignal(status.finished, timeout=30000) as done:
            qtbot.mouseClick(window.sync_button, Qt.MouseButton.LeftButton)
    (result,) = done.args[0].sources
    assert result.status == "failed" and result.reason == LINE
    qtbot.waitUntil(lambda: status.failed_btn.isVisible(), timeout=5000)
    assert status.failed_btn.text() == "⚠ samcart failed"
    assert LINE in status.failed_btn.toolTip()
