"""The Sources page: configured connections with their sync state; add, test and remove them.

Keys go to the OS keychain through ``sync.sources.add_source`` (never into the
workspace or a settings file). Every change runs on the writer thread.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout,
                               QHBoxLayout, QHeaderView, QLabel, QLineEdit, QMessageBox, QPushButton, QTreeWidget,
                               QTreeWidgetItem, QVBoxLayout, QWidget)

from ..sync import sources as sync_sources
from ..sync.state import SourceState, source_states
from .banner import Banner
from .context import AppContext, Changes
from .plaintext import as_text


class AddSourceDialog(QDialog):
    """Kind, name, address and secret of a new connection."""

    def __init__(self, parent=None, kind: str = "stripe"):
        super().__init__(parent)
        self.setWindowTitle("Add a source")
        self.kind = QComboBox()
        for k, (vendor, _needs, _what) in sync_sources.KINDS.items():
            self.kind.addItem(vendor, k)
        self.name = QLineEdit()
        self.name.setPlaceholderText("default: the kind, e.g. stripe")
        self.base_url = QLineEdit()
        self.client_id = QLineEdit()
        self.path = QLineEdit()
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        path_row = QHBoxLayout()
        path_row.addWidget(self.path, 1)
        path_row.addWidget(browse)
        self.csv_kind = QComboBox()
        self.csv_kind.addItems(sync_sources.CSV_KINDS)
        self.secret = QLineEdit()
        self.secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.note = QLabel()
        self.note.setObjectName("muted")
        self.note.setWordWrap(True)
        self.form = QFormLayout()
        self.form.addRow("Kind", self.kind)
        self.form.addRow("Name", self.name)
        self.form.addRow("Address", self.base_url)
        self.form.addRow("Client id", self.client_id)
        self.form.addRow("File", path_row)
        self.form.addRow("CSV holds", self.csv_kind)
        self.form.addRow("Secret", self.secret)
        self._path_row = path_row
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Add")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(self.form)
        lay.addWidget(self.note)
        lay.addWidget(buttons)
        self.kind.currentIndexChanged.connect(self._kind_changed)
        self.kind.setCurrentIndex(max(0, self.kind.findData(kind)))
        self._kind_changed()
        self.resize(480, self.sizeHint().height())

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "CSV file", "", "CSV files (*.csv);;All files (*)")
        if path:
            self.path.setText(path)

    def _kind_changed(self) -> None:
        kind = self.kind.currentData()
        vendor, needs_secret, what = sync_sources.KINDS[kind]
        self.form.setRowVisible(self.base_url, kind in ("relay", "activecampaign", "stripe", "paypal", "hubspot",
                                                        "kit", "keap"))
        self.form.setRowVisible(self.client_id, kind == "paypal")
        self.form.setRowVisible(self._path_row, kind == "csv")
        self.form.setRowVisible(self.csv_kind, kind == "csv")
        self.form.setRowVisible(self.secret, needs_secret)
        if needs_secret:
            self.form.labelForField(self.secret).setText(what[:1].upper() + what[1:])
        placeholders = {"relay": "https://t.example.com", "activecampaign": "https://ACCOUNT.api-us1.com"}
        self.base_url.setPlaceholderText(placeholders.get(kind, "optional: another API host (regional, test)"))
        notes = {"relay": "The relay's address and the pull token that 'segdesk relay init' printed.",
                 "csv": "The file is read again on every sync; rows already imported are skipped."}
        self.note.setText(notes.get(kind, f"The {what} is kept in your system keychain." if needs_secret else ""))

    def values(self) -> tuple[str, str | None, dict, str | None]:
        kind = self.kind.currentData()
        config: dict = {}
        if self.base_url.text().strip():
            config["base_url"] = self.base_url.text().strip().rstrip("/")
        if kind == "paypal" and self.client_id.text().strip():
            config["client_id"] = self.client_id.text().strip()
        if kind == "csv":
            config["path"] = self.path.text().strip()
            config["csv_kind"] = self.csv_kind.currentText()
        secret = self.secret.text().strip() or None if sync_sources.KINDS[kind][1] else None
        return kind, self.name.text().strip() or None, config, secret


class SourcesView(QWidget):
    changed = Signal()

    def __init__(self, ctx: AppContext, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.rows: list[dict] = []  # SourceState as dicts, as shown
        title = QLabel("Sources")
        title.setObjectName("pageTitle")
        sub = QLabel("Where SegDesk pulls from: the relay (your site's visits), payment processors and CRMs.")
        sub.setObjectName("muted")
        self.add_btn = QPushButton("Add source…")
        self.add_btn.setObjectName("primary")
        self.test_btn = QPushButton("Test")
        self.remove_btn = QPushButton("Remove…")
        self.remove_btn.setObjectName("danger")
        self.add_btn.clicked.connect(self.ask_add)
        self.test_btn.clicked.connect(self.test_selected)
        self.remove_btn.clicked.connect(self.ask_remove)
        self.banner = Banner()
        self.tree = QTreeWidget()
        self.tree.setHeaderLabels(["Name", "Kind", "Address", "Last success", "Last error"])
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.header().setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        for col, width in ((0, 140), (1, 120), (2, 260), (3, 150)):
            self.tree.setColumnWidth(col, width)
        self.tree.itemSelectionChanged.connect(self._selection)
        head = QHBoxLayout()
        head.addWidget(title)
        head.addStretch(1)
        for b in (self.test_btn, self.remove_btn, self.add_btn):
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
        job = self.ctx.read(lambda conn, _p: source_states(conn), "sources")
        job.finished.connect(self._show)

    def _show(self, states: list[SourceState]) -> None:
        selected = self.selected_name()
        self.rows = rows = [s._asdict() for s in states]
        self.tree.clear()
        for r in rows:
            item = QTreeWidgetItem([r["name"], r["vendor"], r["address"], self.ctx.time(r["last_success"], empty="—"),
                                    r["last_error"] or ""])
            item.setData(0, Qt.ItemDataRole.UserRole, r["name"])
            item.setToolTip(4, as_text(r["last_error"] or ""))
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
        self.test_btn.setEnabled(has)
        self.remove_btn.setEnabled(has)

    def show_banner(self, text: str, error: bool = False) -> None:
        self.banner.show_message(text, error)

    # -- add, test, remove -----------------------------------------------------------
    def ask_add(self, kind: str = "stripe") -> AddSourceDialog:
        dialog = AddSourceDialog(self, kind if isinstance(kind, str) else "stripe")
        dialog.accepted.connect(lambda: self.add(*dialog.values()))
        dialog.open()
        return dialog

    def add(self, kind: str, name: str | None, config: dict, secret: str | None) -> None:
        job = self.ctx.write(lambda ws, _p: sync_sources.add_source(ws, kind, name, config, secret), "add source")
        job.finished.connect(lambda s: self._after(f"Added {s.vendor} as “{s.name}”. Press Sync Now to pull it."))
        job.failed.connect(lambda reason: self.show_banner(reason, error=True))

    def test_selected(self) -> None:
        name = self.selected_name()
        if not name:
            return
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
