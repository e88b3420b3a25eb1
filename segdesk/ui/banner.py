"""The inline message line the pages show instead of modal boxes (styled by ``#banner`` in style.qss)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget


def restyle(widget: QWidget) -> None:
    """Re-apply the style sheet after a dynamic property that it selects on changed."""
    widget.style().unpolish(widget)
    widget.style().polish(widget)


class Banner(QLabel):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("banner")
        # The messages carry data and vendors' errors: never rich text.
        self.setTextFormat(Qt.TextFormat.PlainText)
        self.setWordWrap(True)
        self.hide()

    def show_message(self, text: str, error: bool = False) -> None:
        self.setProperty("error", error)
        restyle(self)
        self.setText(text)
        self.show()
