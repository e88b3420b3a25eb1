"""One contact's journey: header, devices with the evidence for each link, and the timeline.

Merge, unmerge and erase each ask for confirmation, then call the operation
the CLI calls too (``core.operations``, ``sync.operations``): merges on the
writer, the erase on a network thread (its relay calls must not hold up the
writer). The result shows in a banner (never a modal error), and the
operation's own ``changes`` go out through ``ctx.dataChanged``.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QPainter
from PySide6.QtWidgets import (QComboBox, QHBoxLayout, QHeaderView, QInputDialog, QLabel, QMessageBox, QPushButton,
                               QSizePolicy, QSplitter,
                               QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget)

from ..core import operations
from ..core.reports import MODELS
from ..core.read.timeline import METHODS, Entry, JourneyPage, build_timeline, device_labels, load_journey
from .banner import Banner
from .context import AppContext, Changes
from .device_icons import KIND_TEXT, device_icon
from .plaintext import as_text, set_plain

BACKFILLED = "anonymous · backfilled"
KIND_ICON = {"session": "◷", "identify": "★", "order": "$", "refund": "↩", "subscription": "⟳", "tag": "#",
             "track": "•", "page": "·", "credit": "◆", "email_click": "✉"}
LEGEND = ("◷ visit (session)   ★ identified   $ purchase, with ◆ the visits that got its credit   ↩ refund   "
          "# tag.   Italic rows on a tinted band are backfilled: visits made before the device was identified, "
          "credited to the contact afterwards.")
BACKFILL_TINT = QColor(120, 140, 170, 40)  # a band that reads on light and dark themes alike
KIND_ROLE = Qt.ItemDataRole.UserRole + 1  # a row's device kind: phone, tablet, desktop


class ElidedLabel(QLabel):
    """A title that ends in "…" when the row has no room for it (a long email beside the buttons); the
    tooltip has it whole."""

    def setText(self, text: str) -> None:  # noqa: N802 (Qt's name)
        super().setText(text)
        self.setToolTip(as_text(text))

    def paintEvent(self, event) -> None:  # noqa: N802
        painter = QPainter(self)
        rect = self.contentsRect()
        shown = self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideRight, rect.width())
        painter.drawText(rect, int(self.alignment()), shown)


class JourneyView(QWidget):
    backRequested = Signal()
    loaded = Signal(str)      # email, after the timeline is on screen
    erased = Signal(str)

    def __init__(self, ctx: AppContext, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.email: str | None = None
        self.data: dict | None = None           # the journey (core/read/journey.py's shape)
        self.evidence: dict[str, list[str]] = {}  # device -> lines saying what tied it to the contact
        self.credits: dict = {}                   # (origin, order id) -> the touches with their share
        self.model = "linear"
        self._labels: dict = {}                   # device -> (kind, name), for the timeline's rows
        self._job = None
        self._build()
        ctx.dataChanged.connect(self._on_changes)
        ctx.settingsChanged.connect(lambda _s: self._render())

    def _build(self) -> None:
        top = QHBoxLayout()
        back = QPushButton("← Contacts")
        back.setObjectName("flat")
        back.clicked.connect(self.backRequested)
        self.title = ElidedLabel()
        self.title.setObjectName("pageTitle")
        self.model_box = QComboBox()
        self.model_box.setToolTip("Which visits get each purchase's credit: the attribution model")
        for m in MODELS:
            self.model_box.addItem(m.replace("_", " ").capitalize(), m)
        self.model_box.setCurrentIndex(MODELS.index("linear"))
        self.model_box.currentIndexChanged.connect(lambda _i: self.email and self.show_contact(self.email))
        credit_label = QLabel("Credit by")
        credit_label.setBuddy(self.model_box)
        self.merge_btn = QPushButton("Merge…")
        self.unmerge_btn = QPushButton("Unmerge…")
        self.erase_btn = QPushButton("Erase…")
        self.erase_btn.setObjectName("danger")
        self.merge_btn.clicked.connect(self.ask_merge)
        self.unmerge_btn.clicked.connect(self.ask_unmerge)
        self.erase_btn.clicked.connect(self.ask_erase)
        top.addWidget(back)
        top.addWidget(self.title, 1)
        top.addWidget(credit_label)
        top.addWidget(self.model_box)
        for b in (self.merge_btn, self.unmerge_btn, self.erase_btn):
            top.addWidget(b)
        self.summary = QLabel()
        self.summary.setObjectName("muted")
        self.summary.setWordWrap(True)
        set_plain(self.title, self.summary)
        self.banner = Banner()

        self.devices = QTreeWidget()
        self.devices.setHeaderLabels(["Device", "Browser and system", "First seen", "Last seen", "Linked by",
                                      "Linked at", "Evidence"])
        self.devices.setRootIsDecorated(False)
        self.devices.setAlternatingRowColors(True)
        self.devices.header().setSectionResizeMode(6, QHeaderView.ResizeMode.Stretch)
        for col in (2, 3, 5):  # dates are never cut: as wide as their text
            self.devices.header().setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        self.timeline = QTreeWidget()
        self.timeline.setHeaderLabels(["When", "What", "Device", "Identity", "Details"])
        self.timeline.setAlternatingRowColors(True)
        self.timeline.setUniformRowHeights(True)
        for col, width in ((1, 300), (2, 220), (3, 170)):
            self.timeline.setColumnWidth(col, width)
        self.timeline.header().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.legend = QLabel(LEGEND)
        self.legend.setObjectName("muted")
        self.legend.setWordWrap(True)
        for col, width in ((0, 110), (1, 250), (2, 120), (3, 120), (4, 100), (5, 120)):
            self.devices.setColumnWidth(col, width)
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self._boxed("Devices", self.devices))
        split.addWidget(self._boxed("Timeline", self.timeline, self.legend))
        split.setSizes([150, 500])
        split.setChildrenCollapsible(False)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(20, 16, 20, 16)
        lay.addLayout(top)
        lay.addWidget(self.summary)
        lay.addWidget(self.banner)
        lay.addWidget(split, 1)

    @staticmethod
    def _boxed(title: str, widget: QWidget, under: QWidget | None = None) -> QWidget:
        box = QWidget()
        v = QVBoxLayout(box)
        v.setContentsMargins(0, 8, 0, 0)
        label = QLabel(title)
        label.setObjectName("sectionTitle")
        v.addWidget(label)
        v.addWidget(widget)
        if under is not None:
            v.addWidget(under)
        return box

    def credit_model(self) -> str:
        return self.model_box.currentData()

    # -- loading -------------------------------------------------------------
    def show_contact(self, email: str) -> None:
        if email != self.email:
            self.banner.hide()
            self.timeline.clear()
            self.devices.clear()
            self.title.setText(email)
            self.summary.setText("Loading…")
        self.email = email
        if self._job is not None and not self._job.done:
            self._job.cancel()
        model = self.credit_model()
        job = self._job = self.ctx.read(lambda conn, _p: load_journey(conn, email, model), "journey")
        job.finished.connect(lambda data: self._arrived(email, data))
        job.failed.connect(lambda reason: self._failed(email, reason))

    def _arrived(self, email: str, page: JourneyPage) -> None:
        if email != self.email:
            return
        self.data, self.evidence = page.journey, page.evidence
        self.credits, self.model = page.credits, page.model
        self._render()
        self.loaded.emit(email)

    def _failed(self, email: str, reason: str) -> None:
        if email == self.email:
            self.summary.setText("")
            self.show_banner(reason, error=True)

    def _on_changes(self, changes: Changes) -> None:
        if self.email and self.isVisible() and (changes.identity or changes.events or changes.orders
                                                or self.email in changes.emails):
            self.show_contact(self.email)

    # -- drawing ---------------------------------------------------------------
    def _render(self) -> None:
        if not self.data:
            return
        c, ctx = self.data["contact"], self.ctx
        self.title.setText(c["email"])
        facts = [f"First seen {ctx.time(c['first_seen'], empty='—')}",
                 f"Revenue {ctx.money(c['revenue'])}", "Customer" if c["customer"] else "Not a customer yet",
                 f"{len(self.data['devices'])} device{'s' if len(self.data['devices']) != 1 else ''}"]
        if c.get("emails"):
            facts.append("Also: " + ", ".join(c["emails"][1:]))
        if c.get("contact_ids"):
            facts.append("CRM ids: " + ", ".join(c["contact_ids"]))
        self.summary.setText("   ·   ".join(facts))
        self.unmerge_btn.setEnabled(len(c.get("emails", [])) > 1)
        self._render_devices()
        self._render_timeline()

    def _render_devices(self) -> None:
        self.devices.clear()
        evidence = self.evidence
        labels = device_labels(self.data)
        for d in self.data["devices"]:
            aid = d["anonymous_id"]
            name = aid + ("  (shared)" if d["shared"] else "")
            lines = evidence.get(aid, [])
            item = QTreeWidgetItem([name, d.get("name") or "", self.ctx.time(d["first_seen"]),
                                    self.ctx.time(d["last_seen"]), METHODS.get(d["linked_by"], d["linked_by"]),
                                    self.ctx.time(d["linked_at"]), "; ".join(lines)])
            item.setToolTip(6, as_text("\n".join(lines)))
            item.setToolTip(1, as_text(d.get("user_agent") or "no user agent recorded"))
            kind = labels[aid][0]
            item.setIcon(1, device_icon(kind))
            item.setData(1, KIND_ROLE, kind)
            self.devices.addTopLevelItem(item)

    def _render_timeline(self) -> None:
        self.timeline.setUpdatesEnabled(False)
        self.timeline.clear()
        self._labels = device_labels(self.data)
        items = [self._item(e) for e in build_timeline(self.data, self.ctx.money, self.credits, self.model)]
        self.timeline.addTopLevelItems(items)
        for item in items:  # a purchase opens on the visits that got its credit
            if item.data(0, Qt.ItemDataRole.UserRole) == "order":
                item.setExpanded(True)
        self.timeline.setUpdatesEnabled(True)

    def _item(self, e: Entry) -> QTreeWidgetItem:
        note = BACKFILLED if e.backfilled else ("device identified" if e.linking else "")
        kind, name = self._labels.get(e.device, (None, e.device or ""))
        item = QTreeWidgetItem([self.ctx.time(e.time), f"{KIND_ICON.get(e.kind, '•')}  {e.what}", name,
                                note, e.detail])
        item.setData(0, Qt.ItemDataRole.UserRole, e.kind)
        item.setToolTip(4, as_text(e.detail))
        if e.device:
            item.setIcon(2, device_icon(kind))
            item.setData(2, KIND_ROLE, kind)
            item.setToolTip(2, as_text(f"{KIND_TEXT.get(kind, 'Device')} · {name} · id {e.device}"))
        if e.backfilled:  # legible, not faded: italic on a tinted band, explained by the legend
            item.setToolTip(3, "Visited before this device was identified; credited to the contact afterwards")
            for col in range(5):
                f = QFont(item.font(col))
                f.setItalic(True)
                item.setFont(col, f)
                item.setBackground(col, QBrush(BACKFILL_TINT))
        if e.linking or e.kind in ("order", "refund"):
            bold = QFont(item.font(1))
            bold.setBold(True)
            item.setFont(1, bold)
        for child in e.children:
            item.addChild(self._item(child))
        return item

    def show_banner(self, text: str, error: bool = False) -> None:
        self.banner.show_message(text, error)

    # -- merge, unmerge, erase -------------------------------------------------
    def ask_merge(self) -> None:
        if not self.email:
            return
        other, ok = QInputDialog.getText(self, "Merge contacts", f"Email of the contact to merge with {self.email}:")
        other = (other or "").strip()
        if not ok or not other:
            return
        answer = QMessageBox.question(
            self, "Merge contacts",
            as_text(f"Merge {other} into {self.email}?\n\nTheir devices, visits and orders will count as one "
                    "person. You can undo this with Unmerge."))
        if answer == QMessageBox.StandardButton.Yes:
            email = self.email
            self._write(lambda ws, _p: operations.merge(ws, email, other), f"Merged {other} with {email}.")

    def ask_unmerge(self) -> None:
        emails = (self.data or {}).get("contact", {}).get("emails") or []
        others = emails[1:]
        if not others:
            return
        if len(others) == 1:
            other = others[0]
        else:
            other, ok = QInputDialog.getItem(self, "Unmerge", "Split off which email?", others, 0, False)
            if not ok:
                return
        answer = QMessageBox.question(self, "Unmerge contacts",
                                      as_text(f"Undo the manual merge of {other}? It becomes a separate contact again."))
        if answer == QMessageBox.StandardButton.Yes:
            self._write(lambda ws, _p: operations.unmerge(ws, other), f"{other} is a separate contact again.")

    def ask_erase(self) -> None:
        if not self.email:
            return
        email = self.email
        answer = QMessageBox.question(
            self, "Erase contact",
            as_text(f"Erase {email} everywhere?\n\nEvery event, order, tag and device link of this person is "
                    "deleted from this workspace and from the relay's buffer. This cannot be undone."),
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
        if answer != QMessageBox.StandardButton.Yes:
            return
        ws = self.ctx.workspace  # its folder (relay secrets); the database only through `write`

        def erase(write, _p):
            from ..sync.operations import erase_everywhere  # httpx loads on the first erase, not at start

            return erase_everywhere(ws, email, write=write)

        job = self.ctx.fetch(erase, f"erase {email}")
        job.finished.connect(self._erased)
        job.failed.connect(lambda reason: self.show_banner(reason, error=True))

    def _erased(self, done) -> None:
        self.email, self.data = None, None
        self.ctx.notify(done.changes)
        self.erased.emit(done.summary())

    def _write(self, fn, success: str) -> None:
        for b in (self.merge_btn, self.unmerge_btn, self.erase_btn):
            b.setEnabled(False)
        job = self.ctx.write(fn, success)

        def done(result):
            self.merge_btn.setEnabled(True)
            self.erase_btn.setEnabled(True)
            self.show_banner(success)
            self.ctx.notify(result.changes)
            if self.email and not self.isVisible():
                self.show_contact(self.email)

        def failed(reason):
            self.merge_btn.setEnabled(True)
            self.erase_btn.setEnabled(True)
            self._render()
            self.show_banner(reason, error=True)

        job.finished.connect(done)
        job.failed.connect(failed)
