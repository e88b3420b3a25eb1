"""Starting the desktop app: QApplication, theme, the workspace's context and its main window."""

from __future__ import annotations

import os
import signal
import sys
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent, QEventLoop, QObject, QTimer
from PySide6.QtWidgets import QApplication, QLabel, QMessageBox, QProgressDialog

from .. import __version__
from ..core import compaction
from ..core.paths import ENV_WORKSPACE, resolve_workspace
from ..core.progress import Cancelled, Progress
from ..core.store import UPGRADE_MESSAGE, WorkspaceError, open_workspace, upgrade_pending
from .context import APP, ORG, AppContext
from .main_window import MainWindow
from .plaintext import as_text, plain_label
from .settings import saved_theme, saved_workspace
from .style import app_icon, apply_theme


def create_app(argv: list[str] | None = None) -> QApplication:
    """The QApplication, made once, themed and named so QSettings lands under org "SegDesk"."""
    QCoreApplication.setOrganizationName(ORG)
    QCoreApplication.setApplicationName(APP)
    QCoreApplication.setApplicationVersion(__version__)
    app = QApplication.instance()
    if app is None:
        if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        app = QApplication(argv if argv is not None else ["segdesk"])
    app.setApplicationDisplayName("SegDesk")
    # Matches resources/com.segdesk.SegDesk.desktop, so Wayland docks show our icon and name.
    app.setDesktopFileName("com.segdesk.SegDesk")
    app.setWindowIcon(app_icon())
    apply_theme(app, saved_theme())
    return app


def choose_workspace(explicit: str | os.PathLike | None = None) -> Path:
    """--workspace, then SEGDESK_WORKSPACE, then the folder chosen in Settings, then the default."""
    if explicit or os.environ.get(ENV_WORKSPACE):
        return resolve_workspace(explicit)
    return resolve_workspace(saved_workspace())


class Launcher(QObject):
    """Owns the open window; reopens it when Settings picks another workspace folder."""

    def __init__(self, app: QApplication):
        super().__init__(app)
        self.app = app
        self.window: MainWindow | None = None
        self.ctx: AppContext | None = None

    def open(self, workspace: str | os.PathLike | None) -> MainWindow:
        if upgrade_pending(workspace):
            self._upgrade(workspace)
        if compaction.pending_at(workspace):
            self._compact(workspace)
        self.ctx = AppContext(workspace)
        self.window = MainWindow(self.ctx)
        self.window.workspaceChangeRequested.connect(self.switch)
        self.window.show()
        return self.window

    def _upgrade(self, workspace: str | os.PathLike | None) -> None:
        """Migrate on a worker thread behind a busy dialog, so a long upgrade does not look like a hang."""
        text = UPGRADE_MESSAGE.format(path=resolve_workspace(workspace))
        dialog = QProgressDialog("", "", 0, 0)
        label = plain_label(text[0].upper() + text[1:] + ".")
        label.setWordWrap(True)
        dialog.setLabel(label)
        dialog.setFixedWidth(480)
        dialog.setCancelButton(None)  # a migration runs in one transaction: nothing to cancel half-way
        dialog.setWindowTitle("SegDesk: upgrading the workspace")
        dialog.setMinimumDuration(0)
        dialog.show()
        self._run_behind(dialog, lambda: open_workspace(workspace, create=False).close())

    def _compact(self, workspace: str | os.PathLike | None) -> None:
        """Pack the stored events of an upgraded workspace (core/compaction.py) behind a progress dialog.

        "Later" stops it keeping what is done; the next start, or the next
        refresh after a sync, goes on from there.
        """
        dialog = QProgressDialog(compaction.STATUS, "Later", 0, 1000)
        dialog.setWindowTitle("SegDesk: compacting stored events")
        dialog.setFixedWidth(480)
        dialog.setMinimumDuration(0)
        progress = Progress()
        dialog.canceled.connect(progress.cancel)
        dialog.show()

        def job() -> None:
            with open_workspace(workspace, create=False) as ws:
                try:
                    compaction.compact_events(ws.conn, progress)
                except Cancelled:
                    pass

        def tick() -> None:  # the GUI thread reads what the worker last reported
            if progress.status:
                dialog.setLabelText(progress.status)
            dialog.setValue(int((progress.fraction or 0.0) * 1000) if progress.fraction is not None else 0)

        self._run_behind(dialog, job, tick)

    def _run_behind(self, dialog: QProgressDialog, job, tick=None) -> None:
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="segdesk-upgrade") as pool:
            done = pool.submit(job)
            while not done.done():
                self.app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
                if tick is not None:
                    tick()
                wait([done], timeout=0.05)
        dialog.close()
        dialog.deleteLater()  # by Qt, once its last events are handled
        done.result()  # a WorkspaceError reaches the caller, which shows it

    def switch(self, folder: str) -> None:
        old_window, old_ctx = self.window, self.ctx
        try:
            self.open(folder)
        except WorkspaceError as exc:
            QMessageBox.warning(old_window, "SegDesk", as_text(str(exc)))
            return
        old_window.close()
        old_window.deleteLater()
        old_ctx.close()

    def close(self) -> None:
        if self.ctx is not None:
            self.ctx.close()


def quit_on_signals(app: QApplication) -> None:
    """Ctrl+C or SIGTERM in the terminal closes the app cleanly (callers' cleanup runs)."""
    def quit_app(*_args):
        app.closeAllWindows()
        app.quit()

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, quit_app)
    # Python handles signals only between bytecodes; a light timer gives it the chance.
    wake = QTimer(app)
    wake.timeout.connect(lambda: None)
    wake.start(300)


def main(workspace: str | os.PathLike | None = None, argv: list[str] | None = None) -> int:
    app = create_app(argv)
    quit_on_signals(app)
    launcher = Launcher(app)
    try:
        launcher.open(choose_workspace(workspace))
    except WorkspaceError as exc:
        QMessageBox.critical(None, "SegDesk", as_text(str(exc)))
        return 1
    quit_after = os.environ.get("SEGDESK_QUIT_AFTER_MS")
    if quit_after:  # packaging smoke tests: show the window, then leave cleanly
        QTimer.singleShot(int(quit_after), app.quit)
    try:
        return app.exec()
    finally:
        launcher.close()
        # Widgets (pyqtgraph's plots above all) are deleted by Qt now, window first, rather than
        # in whatever order Python's interpreter teardown reaches them (a crash at exit).
        if launcher.window is not None:
            launcher.window.deleteLater()
            launcher.window = None
        app.sendPostedEvents(None, QEvent.Type.DeferredDelete)
