"""A chart's axes: values with thousands separators, bar keys that never overlap."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QFontMetrics


class ValueAxis(pg.AxisItem):
    """Numbers with thousands separators, whole numbers when the ticks are a whole step apart."""

    def tickStrings(self, values, scale, spacing):  # noqa: N802 (pyqtgraph's name)
        decimals = 0 if spacing * scale >= 1 else 2
        return [f"{v * scale:,.{decimals}f}" for v in values]


class KeyAxis(pg.AxisItem):
    """Bar labels that never overlap: as many as the axis's width has room for, each cut to its slot
    (every bar still hovers with its whole name), the partial month always labelled."""

    keys: list[str] = []
    partial: str | None = None

    def set_keys(self, keys: list[str], partial: str | None) -> None:
        self.keys, self.partial = list(keys), partial
        self._relabel()

    def resizeEvent(self, event=None) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        self._relabel()

    def _relabel(self) -> None:
        if not self.keys:
            return
        font = self.style.get("tickFont") or self.font()
        char = max(1, QFontMetrics(font).averageCharWidth())
        slot = max(1.0, self.geometry().width() / len(self.keys))
        step = max(1, -(-(6 * char) // int(slot)))  # a slot narrower than six characters labels every n-th bar
        chars = max(4, int((slot * step - 2 * char) / (char * 1.2)))  # a gap between labels; wide letters

        def short(key: str) -> str:
            text = key if len(key) <= chars else key[:chars - 1] + "…"
            return f"{text} (partial)" if key == self.partial else text

        self.setTicks([[(k, short(key)) for k, key in enumerate(self.keys) if k % step == 0 or key == self.partial]])
