"""Workspace data shown as the text it is, never as rich text.

Contact ids, traits, UTM values and vendors' error messages come from
strangers. Qt guesses the format of a QLabel (Qt.AutoText), a tooltip and a
QMessageBox text: anything that looks like HTML is rendered, so a contact id
`<img src=...><a href=...>Click to verify</a>` would become a link. Labels
that show data are set to plain text; texts for the guessing APIs are
escaped; pyqtgraph labels are always HTML, so their texts are escaped too.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtGui import Qt as GuiQt
from PySide6.QtWidgets import QLabel


def set_plain(*labels: QLabel) -> None:
    for label in labels:
        label.setTextFormat(Qt.TextFormat.PlainText)


def plain_label(text: str = "") -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    return label


def as_text(text: str) -> str:
    """For tooltips and message boxes, which guess the format: a text Qt would
    take for HTML is escaped (line breaks kept), so it shows as itself."""
    if not GuiQt.mightBeRichText(text):
        return text
    return "<p style='white-space:pre-wrap'>" + html.escape(text, quote=False) + "</p>"


def html_text(text: str) -> str:
    """For pyqtgraph's titles and legends, which always read HTML."""
    return html.escape(text, quote=False)


def sentences(notes) -> str:
    """Report notes as sentences: each starting with a capital and ending with a full stop."""
    return " ".join(n[:1].upper() + n[1:] + ("" if n.endswith(".") else ".") for n in notes if n)


def brief_notes(notes) -> str:
    """The notes a status line shows, as the report words them: what "(not set)" holds is long, and its
    row's tooltip (and the line's) says it."""
    return " · ".join(n for n in notes if n and not n.startswith("(not set)"))
