"""The About box: what this is and the versions a bug report needs."""

from __future__ import annotations

import platform
import sqlite3
import sys

import PySide6
from PySide6.QtCore import Qt, qVersion
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QHBoxLayout, QLabel, QVBoxLayout

from .. import __version__
from .context import AppContext
from .style import app_icon


def versions() -> dict[str, str]:
    try:
        import pyqtgraph
        graph = pyqtgraph.__version__
    except ImportError:
        graph = "not installed"
    return {"SegDesk": __version__, "Python": platform.python_version(), "Qt": qVersion(),
            "PySide6": PySide6.__version__, "SQLite": sqlite3.sqlite_version, "pyqtgraph": graph,
            "Platform": f"{platform.system()} {platform.release()} ({platform.machine()})"}


class AboutDialog(QDialog):
    def __init__(self, ctx: AppContext | None = None, parent=None):
        super().__init__(parent)
        self.setWindowTitle("About SegDesk")
        logo = QLabel()
        logo.setPixmap(app_icon().pixmap(72, 72))
        name = QLabel("SegDesk")
        name.setObjectName("hero")
        tagline = QLabel("Which campaigns bring the customers who pay — analysed on your own computer.")
        tagline.setObjectName("muted")
        tagline.setWordWrap(True)
        rows = "".join(f"<tr><td style='padding-right:14px'><b>{k}</b></td><td>{v}</td></tr>"
                       for k, v in versions().items())
        if ctx is not None:
            rows += f"<tr><td style='padding-right:14px'><b>Workspace</b></td><td>{ctx.workspace_path}</td></tr>"
        table = QLabel(f"<table>{rows}</table>")
        table.setTextFormat(Qt.TextFormat.RichText)
        table.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        head = QHBoxLayout()
        head.addWidget(logo)
        text = QVBoxLayout()
        text.addWidget(name)
        text.addWidget(tagline)
        head.addLayout(text, 1)
        lay = QVBoxLayout(self)
        lay.addLayout(head)
        lay.addSpacing(8)
        lay.addWidget(table)
        lay.addWidget(buttons)
        self.setMinimumWidth(440)
        self.version_text = "\n".join(f"{k} {v}" for k, v in versions().items()) + f"\n{sys.executable}"
