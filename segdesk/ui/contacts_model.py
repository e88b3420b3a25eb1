"""The contacts table model: ids in order, rows fetched lazily a page at a time.

Holds only the ordered contact ids (Anki's browser table model does the same).
A row on screen that is not cached asks a reader thread for its page; until it
arrives the row shows empty cells, then one ``dataChanged`` repaints it. A
bounded cache keeps memory flat while scrolling through 100,000+ contacts.
"""

from __future__ import annotations

from collections import OrderedDict

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt, Signal

from ..core.read.contacts import COLUMNS, ordered_ids, rows_for
from .context import AppContext, Changes
from .plaintext import as_text

HEADERS = {"email": "Email", "name": "Name", "first_touch": "First touch", "devices": "Devices",
           "revenue": "Revenue", "last_seen": "Last seen", "tags": "Tags"}
EMAIL_ROLE = Qt.ItemDataRole.UserRole + 1
PAGE = 100
MAX_PAGES = 60  # 6,000 rows cached at most


class ContactsModel(QAbstractTableModel):
    """Contacts matching a search, in a sort order; rows arrive lazily from reader threads."""

    loadingChanged = Signal(bool)
    countChanged = Signal(int)

    def __init__(self, ctx: AppContext, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self._ids: list[int] = []
        self._pages: OrderedDict[int, dict[int, dict]] = OrderedDict()
        self._pending: set[int] = set()
        self._generation = 0
        self._search = ""
        self._sort = ("email", False)
        self._order_job = None
        self.fetched_rows = 0  # how many rows were ever read (tests and the benchmark check this)
        self.loaded = False
        ctx.dataChanged.connect(self._on_data_changed)
        ctx.settingsChanged.connect(lambda _s: self._repaint_all())

    # -- what the view asks ---------------------------------------------------
    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._ids)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[COLUMNS[section]]
        return None

    def data(self, index: QModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        col = COLUMNS[index.column()]
        if role == Qt.ItemDataRole.TextAlignmentRole:
            if col in ("devices", "revenue"):
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            return int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        if role not in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ToolTipRole, EMAIL_ROLE):
            return None
        row = self.row(index.row())
        if row is None:
            return "" if role == Qt.ItemDataRole.DisplayRole else None
        if role == EMAIL_ROLE:
            return row["email"]
        if role == Qt.ItemDataRole.ToolTipRole:
            return as_text(self._display(col, row))
        return self._display(col, row)

    def _display(self, col: str, row: dict) -> str:
        value = row[col]
        if col == "revenue":
            return self.ctx.money(value, empty="")
        if col == "last_seen":
            return self.ctx.time(value)
        if col == "tags":
            return ", ".join(value)
        return str(value)

    def sort(self, column: int, order=Qt.SortOrder.AscendingOrder) -> None:
        key = (COLUMNS[column], order == Qt.SortOrder.DescendingOrder)
        if key != self._sort or not self.loaded:
            self._sort = key
            self.reload()

    # -- rows ------------------------------------------------------------------
    def row(self, r: int) -> dict | None:
        """The cached row ``r`` or None (and its page is requested)."""
        if not 0 <= r < len(self._ids):
            return None
        page_no = r // PAGE
        page = self._pages.get(page_no)
        if page is None:
            self._request(page_no)
            return None
        self._pages.move_to_end(page_no)
        return page.get(self._ids[r])

    def email_at(self, r: int) -> str | None:
        row = self.row(r)
        return row["email"] if row else None

    def row_of_email(self, email: str) -> int:
        """Row of a cached contact with this email, or -1."""
        for page_no, page in self._pages.items():
            for cid, data in page.items():
                if data["email"] == email:
                    start = page_no * PAGE
                    return start + self._ids[start:start + PAGE].index(cid)
        return -1

    def _request(self, page_no: int) -> None:
        if page_no in self._pending:
            return
        self._pending.add(page_no)
        generation = self._generation
        ids = self._ids[page_no * PAGE:(page_no + 1) * PAGE]
        job = self.ctx.read(lambda conn, _p: rows_for(conn, ids), "contacts page")
        job.finished.connect(lambda rows: self._page_arrived(generation, page_no, rows))
        job.failed.connect(lambda _reason: self._pending.discard(page_no))

    def _page_arrived(self, generation: int, page_no: int, rows: dict[int, dict]) -> None:
        if generation != self._generation:
            return
        self._pending.discard(page_no)
        self._pages[page_no] = rows
        self.fetched_rows += len(rows)
        while len(self._pages) > MAX_PAGES:
            self._pages.popitem(last=False)
        first = page_no * PAGE
        last = min(len(self._ids), first + PAGE) - 1
        if last >= first:
            self.dataChanged.emit(self.index(first, 0), self.index(last, len(COLUMNS) - 1))

    # -- search, order, refresh ---------------------------------------------
    @property
    def search(self) -> str:
        return self._search

    def set_search(self, text: str) -> None:
        if text.strip() != self._search:
            self._search = text.strip()
            self.reload()

    def reload(self, keep_rows: bool = False) -> None:
        """Recompute the ordered ids off the GUI thread; ``keep_rows`` keeps cached rows until then."""
        self._generation += 1
        generation = self._generation
        if self._order_job is not None and not self._order_job.done:
            self._order_job.cancel()
        search, (sort, desc) = self._search, self._sort
        self.loadingChanged.emit(True)
        job = self._order_job = self.ctx.read(lambda conn, _p: ordered_ids(conn, search, sort, desc), "order contacts")
        job.finished.connect(lambda ids: self._ids_arrived(generation, ids, keep_rows))
        job.failed.connect(lambda _r: self.loadingChanged.emit(False))

    def _ids_arrived(self, generation: int, ids: list[int], keep_rows: bool) -> None:
        if generation != self._generation:
            return
        self.loaded = True
        self.loadingChanged.emit(False)
        if keep_rows and ids == self._ids:
            # Same contacts in the same order: refresh the cached pages in place, no flicker.
            self._pending.clear()
            for page_no in list(self._pages):
                self._request(page_no)
            return
        self.beginResetModel()
        self._ids = ids
        self._pages = OrderedDict()
        self._pending.clear()
        self.endResetModel()
        self.countChanged.emit(len(ids))

    def _on_data_changed(self, changes: Changes) -> None:
        if changes.contacts or changes.orders or changes.identity or changes.events:
            self.reload(keep_rows=True)

    def _repaint_all(self) -> None:
        if self._ids:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._ids) - 1, len(COLUMNS) - 1))


