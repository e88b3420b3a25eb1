"""The campaign table's Qt model: the report table model plus the tooltips that explain it.

A "(not set)" row says what it holds and how to tag links so it shrinks; a
converted figure shows the original amounts it came from (the originals stay
one hover, and on the Reports page one tick, away). Everything shown comes
from core (``core/reports/campaign_view.py``).
"""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, Qt

from ..core.reports.campaigns import NOT_SET_NOTE
from ..core.reports.model import NOT_SET
from ..core.reports.table import format_amounts
from .plaintext import as_text
from .report_table_model import ReportTableModel


class CampaignTableModel(ReportTableModel):
    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        text = super().headerData(section, orientation, role)
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal and isinstance(text, str):
            # "Cost per customer (USD)" on two lines: the key columns then fit 1024 px side by side.
            return text.replace(" (", "\n(")
        return text

    def data(self, index: QModelIndex | QPersistentModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.ToolTipRole:
            tip = self.plain_tooltip(index)
            if tip:
                return as_text(tip)
        text = super().data(index, role)
        if role == Qt.ItemDataRole.DisplayRole and self._unconverted(index):
            # Leaves out amounts without a rate (the tooltip and the notes say which); never a silent blank.
            return f"{text} *" if text else ("no rate *" if self._original(index) else text)
        return text

    def _original(self, index):
        row = self.table.rows[self.source_row(index.row())]
        return row.get(f"{self.table.columns[index.column()].key}_original")

    def _unconverted(self, index) -> list[str]:
        if not index.isValid() or not self.table or self.table.name != "campaigns":
            return []
        row = self.table.rows[self.source_row(index.row())]
        key = self.table.columns[index.column()].key
        return row.get("unconverted") or [] if f"{key}_original" in row else []

    def plain_tooltip(self, index) -> str | None:
        """The explanation a cell's tooltip shows (as plain text), when it has one beyond its own text."""
        if not index.isValid() or not self.table or self.table.name != "campaigns":
            return None
        tip = self.explain(self.table.rows[self.source_row(index.row())], self.table.columns[index.column()].key)
        missing = self._unconverted(index)
        if tip and missing:
            tip += f"\n* leaves out the {', '.join(c.upper() for c in missing)} amounts of days without a rate"
        return tip

    @staticmethod
    def explain(row: dict, key: str) -> str | None:
        """The tooltip of one cell: (not set) explained, or a converted figure's originals."""
        if key == "key" and NOT_SET in str(row.get("key", "")):
            return NOT_SET_NOTE
        original = row.get(f"{key}_original")
        if original:
            return f"original currencies: {format_amounts(original)}"
        return None
