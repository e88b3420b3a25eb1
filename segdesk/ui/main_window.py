"""The main window: sidebar, pages, the Sync Now toolbar and the status bar.

Pages other than the first are built the first time they are shown, so the
window is interactive quickly however big the workspace is.
"""

from __future__ import annotations

import gc
import importlib
import sys

from PySide6.QtCore import QSettings, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QMainWindow, QSizePolicy,
                               QStackedWidget, QToolBar, QToolButton, QVBoxLayout, QWidget)

from ..core.store import is_empty
from .context import APP, ORG, AppContext, Changes
from .plaintext import as_text, plain_label
from .style import app_icon, icon
from .sync_banner import SyncProblemBanner
from .sync_status import SyncStatus

PAGES = (("dashboard", "Dashboard"), ("contacts", "Contacts"), ("reports", "Reports"),
         ("sources", "Sources"), ("relay", "Relay"))
SWITCH_INTERVAL_S = 0.001


def placeholder(title: str) -> QWidget:
    """Stands in for a view whose module is not installed."""
    w = QWidget()
    lay = QVBoxLayout(w)
    label = QLabel(f"{title} is coming in a later version of SegDesk.")
    label.setObjectName("muted")
    label.setAlignment(Qt.AlignmentFlag.AlignCenter)
    lay.addWidget(label)
    return w


def _optional_view(module: str, cls: str, ctx: AppContext, title: str) -> QWidget:
    try:
        mod = importlib.import_module(f"segdesk.ui.{module}")
    except ModuleNotFoundError as exc:
        if exc.name != f"segdesk.ui.{module}":
            raise
        return placeholder(title)
    return getattr(mod, cls)(ctx)


class DashboardPage(QStackedWidget):
    """The first-run guide while the workspace is empty, the dashboard after."""

    def __init__(self, ctx: AppContext, window: "MainWindow"):
        super().__init__()
        from .first_run import FirstRunView

        self.ctx = ctx
        self.first_run = FirstRunView(ctx)
        self.first_run.pageRequested.connect(window.show_page)
        self.first_run.syncRequested.connect(window.sync_now)
        self.addWidget(self.first_run)
        self.dashboard: QWidget | None = None
        self.empty: bool | None = None
        ctx.dataChanged.connect(lambda _c: self.check_empty())
        self.check_empty()

    def check_empty(self) -> None:
        job = self.ctx.read(lambda conn, _p: is_empty(conn), "is empty")
        job.finished.connect(self._set_empty)

    def _set_empty(self, empty: bool) -> None:
        self.empty = empty
        if empty:
            self.setCurrentWidget(self.first_run)
            return
        if self.dashboard is None:
            self.dashboard = _optional_view("dashboard_view", "DashboardView", self.ctx, "The dashboard")
            self.addWidget(self.dashboard)
        self.setCurrentWidget(self.dashboard)


