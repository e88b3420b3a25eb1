"""The Sources page: every origin of data with what it holds; add, edit, test and remove connections.

Keys go to the OS keychain through ``sync.sources.add_source`` (never into the
workspace or a settings file), or, where no keychain is usable, to the
workspace's encrypted file (source_dialog.py). Besides the configured
connections the page lists data no connection explains (a CSV imported from
the command line, the demo's shop), so every number in a report has a visible
origin. Every change runs on the writer thread.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QMessageBox, QPushButton,
                               QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget)

from ..sync import secrets
from ..sync import sources as sync_sources
from ..sync.state import SourceState, origin_states
from .banner import Banner
from .context import AppContext, Changes
from .plaintext import as_text
from .source_dialog import SourceDialog, ensure_unlocked

COLUMNS = ["Name", "Kind", "Address", "Last sync", "Holds", "Last error"]


def holds(counts: dict[str, int] | None) -> str:
    """'1,234 events, 56 orders' (what an origin brought), '—' for nothing yet."""
    return ", ".join(f"{n:,} {what}" for what, n in (counts or {}).items() if n) or "—"


class SourcesView(QWidget):
    changed = Signal()

    def __init__(self, ctx: AppContext, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.rows: list[dict] = []  # SourceState as dicts, as shown
        title = QLabel("Sources")
        title.setObjectName("pageTitle")
        sub = QLabel("Where SegDesk's data comes from: the relay (your site's visits), payment processors, CRMs "
                     "and files imported once.")
        sub.setObjectName("muted")
        self.add_btn = QPushButton("Add source…")
        self.add_btn.setObjectName("primary")
        self.test_btn = QPushButton("Test")
        self.edit_btn = QPushButton("Edit…")
        self.remove_btn = QPushButton("Remove…")
        self.remove_btn.setObjectName("danger")
        self.add_btn.clicked.connect(self.ask_add)
        self.test_btn.clicked.connect(self.test_selected)
        self.edit_btn.clicked.connect(lambda: self.ask_edit(self.selected_name()))
        self.remove_btn.clicked.connect(self.ask_remove)
        self.banner = Banner()
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(COLUMNS)
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.header().setSectionResizeMode(5, QHeaderView.ResizeMode.Stretch)
        for col, width in ((0, 160), (1, 90), (2, 170), (3, 110), (4, 150)):
            self.tree.setColumnWidth(col, width)
        self.tree.itemSelectionChanged.connect(self._selection)
        head = QHBoxLayout()
        head.addWidget(title)
        head.addStretch(1)
        for b in (self.test_btn, self.edit_btn, self.remove_btn, self.add_btn):
            head.addWidget(b)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(20, 16, 20, 16)
        lay.addLayout(head)
        lay.addWidget(sub)
        lay.addWidget(self.banner)
        lay.addWidget(self.tree, 1)
        ctx.dataChanged.connect(lambda c: c.sources and self.refresh())
        self._selection()
        self.refresh()

    def refresh(self) -> None:
        job = self.ctx.read(lambda conn, _p: origin_states(conn), "sources")
        job.finished.connect(self._show)

    def _show(self, states: list[SourceState]) -> None:
        selected = self.selected_name()
        self.rows = rows = [s._asdict() for s in states]
        self.tree.clear()
        for r in rows:
            last = (self.ctx.time(r["last_success"], empty="never") if r["configured"]
                    else "imported")
            item = QTreeWidgetItem([r["name"], r["vendor"], r["address"], last, holds(r["counts"]),
                                    r["last_error"] or ""])
            if r["configured"]:
                item.setData(0, Qt.ItemDataRole.UserRole, r["name"])
            else:
                item.setToolTip(0, as_text(f"Data with origin “{r['origin']}”, brought by an import rather than a sync"))
                item.setToolTip(3, f"Newest row: {r['latest'] or '—'}")
            item.setToolTip(5, as_text(r["last_error"] or ""))
            self.tree.addTopLevelItem(item)
            if r["name"] == selected:
                item.setSelected(True)
        if not rows:
            empty = QTreeWidgetItem(["No sources yet — add the relay, a payment processor or a CRM."])
            empty.setFlags(Qt.ItemFlag.NoItemFlags)
            self.tree.addTopLevelItem(empty)
            self.tree.setFirstColumnSpanned(0, self.tree.rootIndex(), True)
        self._selection()

    def selected_name(self) -> str | None:
        items = self.tree.selectedItems()
        return items[0].data(0, Qt.ItemDataRole.UserRole) if items else None

    def _selection(self) -> None:
        has = self.selected_name() is not None
        for b in (self.test_btn, self.edit_btn, self.remove_btn):
            b.setEnabled(has)

    def show_banner(self, text: str, error: bool = False) -> None:
        self.banner.show_message(text, error)

    # -- add, test, remove -----------------------------------------------------------
    def ask_add(self, kind: str = "stripe") -> SourceDialog:
        dialog = SourceDialog(self.ctx.workspace_path, self, kind if isinstance(kind, str) else "stripe",
                              fetch=self.ctx.fetch)
        dialog.submitted.connect(lambda: self.save(dialog))
        dialog.open()
        self._dialog = dialog
        return dialog

    def ask_edit(self, name: str | None) -> SourceDialog | None:
        """The same form, filled in with the source's settings (its key stays unless a new one is typed)."""
        source = next((s for s in self._sources() if s.name == name), None)
        if source is None:
            return None
        dialog = SourceDialog(self.ctx.workspace_path, self, source=source, fetch=self.ctx.fetch)
        dialog.submitted.connect(lambda: self.save(dialog))
        dialog.open()
        self._dialog = dialog
        return dialog

    def _sources(self) -> list[sync_sources.Source]:
        conn = self.ctx.reader()
        try:
            return sync_sources.list_sources(conn)
        finally:
            conn.close()

    def save(self, dialog: SourceDialog) -> None:
        """Add or update from the dialog; it closes on success and shows the refusal otherwise."""
        kind, name, config, secret = dialog.values()
        store, passphrase, editing = dialog.store_choice(), dialog.passphrase_given(), dialog.source is not None

        def run(ws, _p):
            if passphrase is not None:
                secrets.unlock(ws.path, passphrase)  # SecretError: the job's line (workers.failure_reason)
            if editing:
                return sync_sources.update_source(ws, name, config, secret, store)
            return sync_sources.add_source(ws, kind, name, config, secret, store)

        job = self.ctx.write(run, "save source")
        job.finished.connect(lambda s: (dialog.done(SourceDialog.DialogCode.Accepted), self._after(
            f"Saved “{s.name}”." if editing else f"Added {s.vendor} as “{s.name}”. Press Sync Now to pull it.")))
        job.failed.connect(lambda reason: dialog.show_error(f"{reason[:1].upper()}{reason[1:]}"))

    def test_selected(self) -> None:
        name = self.selected_name()
        if name:
            ensure_unlocked(self.ctx, self, lambda: self._test(name))

    def _test(self, name: str) -> None:
        self.test_btn.setEnabled(False)
        self.show_banner(f"Testing {name}…")
        job = self.ctx.sync([name])
        job.finished.connect(lambda report: self._tested(name, report))
        job.failed.connect(lambda reason: self.show_banner(f"{name}: {reason}", error=True))

    def _tested(self, name: str, report) -> None:
        self.test_btn.setEnabled(True)
        result = next((s for s in report.sources if s.name == name), None)
        if result is None or not result.ok:
            self.show_banner(f"{name}: {result.reason if result else 'did not run'}", error=True)
        else:
            counts = ", ".join(f"{v:,} {k}" for k, v in result.counts.items() if v) or "nothing new"
            self.show_banner(f"{name} works: {counts}.")
        self.ctx.notify(report.changes)

    def ask_remove(self) -> None:
        name = self.selected_name()
        if not name:
            return
        answer = QMessageBox.question(self, "Remove source",
                                      f"Remove the source “{name}” and its stored key?\n\n"
                                      "The data it already brought stays in the workspace.")
        if answer == QMessageBox.StandardButton.Yes:
            job = self.ctx.write(lambda ws, _p: sync_sources.remove_source(ws, name), "remove source")
            job.finished.connect(lambda _s: self._after(f"Removed “{name}”."))
            job.failed.connect(lambda reason: self.show_banner(reason, error=True))

    def _after(self, message: str) -> None:
        self.show_banner(message)
        self.ctx.notify(Changes(sources=True))
        self.changed.emit()
