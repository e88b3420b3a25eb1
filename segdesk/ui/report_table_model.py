"""A report (core's ``ReportTable``, ``core/reports/table.py``) as a sortable Qt table.

Money cells sort by the amounts themselves, the report's main currency first
(never by their text, never by a sum across currencies).
"""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtWidgets import QHeaderView, QTableView

# The column kinds (what cells know how to show and sort) are the core report's own.
from ..core.reports.glossary import explain
from ..core.reports.model import MONEY, TEXT
from ..core.reports.table import ReportTable, format_cell
from .plaintext import as_text
from .column_chooser import ColumnChooser


class ReportTableModel(QAbstractTableModel):
    """Rows of one report. Sorting reorders an index list; the report itself stays as built."""

    SortRole = Qt.ItemDataRole.UserRole + 1

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.table: ReportTable | None = None
        self._order: list[int] = []
        self._currencies: list[str] = []
        self._sort: tuple[int, Qt.SortOrder] | None = None

    def set_report(self, report) -> None:
        self.beginResetModel()
        self.table = ReportTable.of(report) if report is not None else None
        self._order = list(range(len(self.table.rows))) if self.table else []
        self._currencies = self.table.currencies() if self.table else []
        self.endResetModel()
        if self._sort and self.table and self._sort[0] < len(self.table.columns):
            self.sort(*self._sort)

    # Qt's model API -------------------------------------------------------
    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._order)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() or not self.table else len(self.table.columns)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.ToolTipRole and self.table and orientation == Qt.Orientation.Horizontal:
            if section < len(self.table.columns):
                col = self.table.columns[section]
                # The glossary names the measure; a column's own help adds what this report divides by.
                return "\n".join(t for t in (explain(col.key), getattr(col, "help", "")) if t) or None
        if role == Qt.ItemDataRole.DisplayRole and self.table:
            if orientation == Qt.Orientation.Horizontal and section < len(self.table.columns):
                col = self.table.columns[section]
                if col.key.endswith("_converted") and " in " in col.label:
                    # "Cost per customer" over "in USD": converted columns fit a small screen beside the key ones.
                    head, _, currency = col.label.rpartition(" in ")
                    return f"{head}\nin {currency}"
                return col.label
            if orientation == Qt.Orientation.Vertical:
                return str(section + 1)
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not self.table:
            return None
        col = self.table.columns[index.column()]
        value = self.table.rows[self._order[index.row()]].get(col.key)
        if role == Qt.ItemDataRole.DisplayRole and isinstance(value, dict):
            # One currency a line: two side by side would push the key columns off a small screen.
            return "\n".join(format_cell(value, col.kind, self._currencies).split("  "))
        if role == Qt.ItemDataRole.DisplayRole:
            return format_cell(value, col.kind, self._currencies)
        if role == Qt.ItemDataRole.ToolTipRole:  # tooltips guess the format; cells are data
            return as_text(format_cell(value, col.kind, self._currencies))
        if role == Qt.ItemDataRole.TextAlignmentRole:
            numeric = col.kind != TEXT or isinstance(value, dict)
            align = Qt.AlignmentFlag.AlignRight if numeric else Qt.AlignmentFlag.AlignLeft
            return int(align | Qt.AlignmentFlag.AlignVCenter)
        if role == self.SortRole:
            return self.sort_key(value, col.kind)
        return None

    def sort_key(self, value, kind: str, per_currency: bool | None = None):
        if per_currency is None:
            per_currency = kind == MONEY or isinstance(value, dict)
        if per_currency:
            # The largest currency decides first; amounts compare as numbers.
            return tuple((value or {}).get(c, 0) or 0 for c in self._currencies)
        if value is None:
            return (0, "") if kind == TEXT else float("-inf")
        return (1, str(value).lower()) if kind == TEXT else value

    def sort(self, column: int, order=Qt.SortOrder.AscendingOrder) -> None:
        if not self.table or column < 0 or column >= len(self.table.columns):
            return
        self._sort = (column, order)
        col = self.table.columns[column]
        rows = self.table.rows
        per_currency = col.kind == MONEY or any(isinstance(r.get(col.key), dict) for r in rows)
        self.layoutAboutToBeChanged.emit()
        self._order.sort(key=lambda i: self.sort_key(rows[i].get(col.key), col.kind, per_currency),
                         reverse=order == Qt.SortOrder.DescendingOrder)
        self.layoutChanged.emit()

    def clear_sort(self) -> None:
        self._sort = None

    # What the views ask ---------------------------------------------------
    def source_row(self, view_row: int) -> int:
        return self._order[view_row]

    def row_key(self, view_row: int):
        return self.table.row_key(self._order[view_row]) if self.table else None

    def sorted_table(self) -> ReportTable | None:
        """The report with rows in the order the user sees (for CSV and PDF)."""
        if not self.table:
            return None
        t = self.table
        return ReportTable(t.name, t.title, t.parameters, t.columns, [t.rows[i] for i in self._order],
                           t.series, t.extra, t.notes)


# Table views and background answers, shared by the Reports and Dashboard pages ---

def make_table_view(model: ReportTableModel) -> QTableView:
    view = QTableView()
    view.setModel(model)
    # No sort indicator at first: rows keep the report's own order until the user clicks a header.
    view.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.DescendingOrder)
    view.setSortingEnabled(True)
    view.setAlternatingRowColors(True)
    view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
    view.setEditTriggers(QTableView.EditTrigger.NoEditTriggers)
    view.verticalHeader().setVisible(False)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    view.column_chooser = ColumnChooser(view)
    return view


def when_done(job, on_done, on_fail) -> None:
    """Call ``on_done(result)`` or ``on_fail(reason)`` once, in the GUI thread.

    A fast query can end before the caller connects to its Job's signals (the
    pool starts it on submit), so a job already done is answered at once; the
    guard keeps a signal queued meanwhile from answering twice.
    """
    answered = []

    def once(fn, value):
        if not answered:
            answered.append(True)
            fn(value)

    job.finished.connect(lambda result: once(on_done, result))
    job.failed.connect(lambda reason: once(on_fail, reason))
    if job.done and not job.is_cancelled():
        if job.error is not None:
            once(on_fail, job.error)
        else:
            once(on_done, job.result)


def fit_columns(view: QTableView) -> None:
    """Columns as wide as their contents, rows as tall as their currencies, then the chooser's fit."""
    model = view.model()
    lines = max(1, len(getattr(model, "_currencies", [])))
    view.verticalHeader().setDefaultSectionSize(view.fontMetrics().lineSpacing() * lines + 12)
    view.resizeColumnsToContents()
    chooser = getattr(view, "column_chooser", None)
    if chooser is not None:
        chooser.fit()
