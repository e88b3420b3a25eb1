"""Settings: workspace folder, timezone, currency display and theme (QSettings, org "SegDesk"),
and the workspace's suppression list of erased people.

Display choices apply at once through ``ctx.set_display``; a new workspace
folder reopens the window on it. The suppression list shows each erase in
force by date (it holds no addresses); lifting one needs the person's email,
typed by the marketer when the person came back and consents.
"""

from __future__ import annotations

from pathlib import Path
from zoneinfo import available_timezones

from PySide6.QtCore import QSettings, Signal
from PySide6.QtWidgets import (QApplication, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout,
                               QGroupBox, QHBoxLayout, QLabel, QLineEdit, QListWidget, QMessageBox, QPushButton, QVBoxLayout)

from ..core.identity import suppression
from ..core.changes import Changes
from ..core.fx import check_currency, reporting_currency
from ..errors import InvalidInput
from ..sync.sources import choose_reporting_currency
from .plaintext import as_text

from .export_done import CoverFields
from .context import APP, ORG, AppContext, DisplaySettings
from .style import THEMES, apply_theme

WORKSPACE_KEY = "workspace/folder"
REPORTING_CHOICES = ("EUR", "USD", "GBP", "CHF", "CAD", "AUD", "JPY", "SEK", "NOK", "DKK", "PLN")
THEME_KEY = "display/theme"


def saved_theme() -> str:
    value = str(QSettings(ORG, APP).value(THEME_KEY, "system"))
    return value if value in THEMES else "system"


def saved_workspace() -> str | None:
    value = QSettings(ORG, APP).value(WORKSPACE_KEY)
    return str(value) if value else None


