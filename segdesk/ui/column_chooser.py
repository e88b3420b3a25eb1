"""Report tables on a small screen: the key figures stay in view, the rest fold away and come back on request.

When the columns do not fit the view's width, the optional ones (not in
``KEY_COLUMNS``; of a figure also shown converted, the per-currency original)
are hidden from the right until they do, and the first column (the row's name) gives up width down to ``FIRST_MIN`` (its text
elides; the tooltip has it whole). Right-clicking the header, or the
"Columns" button a page may place beside the table, lists every column to
show or hide; a column the user chose stays as chosen whatever the width.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtGui import QFontMetrics
from PySide6.QtWidgets import QHeaderView, QMenu, QTableView, QToolButton

# The figures a marketer reads first (issue 16: "every key figure visible without horizontal scrolling").
KEY_COLUMNS = ("key", "customers", "revenue", "value_per_contact", "value_per_customer", "spend", "roas", "credit",
               "cost_per_customer")
FIRST_MIN = 120
FIRST_MAX = 260
HEADER_PAD = 28  # the header's padding and sort arrow


def is_key(col, cols) -> bool:
    """A key figure stays in view. Where a report has it converted into the reporting currency too,
    the converted column is the key one and the per-currency original folds away first."""
    base = col.key.removesuffix("_converted")
    if base not in KEY_COLUMNS:
        return False
    return col.key != base or not any(c.key == f"{base}_converted" for c in cols)


class ColumnChooser(QObject):
    def __init__(self, view: QTableView) -> None:
        super().__init__(view)
        self.view = view
        self.chosen: dict[str, bool] = {}  # column key -> shown, as the user set it
        header = view.horizontalHeader()
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header.customContextMenuRequested.connect(lambda pos: self.menu().exec(header.mapToGlobal(pos)))
        view.setTextElideMode(Qt.TextElideMode.ElideRight)
        view.viewport().installEventFilter(self)

    def button(self) -> QToolButton:
        """A "Columns" button with the same menu, for pages that want one in view."""
        btn = QToolButton()
        btn.setText("Columns")
        btn.setToolTip("Choose the columns to show (also: right-click a column header)")
        btn.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        btn.clicked.connect(lambda: self.menu().exec(btn.mapToGlobal(btn.rect().bottomLeft())))
        return btn

    def columns(self) -> list:
        table = getattr(self.view.model(), "table", None)
        return list(table.columns) if table else []

    def menu(self) -> QMenu:
        menu = QMenu(self.view)
        for i, col in enumerate(self.columns()):
            act = menu.addAction(col.label)
            act.setCheckable(True)
            act.setChecked(not self.view.isColumnHidden(i))
            act.setEnabled(i != 0)  # the row's name always shows
            act.toggled.connect(lambda on, key=col.key: self.choose(key, on))
        return menu

    def choose(self, key: str, shown: bool) -> None:
        self.chosen[key] = shown
        self.fit()

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt's name)
        if event.type() == QEvent.Type.Resize:
            self.fit()
        return False

    def fit(self) -> None:
        """Hide optional columns from the right until the rest fits; the user's choices win."""
        cols = self.columns()
        if not cols:
            return
        view, header = self.view, self.view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        bold = header.font()
        bold.setBold(True)  # the style sheet's header weight, which sectionSizeHint does not measure
        metrics = QFontMetrics(bold)
        model = view.model()

        def label_width(i: int, col) -> int:
            # The header as shown: the campaign table puts "(USD)" on a second line, so its widest line counts.
            text = model.headerData(i, Qt.Orientation.Horizontal, Qt.ItemDataRole.DisplayRole)
            lines = text.split("\n") if isinstance(text, str) else [col.label]
            return max(metrics.horizontalAdvance(line) for line in lines) + HEADER_PAD

        widths = [max(view.sizeHintForColumn(i), header.sectionSizeHint(i), label_width(i, c))
                  for i, c in enumerate(cols)]
        widths[0] = max(FIRST_MIN, min(widths[0], FIRST_MAX))
        shown = [self.chosen.get(c.key, True) for c in cols]
        shown[0] = True
        room = view.viewport().width()
        optional = [i for i in reversed(range(1, len(cols))) if not is_key(cols[i], cols) and cols[i].key not in self.chosen]
        for i in optional:
            if sum(w for w, s in zip(widths, shown) if s) <= room:
                break
            shown[i] = False
        for i, s in enumerate(shown):
            view.setColumnHidden(i, not s)
        rest = sum(w for w, s in zip(widths[1:], shown[1:]) if s)
        first = max(FIRST_MIN, min(max(widths[0], room - rest), FIRST_MAX if rest + FIRST_MAX <= room else
                                   max(FIRST_MIN, room - rest)))
        header.resizeSection(0, first)
        for i in range(1, len(cols)):
            if shown[i]:
                header.resizeSection(i, widths[i])
        header.setStretchLastSection(False)
