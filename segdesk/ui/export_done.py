"""After an export: say where the file went and offer "Open file" and "Show in folder".

Both go through ``QDesktopServices.openUrl`` (the desktop's own viewer and file
manager); a platform without one gets a plain message instead of an error.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QMessageBox

from ..core.reports.bundle import cover_of
from ..core.reports.table import range_text_full


class ExportDone(QMessageBox):
    """A non-blocking note with the path and two buttons; ``open_file()`` / ``show_folder()`` do what they say."""

    def __init__(self, path: str | Path, pages: int | None = None, parent=None) -> None:
        super().__init__(parent)
        self.path = Path(path).resolve()
        self.setWindowTitle("Export finished")
        self.setIcon(QMessageBox.Icon.Information)
        what = f"{pages} page{'s' if pages != 1 else ''} written to" if pages else "Written to"
        self.setText(f"{what}\n{self.path}")
        self.open_button = self.addButton("Open file", QMessageBox.ButtonRole.AcceptRole)
        self.folder_button = self.addButton("Show in folder", QMessageBox.ButtonRole.ActionRole)
        self.addButton(QMessageBox.StandardButton.Close)
        # The buttons act and the note closes; connecting clicked keeps it testable without exec().
        self.open_button.clicked.connect(self.open_file)
        self.folder_button.clicked.connect(self.show_folder)

    def open_file(self) -> bool:
        return self._open(self.path)

    def show_folder(self) -> bool:
        return self._open(self.path.parent)

    def _open(self, target: Path) -> bool:
        ok = QDesktopServices.openUrl(QUrl.fromLocalFile(str(target)))
        if not ok:
            QMessageBox.information(self.parentWidget(), "Cannot open", f"Nothing here opens it; it is at\n{target}")
        return ok


def show_export_done(parent, path, pages: int | None = None) -> ExportDone:
    note = ExportDone(path, pages, parent)
    note.open()  # window-modal, never blocking the event loop
    return note


def cover_for(ctx, params: dict):
    """The PDF cover from the workspace settings (client name, logo) and the report's range."""
    conn = ctx.reader()
    try:
        return cover_of(conn, range_text_full(params))
    finally:
        conn.close()


class CoverFields:
    """The Settings dialog's "PDF cover" rows: client or business name and a logo file (workspace settings)."""

    def __init__(self, ctx, parent) -> None:
        from PySide6.QtWidgets import QFileDialog, QHBoxLayout, QLineEdit, QPushButton

        from ..core.reports.bundle import CLIENT_SETTING, LOGO_SETTING

        self.ctx, self.keys = ctx, (CLIENT_SETTING, LOGO_SETTING)
        conn = ctx.reader()
        try:
            cover = cover_of(conn, "")
        finally:
            conn.close()
        self.name = QLineEdit(cover.client)
        self.name.setPlaceholderText("shown large on the first page of every PDF")
        self.logo = QLineEdit(cover.logo_path)
        self.logo.setPlaceholderText("a PNG, JPEG or SVG file")
        choose = QPushButton("Choose…")
        choose.clicked.connect(lambda: self.logo.setText(QFileDialog.getOpenFileName(
            parent, "Logo for PDF covers", self.logo.text(), "Images (*.png *.jpg *.jpeg *.svg)")[0]
            or self.logo.text()))
        self.logo_row = QHBoxLayout()
        self.logo_row.addWidget(self.logo, 1)
        self.logo_row.addWidget(choose)

    def save(self) -> None:
        values = {self.keys[0]: self.name.text().strip(), self.keys[1]: self.logo.text().strip()}

        def write(ws, _p):
            for key, value in values.items():
                ws.set_setting(key, value)

        self.ctx.write(write, "PDF cover")
