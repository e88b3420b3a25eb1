"""A slow API holds up nothing queued behind it: the sync waits on a network thread, merges and erases still run."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QInputDialog, QMessageBox

from segdesk.core.store import open_workspace
from segdesk.sync.sources import add_source
from tests.core.wire import at, identify, page
from tests.sync.pull_server import TOKEN, pull_server
from tests.ui.test_app_contacts import build_people, open_contacts, wait_rows


def test_merge_and_erase_queued_during_a_slow_sync_finish_before_it(tmp_path, qtbot, open_window, monkeypatch):
    folder = tmp_path / "ws"
    build_people(folder)
    pulled = [page("d-1", at(-1, minutes=5)), identify("d-1", at(-1, minutes=6), email="dora@example.com")]
    with pull_server(pulled) as relay:
        ws = open_workspace(folder)
        add_source(ws, "relay", "slow", {"base_url": relay.url}, TOKEN)
        ws.close()
        window, view = open_contacts(open_window, folder)
        wait_rows(qtbot, view, 3)
        journey = view.journey
        with qtbot.waitSignal(journey.loaded, timeout=5000):
            view.open_contact("bob@example.com")

        relay.hold()  # the relay takes its time to answer the pull
        window.sync_status.start()
        qtbot.waitUntil(relay.asked.is_set, timeout=10000)

        monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("carla@example.com", True))
        monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
        with qtbot.waitSignal(journey.loaded, timeout=15000):
            qtbot.mouseClick(journey.merge_btn, Qt.MouseButton.LeftButton)
        assert journey.data["contact"]["emails"] == ["bob@example.com", "carla@example.com"]
        assert window.sync_status.running  # the merge did not wait for the sync

        view.journey.backRequested.emit()
        with qtbot.waitSignal(journey.loaded, timeout=5000):
            view.open_contact("ann@example.com")
        with qtbot.waitSignal(journey.erased, timeout=15000):
            qtbot.mouseClick(journey.erase_btn, Qt.MouseButton.LeftButton)
        assert "Erased ann@example.com" in view.banner.text() and "relay “slow”: 0 buffered" in view.banner.text()
        assert relay.erased == ["ann@example.com"]
        assert window.sync_status.running  # nor did the erase

        with qtbot.waitSignal(window.sync_status.finished, timeout=30000) as done:
            relay.release()
        report = done.args[0]
        assert report.ok and report.sources[0].changed == {"events": 2}
        wait_rows(qtbot, view, 2)  # bob+carla and the pulled dora; ann is gone
        assert sorted(view.model.email_at(r) for r in range(2)) == ["bob@example.com", "dora@example.com"]
