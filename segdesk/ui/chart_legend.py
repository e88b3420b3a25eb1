"""A chart's legend beside its plot that always fits (issue 16 item 3: nine sources at 1280x800 were cut).

As many columns as the plot's height needs and the chart's width allows; what
still does not fit ends in "+N more" (reports list their largest groups first,
and hovering the chart names every series). Long names are cut to
``LEGEND_CHARS``.

pyqtgraph's ``LegendItem.updateSize`` sums the heights of rows its layout has
already stretched, so each call grew the legend until its last entries fell
off the chart; here the size is always the layout's own hint.
"""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtCore import Qt

from .plaintext import html_text

LEGEND_CHARS = 18
LEGEND_SHARE = 0.45  # at most this share of the chart's width goes to the legend


class SideLegend(pg.LegendItem):
    """A legend anchored by its right edge to the top right of ``plot`` (in the room its right axis keeps)."""

    def __init__(self, plot, offset: tuple[float, float], **opts) -> None:
        self.entries: list[tuple] = []  # every (sample, label), shown or not; set before the base class sizes
        self._more: tuple | None = None
        super().__init__(**opts)
        self.offset_at = offset
        self.setParentItem(plot)
        self.anchor(itemPos=(1, 0), parentPos=(1, 0), offset=offset)

    def add(self, item, name: str) -> None:
        if len(name) > LEGEND_CHARS:  # a long referrer would take the plot's width; hovering shows it whole
            name = name[:LEGEND_CHARS - 1] + "…"
        self.addItem(item, html_text(name))
        self.entries.append(self.items[-1])

    def updateSize(self) -> None:  # noqa: N802 (pyqtgraph's name)
        self.layout.invalidate()
        hint = self.layout.effectiveSizeHint(Qt.SizeHint.PreferredSize)
        self.resize(hint.width(), hint.height())
        # Placed again for its new width: the anchor follows only the plot's moves.
        self.anchor(itemPos=(1, 0), parentPos=(1, 0), offset=self.offset_at)

    def fit(self, height: float, width: float) -> None:
        """Lay the entries out for a plot ``height`` high in a chart ``width`` wide."""
        pairs = self.entries
        if not pairs:
            return
        spacing = self.layout.verticalSpacing()
        row = max(max(sample.boundingRect().height(), label.item.boundingRect().height())
                  for sample, label in pairs) + spacing
        _left, top, _right, bottom = self.layout.getContentsMargins()
        # k rows take k * row - spacing + the margins; the legend starts below the plot's title.
        room = height - self.pos().y() - 4 - top - bottom + spacing
        per_column = max(1, int(room // max(1.0, row)))
        column = max(sample.boundingRect().width() + label.item.boundingRect().width() for sample, label in pairs) + 16
        columns = max(1, int(width * LEGEND_SHARE // column))
        shown = pairs
        if len(pairs) > per_column * columns:
            keep = max(1, per_column * columns - 1)
            more = self._more_entry()
            more[1].setText(f"+{len(pairs) - keep} more")
            shown = pairs[:keep] + [more]
        for pair in pairs + ([self._more] if self._more else []):
            for part in pair:
                part.setVisible(pair in shown)
        # LegendItem.setColumnCount's own steps, for the entries shown; the rest are hidden, not deleted
        # (a paint already queued may still reach them).
        for i in range(self.layout.count() - 1, -1, -1):
            self.layout.removeAt(i)
        self.items = list(shown)
        self.columnCount = -(-len(shown) // per_column)
        self.rowCount = -(-len(shown) // self.columnCount)
        for sample, label in shown:
            self._addItemToLayout(sample, label)
        self.updateSize()

    def _more_entry(self) -> tuple:
        """The "+N more" entry: a blank sample and a label, made once."""
        if self._more is None:
            self.addItem(pg.PlotDataItem(pen=None), "more")
            self._more = self.items.pop()
        return self._more
