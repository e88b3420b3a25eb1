"""The window-wide banner for sources that did not sync: which, what happened, Retry and Edit source.

It sits above every page (a failure must not hide in a hover text of the
status bar) and appears as soon as a source gives up, while the others may
still be syncing. A source that later syncs leaves it; dismissing hides it
until the next failure.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton


class SyncProblemBanner(QFrame):
    retryRequested = Signal(list)  # the failed sources' names
    editRequested = Signal(str)  # the source to edit

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("syncProblem")
        self.failures: dict[str, str] = {}
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.PlainText)  # vendors' messages are not markup
        self.retry_btn = QPushButton("Retry")
        self.retry_btn.setToolTip("Sync the sources named here again")
        self.edit_btn = QPushButton("Edit source…")
        self.edit_btn.setToolTip("Change the source's address or key")
        self.close_btn = QToolButton()
        self.close_btn.setText("✕")
        self.close_btn.setToolTip("Dismiss")
        self.close_btn.setAccessibleName("Dismiss")
        self.retry_btn.clicked.connect(lambda: self.retryRequested.emit(list(self.failures)))
        self.edit_btn.clicked.connect(lambda: self.failures and self.editRequested.emit(next(iter(self.failures))))
        self.close_btn.clicked.connect(self.dismiss)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(12, 6, 8, 6)
        lay.addWidget(self.text, 1)
        for w in (self.retry_btn, self.edit_btn, self.close_btn):
            lay.addWidget(w)
        self.hide()

    def add_failure(self, name: str, reason: str) -> None:
        self.failures[name] = reason
        self._show()

    def clear_source(self, name: str) -> None:
        if self.failures.pop(name, None) is not None:
            self._show()

    def dismiss(self) -> None:
        self.failures.clear()
        self.hide()

    def _show(self) -> None:
        if not self.failures:
            self.hide()
            return
        lines = [f"“{name}” did not sync: {reason}." if not reason.endswith(".") else
                 f"“{name}” did not sync: {reason}" for name, reason in self.failures.items()]
        lines.append("What it brought before is kept.")
        self.text.setText("\n".join(lines))
        first = next(iter(self.failures))
        self.edit_btn.setText(f"Edit {first}…" if len(self.failures) > 1 else "Edit source…")
        self.show()
