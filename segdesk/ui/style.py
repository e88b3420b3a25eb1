"""Look and feel: Fusion, a light and a dark palette, resources/style.qss, and tinted SVG icons.

The theme follows the system (Qt's colour scheme hint) unless the user picks
one in Settings; a change of the system scheme while running re-applies it.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

from PySide6.QtCore import QByteArray, QObject, Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QApplication


def _resources() -> Path:
    """The repository's top-level ``resources/``, installed as the package ``segdesk.resources``.

    Wheels and the PyInstaller bundle install the folder as that package (setup.py
    maps it, build.spec collects it). Run from a source checkout, the folder beside
    ``segdesk/`` is the one: an editable install elsewhere on the machine must not
    hand out its own copy. Every way SegDesk runs has real files there, which the
    style sheet's url() needs, hence a plain Path.
    """
    package = Path(str(files("segdesk")))
    checkout = package.parent / "resources"
    if (package.parent / "pyproject.toml").is_file() and (checkout / "__init__.py").is_file():
        return checkout
    return Path(str(files("segdesk.resources")))


RESOURCES = _resources()
ICONS = RESOURCES / "icons"
THEMES = ("system", "light", "dark")

LIGHT = {
    "bg": "#f5f6f8", "surface": "#ffffff", "sidebar": "#eef1f5", "fg": "#1f2430", "muted": "#6b7280",
    "border": "#dde1e7", "hover": "#e6eaf0", "accent": "#2563eb", "accent_hover": "#1d4ed8", "accent_fg": "#ffffff",
    "accent_soft": "#dbe6fd", "accent_soft2": "#bcd0fb", "selection": "#dbe6fd", "alt": "#f8f9fb",
    "danger": "#dc2626", "scroll": "#c5cbd4",
    "ok_bg": "#ecfdf5", "ok_fg": "#065f46", "ok_border": "#a7f3d0",
    "err_bg": "#fef2f2", "err_fg": "#991b1b", "err_border": "#fecaca",
}
DARK = {
    "bg": "#15171c", "surface": "#1d2027", "sidebar": "#191c22", "fg": "#e6e8ec", "muted": "#9aa1ad",
    "border": "#2e333d", "hover": "#272b34", "accent": "#5b8cff", "accent_hover": "#769fff", "accent_fg": "#0b1020",
    "accent_soft": "#23345c", "accent_soft2": "#2f4a86", "selection": "#2a3b66", "alt": "#20232b",
    "danger": "#f87171", "scroll": "#3a404c",
    "ok_bg": "#0f2a22", "ok_fg": "#a7f3d0", "ok_border": "#1f5a46",
    "err_bg": "#2f1416", "err_fg": "#fecaca", "err_border": "#6b2226",
}


def system_is_dark() -> bool:
    hints = QGuiApplication.styleHints()
    scheme = getattr(hints, "colorScheme", None)
    if scheme is not None:
        value = scheme()
        if value == Qt.ColorScheme.Dark:
            return True
        if value == Qt.ColorScheme.Light:
            return False
    return QGuiApplication.palette().color(QPalette.ColorRole.Window).lightness() < 128


def colors(theme: str) -> dict[str, str]:
    dark = theme == "dark" or (theme not in ("light", "dark") and system_is_dark())
    return DARK if dark else LIGHT


def palette_of(c: dict[str, str]) -> QPalette:
    p = QPalette()
    role = QPalette.ColorRole
    for r, key in ((role.Window, "bg"), (role.WindowText, "fg"), (role.Base, "surface"), (role.AlternateBase, "alt"),
                   (role.Text, "fg"), (role.Button, "surface"), (role.ButtonText, "fg"), (role.Highlight, "accent"),
                   (role.HighlightedText, "accent_fg"), (role.ToolTipBase, "surface"), (role.ToolTipText, "fg"),
                   (role.PlaceholderText, "muted"), (role.Link, "accent"), (role.Mid, "muted")):
        p.setColor(r, QColor(c[key]))
    p.setColor(QPalette.ColorGroup.Disabled, role.Text, QColor(c["muted"]))
    p.setColor(QPalette.ColorGroup.Disabled, role.ButtonText, QColor(c["muted"]))
    p.setColor(QPalette.ColorGroup.Disabled, role.WindowText, QColor(c["muted"]))
    return p


def stylesheet(c: dict[str, str]) -> str:
    try:
        text = (RESOURCES / "style.qss").read_text(encoding="utf-8")
    except OSError:
        return ""
    values = {**c, "icons": ICONS.as_posix()}
    return re.sub(r"@([a-z_0-9]+)", lambda m: values.get(m.group(1), m.group(0)), text)


class _Follower(QObject):
    """Re-applies the theme when the system switches between light and dark."""

    def __init__(self, app: QApplication):
        super().__init__(app)
        self.theme = "system"
        hints = QGuiApplication.styleHints()
        if hasattr(hints, "colorSchemeChanged"):
            hints.colorSchemeChanged.connect(self._changed)

    def _changed(self, *_args) -> None:
        if self.theme == "system":
            apply_theme(QApplication.instance(), "system")


def apply_theme(app: QApplication, theme: str = "system") -> dict[str, str]:
    """Apply a theme ("system", "light" or "dark") and return its colours."""
    follower = app.findChild(_Follower) or _Follower(app)
    follower.theme = theme
    c = colors(theme)
    app.setStyle("Fusion")
    app.setPalette(palette_of(c))
    app.setStyleSheet(stylesheet(c))
    app.setProperty("segdeskColors", c)
    icon.cache_clear()
    return c


def current_colors() -> dict[str, str]:
    app = QApplication.instance()
    value = app.property("segdeskColors") if app is not None else None
    return value if isinstance(value, dict) else LIGHT


@lru_cache(maxsize=64)
def _svg(name: str) -> str | None:
    try:
        return (ICONS / f"{name}.svg").read_text(encoding="utf-8")
    except OSError:
        return None


@lru_cache(maxsize=128)
def icon(name: str, color: str | None = None, size: int = 24) -> QIcon:
    """A resources/icons SVG drawn in ``color`` (default: the theme's text colour)."""
    text = _svg(name)
    if text is None:
        return QIcon()
    text = text.replace("currentColor", color or current_colors()["fg"])
    result = QIcon()
    renderer = QSvgRenderer(QByteArray(text.encode()))
    for scale in (1, 2):
        pm = QPixmap(size * scale, size * scale)
        pm.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pm)
        renderer.render(painter)
        painter.end()
        pm.setDevicePixelRatio(scale)
        result.addPixmap(pm)
    return result


def app_icon() -> QIcon:
    path = ICONS / "app.svg"
    return QIcon(str(path)) if path.exists() else QIcon()
