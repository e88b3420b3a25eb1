"""A trend cell (a report column of kind ``sparkline``) painted as a small line, not as text.

The model hands the numbers as its sort role (``ReportTableModel.sort_key`` returns the list for a
non-money column); the text (block characters) stays the display role, for copying and for the
tooltip's exact figures.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF
from PySide6.QtGui import QPainter, QPen, QPolygonF
from PySide6.QtWidgets import QStyle, QStyledItemDelegate, QStyleOptionViewItem

from ..core.reports.model import SPARK


class SparklineDelegate(QStyledItemDelegate):
    def __init__(self, sort_role: int, parent=None) -> None:
        super().__init__(parent)
        self.sort_role = sort_role

    def paint(self, painter: QPainter, option, index) -> None:
        values = index.data(self.sort_role)
        if not isinstance(values, (list, tuple)) or not values:
            super().paint(painter, option, index)
            return
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        opt.text = ""  # the cell's background and selection, then the line instead of the blocks
        style = opt.widget.style() if opt.widget else None
        if style:
            style.drawControl(QStyle.ControlElement.CE_ItemViewItem, opt, painter, opt.widget)
        rect = option.rect.adjusted(6, 5, -6, -5)
        lo, hi = min(values), max(values)
        span = (hi - lo) or 1
        step = rect.width() / max(1, len(values) - 1)
        points = [QPointF(rect.left() + i * step, rect.bottom() - ((v - lo) / span if hi != lo else 0.5) * rect.height())
                  for i, v in enumerate(values)]
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        colour = option.palette.highlightedText().color() if selected else option.palette.link().color()
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(colour, 1.6))
        painter.drawPolyline(QPolygonF(points))
        painter.setBrush(colour)
        painter.drawEllipse(points[-1], 2.2, 2.2)  # the current period
        painter.restore()


def attach(view, table, delegate: SparklineDelegate) -> list[int]:
    """Paint the report's trend columns with ``delegate``; other columns keep the view's own. Returns them."""
    columns = [i for i, c in enumerate(table.columns) if c.kind == SPARK] if table is not None else []
    for i in range(view.model().columnCount()):
        view.setItemDelegateForColumn(i, delegate if i in columns else view.itemDelegate())
    return columns
