"""The Contacts page: a searchable, sortable table; opening a row shows that contact's journey."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QLineEdit, QStackedWidget,
                               QTableView, QVBoxLayout, QWidget)

from .contacts_model import EMAIL_ROLE, ContactsModel
from .context import AppContext
from .journey_view import JourneyView
from .plaintext import set_plain

WIDTHS = (270, 170, 190, 70, 120, 140)
KEEP_IN_VIEW = 5  # email to revenue: on a narrow window the text columns give up width so revenue shows
SEARCH_DELAY_MS = 250


class ContactsView(QWidget):
    """A stack of two pages: the table, and the journey of the contact opened from it."""

    contactOpened = Signal(str)

    def __init__(self, ctx: AppContext, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.model = ContactsModel(ctx, self)
        self._scroll_to_restore: int | None = None
        self.stack = QStackedWidget()
        self.stack.addWidget(self._table_page())
        self.journey = JourneyView(ctx)
        self.journey.backRequested.connect(self.show_list)
        self.journey.erased.connect(self._after_erase)
        self.stack.addWidget(self.journey)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.stack)

    def _table_page(self) -> QWidget:
        page = QWidget()
        title = QLabel("Contacts")
        title.setObjectName("pageTitle")
        self.count = QLabel("")
        self.count.setObjectName("muted")
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search email or name…")
        self.search.setClearButtonEnabled(True)
        self.search.setMinimumWidth(280)
        self._debounce = QTimer(self, singleShot=True, interval=SEARCH_DELAY_MS)
        self._debounce.timeout.connect(lambda: self.model.set_search(self.search.text()))
        self.search.textChanged.connect(lambda _t: self._debounce.start())
        self.search.returnPressed.connect(self._search_now)
        self.banner = QLabel()
        self.banner.setObjectName("banner")
        self.banner.hide()
        set_plain(self.count, self.banner)

        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)  # the first ordering, off the GUI thread
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        self.table.verticalHeader().setDefaultSectionSize(28)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.horizontalHeader().setHighlightSections(False)
        self._fit_columns()
        self.table.activated.connect(self._open_index)
        self.table.doubleClicked.connect(self._open_index)
        QShortcut(QKeySequence(Qt.Key.Key_Return), self.table, activated=self._open_current)
        self.model.countChanged.connect(self._show_count)
        self.model.loadingChanged.connect(self._loading)
        self.model.modelAboutToBeReset.connect(self._remember_scroll)
        self.model.modelReset.connect(self._restore_scroll)

        head = QHBoxLayout()
        head.addWidget(title)
        head.addWidget(self.count)
        head.addStretch(1)
        head.addWidget(self.search)
        lay = QVBoxLayout(page)
        lay.setContentsMargins(20, 16, 20, 16)
        lay.addLayout(head)
        lay.addWidget(self.banner)
        lay.addWidget(self.table, 1)
        return page

    # -- life ------------------------------------------------------------------
    def _search_now(self) -> None:
        self._debounce.stop()
        self.model.set_search(self.search.text())

    def _show_count(self, n: int) -> None:
        what = "match" if self.model.search else "contact"
        self._count_text = f"{n:,} {what}{'es' if what == 'match' and n != 1 else ('s' if n != 1 else '')}"
        self.count.setText(self._count_text)

    def _loading(self, busy: bool) -> None:
        if not self.model.loaded:
            self.count.setText("Loading…")
        else:  # a new search or order is on its way; the old rows stay until it arrives
            text = getattr(self, "_count_text", "")
            self.count.setText(f"{text} · updating…" if busy else text)

    def _remember_scroll(self) -> None:
        self._scroll_to_restore = self.table.verticalScrollBar().value() if self.model.loaded else None

    def _restore_scroll(self) -> None:
        if self._scroll_to_restore:
            value = self._scroll_to_restore
            QTimer.singleShot(0, lambda: self.table.verticalScrollBar().setValue(value))
        self._scroll_to_restore = None

    # -- opening a contact -----------------------------------------------------
    def _open_current(self) -> None:
        self._open_index(self.table.currentIndex())

    def _open_index(self, index: QModelIndex) -> None:
        if index.isValid():
            email = self.model.data(index, EMAIL_ROLE)
            if email:
                self.open_contact(email)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        self._fit_columns()

    def _fit_columns(self) -> None:
        """Email, name and first touch narrower (down to 60%) when the window cannot show them and revenue whole."""
        room = self.table.viewport().width() or sum(WIDTHS)
        text_cols, fixed = WIDTHS[:3], sum(WIDTHS[3:KEEP_IN_VIEW])
        scale = min(1.0, max(0.6, (room - fixed) / sum(text_cols)))
        for col, width in enumerate(WIDTHS):
            self.table.setColumnWidth(col, int(width * scale) if col < 3 else width)

    def open_contact(self, email: str) -> None:
        self.banner.hide()
        set_plain(self.count, self.banner)
        self.journey.show_contact(email)
        self.stack.setCurrentWidget(self.journey)
        self.contactOpened.emit(email)

    def show_list(self) -> None:
        self.stack.setCurrentIndex(0)
        self.table.setFocus()

    def _after_erase(self, message: str) -> None:
        self.banner.setText(message)
        self.banner.show()
        self.show_list()