class MainWindow(QMainWindow):
    workspaceChangeRequested = Signal(str)

    def __init__(self, ctx: AppContext, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle(f"SegDesk — {ctx.workspace_path.name}")
        self.setWindowIcon(app_icon())
        self.setMinimumSize(QSize(980, 620))
        self.pages: dict[str, QWidget] = {}
        self.stack = QStackedWidget()
        self.sidebar = QListWidget()
        self.sidebar.setObjectName("sidebar")
        self.sidebar.setFixedWidth(190)
        self.sidebar.setIconSize(QSize(18, 18))
        for name, title in PAGES:
            item = QListWidgetItem(icon(name), title)
            item.setData(Qt.ItemDataRole.UserRole, name)
            self.sidebar.addItem(item)
            holder = QWidget()  # replaced by the page when first shown
            holder.setObjectName(f"holder-{name}")
            self.stack.addWidget(holder)
        self.sidebar.currentRowChanged.connect(lambda row: self.show_page(PAGES[row][0]))
        self.sync_banner = SyncProblemBanner()
        right = QVBoxLayout()
        right.setContentsMargins(0, 0, 0, 0)
        right.setSpacing(0)
        right.addWidget(self.sync_banner)
        right.addWidget(self.stack, 1)
        central = QWidget()
        lay = QHBoxLayout(central)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.sidebar)
        lay.addLayout(right, 1)
        self.setCentralWidget(central)

        self.sync_status = SyncStatus(ctx)
        self.statusBar().addPermanentWidget(self.sync_status, 1)
        self.statusBar().setSizeGripEnabled(False)
        self.sync_status.started.connect(lambda: self._syncing(True))
        self.sync_status.finished.connect(lambda _r: self._syncing(False))
        self.sync_status.sourceFailed.connect(self.sync_banner.add_failure)
        self.sync_status.sourceSynced.connect(self.sync_banner.clear_source)
        self.sync_banner.retryRequested.connect(self.sync_now)
        self.sync_banner.editRequested.connect(self.edit_source)
        self._build_actions()
        self._restore_state()
        # Everything alive now (modules, Qt wrappers, this window) lives as long as the app: keep it out
        # of the cycle collector's full passes, which otherwise walk it all, GIL held, and stall the GUI.
        gc.freeze()
        # A worker thread running Python hands the GIL over only every switch interval (5 ms by
        # default), and the GUI thread often loses that race to other workers; asking sooner
        # keeps the event loop's waits short while a sync or a report runs.
        sys.setswitchinterval(SWITCH_INTERVAL_S)

    # -- actions, toolbar, menus -------------------------------------------------
    def _build_actions(self) -> None:
        self.sync_action = QAction(icon("sync", "#ffffff"), "Sync Now", self)
        self.sync_action.setShortcuts([QKeySequence("Ctrl+R"), QKeySequence("F5")])
        self.sync_action.setToolTip("Pull every source now (Ctrl+R, F5)")
        self.sync_action.triggered.connect(self.sync_now)
        self.cancel_action = QAction(icon("cancel"), "Cancel Sync", self)
        self.cancel_action.setShortcut(QKeySequence("Ctrl+."))
        self.cancel_action.triggered.connect(self.sync_status.cancel)
        self.cancel_action.setEnabled(False)
        self.cancel_action.setVisible(False)
        self.settings_action = QAction(icon("settings"), "Settings…", self)
        self.settings_action.setShortcut(QKeySequence.StandardKey.Preferences)
        self.settings_action.triggered.connect(self.open_settings)
        about = QAction(icon("info"), "About SegDesk", self)
        about.triggered.connect(self.open_about)
        quit_action = QAction("Quit", self)
        quit_action.setShortcut(QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)

        bar = QToolBar("Main")
        bar.setObjectName("mainToolbar")
        bar.setMovable(False)
        bar.setIconSize(QSize(18, 18))
        bar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
        bar.addAction(self.sync_action)
        self.sync_button: QToolButton = bar.widgetForAction(self.sync_action)
        self.sync_button.setObjectName("syncNow")
        bar.addAction(self.cancel_action)
        spacer = QWidget()
        spacer.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        bar.addWidget(spacer)
        self.workspace_label = plain_label(self.ctx.workspace_path.name)
        self.workspace_label.setToolTip(as_text(f"Workspace: {self.ctx.workspace_path}"))
        self.workspace_label.setObjectName("muted")
        bar.addWidget(self.workspace_label)
        bar.addAction(self.settings_action)
        self.addToolBar(bar)

        menu = self.menuBar()
        file_menu = menu.addMenu("&File")
        file_menu.addAction(self.sync_action)
        file_menu.addAction(self.cancel_action)
        file_menu.addSeparator()
        self.export_menu = file_menu.addMenu(icon("export"), "Export as PDF")
        self.export_menu.aboutToShow.connect(self._fill_export_menu)
        file_menu.addSeparator()
        file_menu.addAction(self.settings_action)
        file_menu.addAction(quit_action)
        view_menu = menu.addMenu("&View")
        for i, (name, title) in enumerate(PAGES, start=1):
            act = view_menu.addAction(icon(name), title)
            act.setShortcut(QKeySequence(f"Ctrl+{i}"))
            act.triggered.connect(lambda _c=False, n=name: self.show_page(n))
        help_menu = menu.addMenu("&Help")
        help_menu.addAction(about)
        self._build_navigation()

    def _build_navigation(self) -> None:
        """Ctrl+F searches contacts; Escape and Alt+Left go back (journey to list, then the pages visited)."""
        self.find_action = QAction("Find contact", self)
        self.find_action.setShortcut(QKeySequence.StandardKey.Find)
        self.find_action.triggered.connect(self.focus_search)
        self.back_action = QAction("Back", self)
        # Escape only where nothing else wants it: a dialog, a menu or a popup takes its own Escape first.
        self.back_action.setShortcuts([QKeySequence("Alt+Left"), QKeySequence(Qt.Key.Key_Escape)])
        self.back_action.triggered.connect(self.go_back)
        for act in (self.find_action, self.back_action):
            act.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
            self.addAction(act)
        self.history: list[str] = []

    def _fill_export_menu(self) -> None:
        self.export_menu.clear()
        for name, label in (("dashboard", "Dashboard…"), ("reports", "Current report…")):
            page = self.page(name)
            target = getattr(page, "dashboard", page) if name == "dashboard" else page
            make = getattr(target, "export_pdf_action", None)
            if make is None:
                act = self.export_menu.addAction(label)
                act.setEnabled(False)
            else:
                act = make(self.export_menu)
                act.setText(label)
                self.export_menu.addAction(act)

    # -- pages -----------------------------------------------------------------------
    def page(self, name: str) -> QWidget:
        """The page widget, built on first use."""
        if name not in self.pages:
            index = [n for n, _t in PAGES].index(name)
            widget = self._make_page(name)
            old = self.stack.widget(index)
            self.stack.insertWidget(index, widget)
            self.stack.removeWidget(old)
            old.deleteLater()
            self.pages[name] = widget
        return self.pages[name]

    def _make_page(self, name: str) -> QWidget:
        if name == "dashboard":
            return DashboardPage(self.ctx, self)
        if name == "contacts":
            from .contacts_view import ContactsView
            return ContactsView(self.ctx)
        if name == "reports":
            return _optional_view("reports_view", "ReportsView", self.ctx, "Reports")
        if name == "sources":
            from .sources_view import SourcesView
            return SourcesView(self.ctx)
        from .relay_view import RelayView
        return RelayView(self.ctx)

    def show_page(self, name: str, *, remember: bool = True) -> None:
        if remember and self.pages and self.stack.currentWidget() is not self.pages.get(name):
            current = self.current_page()
            if not self.history or self.history[-1] != current:
                self.history.append(current)
            del self.history[:-20]
        widget = self.page(name)
        self.stack.setCurrentWidget(widget)
        row = [n for n, _t in PAGES].index(name)
        if self.sidebar.currentRow() != row:
            self.sidebar.blockSignals(True)
            self.sidebar.setCurrentRow(row)
            self.sidebar.blockSignals(False)

    def current_page(self) -> str:
        return PAGES[self.sidebar.currentRow()][0]

    def focus_search(self) -> None:
        contacts = self.page("contacts")
        if self.current_page() != "contacts":
            self.show_page("contacts")
        if contacts.stack.currentWidget() is contacts.journey:
            contacts.show_list()
        contacts.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        contacts.search.selectAll()

    def go_back(self) -> None:
        contacts = self.pages.get("contacts")
        if self.current_page() == "contacts" and contacts is not None and contacts.stack.currentWidget() is contacts.journey:
            contacts.show_list()
            return
        while self.history:
            previous = self.history.pop()
            if previous != self.current_page():
                self.show_page(previous, remember=False)
                return

    # -- sync ------------------------------------------------------------------------
    def sync_now(self, names: list[str] | None = None) -> None:
        from .source_dialog import ensure_unlocked  # loads the secrets module: not at start-up

        names = list(names) if isinstance(names, (list, tuple)) and names else None  # triggered() passes a bool
        ensure_unlocked(self.ctx, self, lambda: self.sync_status.start(names))

    def edit_source(self, name: str) -> None:
        """The banner's Edit source: the Sources page with that source's form open."""
        self.show_page("sources")
        self.page("sources").ask_edit(name)

    def _syncing(self, running: bool) -> None:
        self.sync_action.setEnabled(not running)
        self.cancel_action.setEnabled(running)
        self.cancel_action.setVisible(running)

    # -- dialogs -----------------------------------------------------------------------
    def open_settings(self) -> None:
        from .settings import SettingsDialog

        dialog = SettingsDialog(self.ctx, self)
        dialog.workspaceChosen.connect(self.workspaceChangeRequested)
        dialog.open()
        self._settings_dialog = dialog

    def open_about(self) -> None:
        from .about import AboutDialog

        dialog = AboutDialog(self.ctx, self)
        dialog.open()
        self._about_dialog = dialog

    # -- state ---------------------------------------------------------------------------
    def _restore_state(self) -> None:
        s = QSettings(ORG, APP)
        geometry = s.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 800)
        state = s.value("window/state")
        if state is not None:
            self.restoreState(state)
        start = str(s.value("window/page", "dashboard"))
        self.show_page(start if start in dict(PAGES) else "dashboard")

    def save_state(self) -> None:
        s = QSettings(ORG, APP)
        s.setValue("window/geometry", self.saveGeometry())
        s.setValue("window/state", self.saveState())
        s.setValue("window/page", self.current_page())

    def closeEvent(self, event) -> None:
        self.save_state()
        if self.sync_status.running:
            self.sync_status.cancel()
        super().closeEvent(event)
        QTimer.singleShot(0, self.ctx.close)

    def refresh_all(self) -> None:
        self.ctx.notify(Changes.everything())
