"""Small painted icons for a device's kind (phone, tablet, desktop): no image files, sharp at any scale."""

from __future__ import annotations

from functools import lru_cache

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPen, QPixmap

KIND_TEXT = {"phone": "Phone", "tablet": "Tablet", "desktop": "Desktop", None: "Device"}


@lru_cache(maxsize=8)
def device_icon(kind: str | None, size: int = 16, colour: str = "#5a6b7d") -> QIcon:
    """A phone (tall), tablet (wide portrait) or desktop (a screen on a stand); an empty icon when unknown."""
    if kind not in ("phone", "tablet", "desktop"):
        return QIcon()
    pix = QPixmap(size * 2, size * 2)  # drawn at 2x so it stays crisp on high-density screens
    pix.fill(Qt.GlobalColor.transparent)
    p = QPainter(pix)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    s = size * 2
    p.setPen(QPen(QColor(colour), s * 0.09))
    if kind == "phone":
        p.drawRoundedRect(QRectF(s * 0.3, s * 0.08, s * 0.4, s * 0.84), s * 0.08, s * 0.08)
        p.drawLine(int(s * 0.45), int(s * 0.8), int(s * 0.55), int(s * 0.8))
    elif kind == "tablet":
        p.drawRoundedRect(QRectF(s * 0.06, s * 0.18, s * 0.88, s * 0.64), s * 0.08, s * 0.08)  # held sideways
        p.drawLine(int(s * 0.84), int(s * 0.45), int(s * 0.84), int(s * 0.55))
    else:
        p.drawRoundedRect(QRectF(s * 0.08, s * 0.14, s * 0.84, s * 0.56), s * 0.05, s * 0.05)
        p.drawLine(int(s * 0.5), int(s * 0.7), int(s * 0.5), int(s * 0.86))
        p.drawLine(int(s * 0.3), int(s * 0.88), int(s * 0.7), int(s * 0.88))
    p.end()
    pix.setDevicePixelRatio(2.0)
    return QIcon(pix)