class SettingsDialog(QDialog):
    workspaceChosen = Signal(str)

    def __init__(self, ctx: AppContext, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle("Settings")
        self.setMinimumWidth(520)
        self.workspace = QLineEdit(str(ctx.workspace_path))
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.workspace, 1)
        row.addWidget(browse)
        self.timezone = QComboBox()
        self.timezone.setEditable(True)
        self.timezone.addItem("Local time of this computer", "local")
        self.timezone.addItem("UTC", "UTC")
        for zone in sorted(z for z in available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/"))):
            self.timezone.addItem(zone, zone)
        self._select(self.timezone, ctx.display.timezone)
        self.currency = QComboBox()
        self.currency.addItem("Symbol ($1,234.50)", "symbol")
        self.currency.addItem("Code (1,234.50 USD)", "code")
        self._select(self.currency, ctx.display.currency_display)
        self.reporting = QComboBox()
        self.reporting.setEditable(True)  # any ISO code; the common ones listed
        self.reporting.setToolTip("Reports show totals converted into this currency beside the original "
                                  "currencies, at each order's day's ECB rate (Sources: ECB, added on OK)")
        for code in REPORTING_CHOICES:
            self.reporting.addItem(code, code.lower())
        self._reporting_loaded: str | None = None
        job = ctx.read(lambda conn, _p: reporting_currency(conn), "reporting currency")
        job.finished.connect(self._show_reporting)
        self.theme = QComboBox()
        for value, label in (("system", "Follow the system"), ("light", "Light"), ("dark", "Dark")):
            self.theme.addItem(label, value)
        self._select(self.theme, saved_theme())
        note = QLabel("A different workspace folder reopens the window on it (a new folder starts empty).")
        note.setObjectName("muted")
        note.setWordWrap(True)
        form = QFormLayout()
        form.addRow("Workspace folder", row)
        form.addRow("", note)
        form.addRow("Timezone", self.timezone)
        form.addRow("Money", self.currency)
        form.addRow("Reporting currency", self.reporting)
        form.addRow("Theme", self.theme)
        self.cover = CoverFields(ctx, self)  # the PDF's cover (ui/export_done.py)
        form.addRow("Client or business", self.cover.name)
        form.addRow("Logo on PDFs", self.cover.logo_row)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addLayout(form)
        lay.addWidget(self._suppression_box())
        lay.addWidget(buttons)
        self.load_suppressions()

    # -- erased people --------------------------------------------------------
    def _suppression_box(self) -> QGroupBox:
        box = QGroupBox("Erased people")
        note = QLabel("Every import and sync keeps these people out. The list keeps keyed hashes, "
                      "not addresses: to let someone back in who asked to return, type their email.")
        note.setObjectName("muted")
        note.setWordWrap(True)
        self.suppressions = QListWidget()
        self.suppressions.setMaximumHeight(110)
        self.suppressions.setEnabled(False)  # until the list has loaded
        self.lift_email = QLineEdit()
        self.lift_email.setPlaceholderText("email of the person who came back and consents")
        self.lift_button = QPushButton("Lift")
        self.lift_button.clicked.connect(self.lift)
        self.lift_email.returnPressed.connect(self.lift)
        self.lift_status = QLabel("")
        self.lift_status.setWordWrap(True)
        row = QHBoxLayout()
        row.addWidget(self.lift_email, 1)
        row.addWidget(self.lift_button)
        lay = QVBoxLayout(box)
        for w in (note, self.suppressions):
            lay.addWidget(w)
        lay.addLayout(row)
        lay.addWidget(self.lift_status)
        return box

    def load_suppressions(self) -> None:
        job = self.ctx.read(lambda conn, _p: suppression.entries(conn), "suppression list")
        job.finished.connect(self._show_suppressions)

    def _show_suppressions(self, entries: list[dict]) -> None:
        self.suppressions.clear()
        for e in entries:
            kinds = ", ".join(e["kinds"]) or "no identifiers"
            self.suppressions.addItem(f"Erased {self.ctx.time(e['erased_at'])} · {e['identifiers']} "
                                      f"identifier{'s' if e['identifiers'] != 1 else ''} ({kinds})")
        if not entries:
            self.suppressions.addItem("Nobody has been erased.")
        self.suppressions.setEnabled(bool(entries))

    def lift(self) -> None:
        email = self.lift_email.text().strip()
        if not email:
            return
        self.lift_button.setEnabled(False)
        job = self.ctx.write(lambda ws, _p: suppression.lift(ws.conn, email), f"lift {email}")
        job.finished.connect(lambda entry: self._lifted(email, entry))
        job.failed.connect(self._lift_failed)

    def _lifted(self, email: str, entry: dict) -> None:
        self.lift_button.setEnabled(True)
        self.lift_email.clear()
        self.lift_status.setText(f"Lifted: {email} comes back with the next sync of every source that has them.")
        self.load_suppressions()

    def _lift_failed(self, reason: str) -> None:
        self.lift_button.setEnabled(True)
        self.lift_status.setText(reason)

    @staticmethod
    def _select(combo: QComboBox, value: str) -> None:
        index = combo.findData(value)
        if index < 0:
            combo.addItem(value, value)
            index = combo.count() - 1
        combo.setCurrentIndex(index)

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Workspace folder", self.workspace.text())
        if folder:
            self.workspace.setText(folder)

    def timezone_value(self) -> str:
        text = self.timezone.currentText().strip()
        data = self.timezone.currentData()
        return data if data and self.timezone.itemText(self.timezone.currentIndex()) == text else (text or "local")

    def _show_reporting(self, code: str) -> None:
        self._reporting_loaded = code
        self._select(self.reporting, code)
        self.reporting.setCurrentText(code.upper())

    def reporting_value(self) -> str:
        return self.reporting.currentText().strip().lower()

    def accept(self) -> None:
        code = self.reporting_value()
        # Until the workspace's own currency has loaded the box shows a placeholder: never store that.
        if code and self._reporting_loaded is not None and code != self._reporting_loaded:
            try:
                check_currency(code)
            except InvalidInput as exc:
                QMessageBox.warning(self, "Reporting currency", as_text(str(exc)))
                return
            job = self.ctx.write(lambda ws, _p: choose_reporting_currency(ws, code), "reporting currency")
            job.finished.connect(lambda _result: self.ctx.notify(Changes.everything()))
        self.cover.save()
        display = DisplaySettings(self.timezone_value(), self.currency.currentData())
        self.ctx.set_display(display)
        if display.timezone != "local":  # reports read the workspace's own setting for their date ranges
            tz = display.timezone
            self.ctx.write(lambda ws, _p: ws.set_setting("timezone", tz), "timezone")
        theme = self.theme.currentData()
        if theme != saved_theme():
            QSettings(ORG, APP).setValue(THEME_KEY, theme)
            apply_theme(QApplication.instance(), theme)
        super().accept()
        folder = self.workspace.text().strip()
        if folder and Path(folder).expanduser().resolve() != self.ctx.workspace_path:
            QSettings(ORG, APP).setValue(WORKSPACE_KEY, str(Path(folder).expanduser().resolve()))
            self.workspaceChosen.emit(str(Path(folder).expanduser().resolve()))
