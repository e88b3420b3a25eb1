"""Opening a workspace from an older release: the app says it is upgrading instead of looking hung."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtWidgets import QProgressDialog

from segdesk.core.store import open_workspace, upgrade_pending
from tests.test_upgrade import _previous_release_workspace


def test_the_app_shows_an_upgrade_dialog_then_opens_the_upgraded_workspace(tmp_path, app, qtbot, monkeypatch):
    from segdesk.ui.app import Launcher

    folder = tmp_path / "old"
    _previous_release_workspace(folder)
    assert upgrade_pending(folder)
    shown: list[str] = []
    real_show = QProgressDialog.show

    def show(dialog):
        shown.append(dialog.labelText())
        real_show(dialog)

    monkeypatch.setattr(QProgressDialog, "show", show)
    launcher = Launcher(app)
    try:
        window = launcher.open(folder)
        qtbot.addWidget(window)
        qtbot.waitExposed(window)
        assert len(shown) == 1 and "Upgrading the workspace" in shown[0] and "backup" in shown[0]
        assert not upgrade_pending(folder)
        with open_workspace(folder) as ws:
            assert ws.conn.execute("SELECT count(*) FROM events").fetchone()[0] == 2
    finally:
        _close(launcher, qtbot)
    # An up-to-date workspace opens without the dialog.
    launcher = Launcher(app)
    try:
        qtbot.addWidget(launcher.open(folder))
        assert len(shown) == 1
    finally:
        _close(launcher, qtbot)


def _close(launcher, qtbot) -> None:
    qtbot.wait(500)  # let the window's first reads land before its threads end
    if launcher.window is not None:
        launcher.window.close()
    launcher.close()


def test_the_app_compacts_stored_events_behind_a_progress_dialog(tmp_path, app, qtbot, monkeypatch):
    """A workspace holding plain events (an upgraded one) is packed before the window opens, with progress."""
    from segdesk.core import compaction, demo
    from segdesk.core.importing import packing
    from segdesk.ui.app import Launcher

    folder = tmp_path / "ws"
    with monkeypatch.context() as m:
        m.setattr(packing, "MIN_SAMPLES", 10**9)  # stored as the former release stored them: plain
        with open_workspace(folder) as ws:
            demo.generate(ws, contacts=150, devices=600, events=3000, seed=4)
            before = dict(ws.conn.execute(f"SELECT id, {packing.SQL} FROM events"))
    assert compaction.pending_at(folder)
    monkeypatch.setattr(compaction, "BATCH", 500)
    seen: list[tuple[str, int]] = []
    real_set_value = QProgressDialog.setValue

    def set_value(dialog, value):
        seen.append((dialog.labelText(), value))
        real_set_value(dialog, value)

    monkeypatch.setattr(QProgressDialog, "setValue", set_value)
    launcher = Launcher(app)
    try:
        qtbot.addWidget(launcher.open(folder))
        assert seen and all(label.startswith(("Compact", "Giving back")) for label, _ in seen)
        assert not compaction.pending_at(folder)
        with open_workspace(folder) as ws:
            assert ws.conn.execute("SELECT count(*) FROM events WHERE substr(raw, 1, 1) IN (x'7b', '{')"
                                   ).fetchone()[0] == 0
            assert dict(ws.conn.execute(f"SELECT id, {packing.SQL} FROM events")) == before
    finally:
        _close(launcher, qtbot)
