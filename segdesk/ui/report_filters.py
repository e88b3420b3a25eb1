"""The Reports page's filter row: filters, a comparison, and saved views.

Filters (tag, product, source, campaign, country, device) offer the values the
workspace holds (``core.reports.filters.facets``, read on the reader pool);
country is hidden when no event carries one. A comparison sets the report
against the previous period or the same period last year. Saved views
(``core/views.py``) are listed, opened and saved here; saving goes through
the one writer.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QInputDialog, QLabel, QPushButton, QWidget

from ..core.reports.filters import FILTERS, facets
from ..core.views import list_views, save_view
from .report_table_model import when_done

ANY = "Any"
COMPARE = [(None, "No comparison"), ("previous", "Against previous period"), ("year", "Against last year")]
LABELS = {"tag": "Tag", "product": "Product", "source": "Source", "campaign": "Campaign", "country": "Country",
          "device": "Device"}


class FilterBar(QWidget):
    changed = Signal()                 # a filter or the comparison changed: rebuild the report
    viewChosen = Signal(object)        # a SavedView picked from the list
    saveFailed = Signal(str)
    saved = Signal(str)

    def __init__(self, ctx, request, parent=None) -> None:
        """``request()`` -> (report name, its parameters): what the page shows, for saving."""
        super().__init__(parent)
        self.ctx, self.request = ctx, request
        self.boxes: dict[str, QComboBox] = {}
        self.labels: dict[str, QLabel] = {}
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        for key in FILTERS:
            box = QComboBox()
            box.setAccessibleName(f"Filter by {LABELS[key].lower()}")
            box.addItem(ANY, None)
            box.currentIndexChanged.connect(self.changed)
            label = QLabel(LABELS[key])
            label.setBuddy(box)
            self.boxes[key], self.labels[key] = box, label
            row.addWidget(label)
            row.addWidget(box)
        self.compare_box = QComboBox()
        self.compare_box.setAccessibleName("Compare with")
        for value, text in COMPARE:
            self.compare_box.addItem(text, value)
        self.compare_box.setToolTip("Needs a range with both ends: the same length just before, or a year earlier")
        self.compare_box.currentIndexChanged.connect(self.changed)
        row.addStretch(1)
        self.views_box = QComboBox()
        self.views_box.setAccessibleName("Saved views")
        self.views_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.views_box.addItem("Open a saved view…", None)  # at once, not when the list has loaded
        self.views_box.activated.connect(self._on_view_activated)
        self.save_button = QPushButton("Save view…")
        self.save_button.clicked.connect(self._ask_save)
        # Comparison and views sit beside the range (``tools``, placed by the page): one row of
        # everything would not fit a 1024-pixel screen.
        self.tools = QWidget()
        tools = QHBoxLayout(self.tools)
        tools.setContentsMargins(0, 0, 0, 0)
        tools.addWidget(self.compare_box)
        tools.addStretch(1)
        tools.addWidget(self.views_box)
        tools.addWidget(self.save_button)
        self._views: list = []
        self.set_country_visible(False)
        self.reload()

    # Values ---------------------------------------------------------------
    def filters(self) -> dict:
        return {k: b.currentData() for k, b in self.boxes.items() if b.currentData() and b.isVisibleTo(self)}

    def compare(self) -> str | None:
        return self.compare_box.currentData()

    def set_values(self, filters: dict, compare: str | None) -> None:
        """Show a saved view's filters and comparison without a rebuild per box."""
        widgets = [*self.boxes.values(), self.compare_box]
        for w in widgets:
            w.blockSignals(True)
        for key, box in self.boxes.items():
            value = (filters or {}).get(key)
            if value and box.findData(value) < 0:
                box.addItem(value, value)  # a value the workspace no longer has still shows what was saved
            box.setCurrentIndex(max(0, box.findData(value)) if value else 0)
        self.compare_box.setCurrentIndex(max(0, self.compare_box.findData(compare)))
        for w in widgets:
            w.blockSignals(False)

    def set_country_visible(self, visible: bool) -> None:
        self.boxes["country"].setVisible(visible)
        self.labels["country"].setVisible(visible)
        self.boxes["country"].setToolTip("" if visible else "This workspace has no country data")

    # Loading --------------------------------------------------------------
    def reload(self) -> None:
        """The filters' values and the saved views, read off the UI thread."""
        try:
            job = self.ctx.read(lambda conn, _p: (facets(conn), list_views(conn)), "report filters")
        except RuntimeError:
            return  # the workspace is closing
        when_done(job, self._loaded, lambda reason: None)

    def _loaded(self, answer) -> None:
        values, views = answer
        for key, box in self.boxes.items():
            current = box.currentData()
            box.blockSignals(True)
            box.clear()
            box.addItem(ANY, None)
            for v in values.get(key, []):
                box.addItem(v, v)
            if current and box.findData(current) < 0:
                box.addItem(current, current)
            box.setCurrentIndex(max(0, box.findData(current)) if current else 0)
            box.blockSignals(False)
        self.set_country_visible("country" in values)
        self._views = views
        self.views_box.clear()
        self.views_box.addItem("Open a saved view…", None)
        for v in views:
            self.views_box.addItem(v.name, v.name)

    def _on_view_activated(self, index: int) -> None:
        name = self.views_box.itemData(index)
        view = next((v for v in self._views if v.name == name), None)
        if view is not None:
            self.viewChosen.emit(view)

    def open_view(self, name: str) -> None:
        """Pick a saved view by name, as choosing it in the list does."""
        self._on_view_activated(self.views_box.findData(name))

    # Saving ---------------------------------------------------------------
    def _ask_save(self) -> None:
        name, ok = QInputDialog.getText(self, "Save view", "Name of this view:")
        if ok and name.strip():
            self.save_as(name.strip())

    def save_as(self, name: str) -> None:
        """Save what the Reports page shows under ``name`` (the page supplies report and parameters)."""
        report, params = self.request()
        filters, compare = self.filters(), self.compare()
        if compare:
            params = dict(params, compare=compare)
        job = self.ctx.write(lambda ws, _p: save_view(ws.conn, name, report, params, filters), f"save view {name}")
        when_done(job, lambda _replaced: (self.reload(), self.saved.emit(name)), self.saveFailed.emit)
