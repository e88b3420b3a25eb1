"""A date range: a preset (the last N days, all time) or any two dates, for the Dashboard and Reports."""

from __future__ import annotations

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtWidgets import QComboBox, QDateEdit, QHBoxLayout, QLabel, QWidget

CUSTOM = -1
PRESETS = [("Last 30 days", 30), ("Last 90 days", 90), ("Last 365 days", 365), ("All time", None), ("Custom", CUSTOM)]
EARLIEST = QDate(2000, 1, 1)


class RangePicker(QWidget):
    """Preset box and From/To dates. Editing a date switches the box to Custom; ``changed`` fires once per move."""

    changed = Signal()

    def __init__(self, initial: int | None = 90, presets=PRESETS, parent: QWidget | None = None):
        super().__init__(parent)
        self.preset = QComboBox()
        for label, days in presets:
            self.preset.addItem(label, days)
        self.since_edit, self.until_edit = QDateEdit(), QDateEdit()
        for edit in (self.since_edit, self.until_edit):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.dateChanged.connect(self._on_dates_edited)
        self.preset.currentIndexChanged.connect(lambda: self._apply_preset(self.preset.currentData()))
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        for w in (QLabel("Range"), self.preset, QLabel("From"), self.since_edit, QLabel("to"), self.until_edit):
            row.addWidget(w)
        self._quiet = True
        self.set_preset(initial)
        self._quiet = False

    def set_preset(self, days: int | None) -> None:
        self.preset.blockSignals(True)
        self.preset.setCurrentIndex(self.preset.findData(days))
        self.preset.blockSignals(False)
        self._apply_preset(days)

    def set_range(self, since: str | None, until: str | None) -> None:
        """A custom range by ISO dates (None: open-ended)."""
        self._set_dates(QDate.fromString(since, Qt.DateFormat.ISODate) if since else EARLIEST,
                        QDate.fromString(until, Qt.DateFormat.ISODate) if until else QDate.currentDate())
        self._on_dates_edited()

    def date_range(self) -> tuple[str | None, str | None]:
        """``(since, until)`` as ISO dates for the report engine; None where the range is open."""
        if self.preset.currentData() is None:
            return None, None
        until = self.until_edit.date()
        # A date alone is a whole day for the engine; today means "up to now".
        until_text = None if until >= QDate.currentDate() else until.toString(Qt.DateFormat.ISODate)
        since = self.since_edit.date()
        return (None if since <= EARLIEST else since.toString(Qt.DateFormat.ISODate)), until_text

    def _set_dates(self, since: QDate, until: QDate) -> None:
        for edit, value in ((self.since_edit, since), (self.until_edit, until)):
            edit.blockSignals(True)
            edit.setDate(value)
            edit.blockSignals(False)

    def _apply_preset(self, days) -> None:
        if days == CUSTOM:
            return  # the date edits hold it
        today = QDate.currentDate()
        self._set_dates(today.addDays(-days) if days else EARLIEST, today)
        self._emit()

    def _on_dates_edited(self) -> None:
        self.preset.blockSignals(True)
        self.preset.setCurrentIndex(self.preset.findData(CUSTOM))
        self.preset.blockSignals(False)
        self._emit()

    def _emit(self) -> None:
        if not self._quiet:
            self.changed.emit()
