"""Report series as pyqtgraph charts: lines over time or days, bars over keys.

A series is ``{"name", "points": [(x, y)], "currency"}``. Its kind follows
from its x values: ISO dates make a time axis, other text makes bars per key,
numbers (days after first touch) make a line. Money series carry their
currency; y is in minor units and is shown in major units of that currency
only (each currency is its own series, never summed with another).

The same ``ChartWidget`` draws on screen and, resized offscreen, into the
PDF (``render_into``), so the exported chart is the one the user saw.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter
from PySide6.QtWidgets import QVBoxLayout, QWidget

from ..core.money import exponent, format_money
from ..core.reports.table import CATEGORY, NUMBER, TIME
from . import qtfix  # noqa: F401  (pyqtgraph's many void calls: PySide6 6.12.0's None leak)
from .plaintext import html_text


# Colour-blind-safe (Okabe-Ito), readable on white and in print.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]


def _epoch(x) -> float | None:
    try:
        dt = datetime.fromisoformat(str(x).replace("Z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()


def series_kind(series: list[dict]) -> str:
    xs = [p[0] for s in series for p in s["points"][:3]]
    if not xs or all(isinstance(x, (int, float)) for x in xs):
        return NUMBER
    if all(isinstance(x, str) and len(x) >= 7 and _epoch(x if len(x) > 7 else x + "-01") for x in xs):
        return TIME
    return CATEGORY


def _y(value, currency: str | None) -> float:
    v = float(value or 0)
    return v / 10 ** exponent(currency) if currency else v


def _label(value: float, currency: str | None) -> str:
    if currency:
        return format_money(round(value * 10 ** exponent(currency), 2), currency)
    return f"{value:,.2f}".rstrip("0").rstrip(".")


class ChartWidget(QWidget):
    """A titled chart with a legend and the values under the mouse."""

    def __init__(self, parent=None, *, title: str = "", x_label: str = "", y_label: str = "") -> None:
        super().__init__(parent)
        self.plot_widget = pg.PlotWidget(background="w")
        self.plot_widget.setMinimumHeight(180)
        self.plot = self.plot_widget.getPlotItem()
        # The legend sits beside the plot, not on it (eight lines of legend would cover the data):
        # an empty right axis reserves its room and the legend is pinned over that margin.
        self.legend = pg.LegendItem(labelTextColor="#222", verSpacing=-6)
        self.legend.setParentItem(self.plot)
        self.legend.anchor(itemPos=(1, 0), parentPos=(1, 0), offset=(-4, 28))
        self.plot.showAxis("right")
        self._margin = self.plot.getAxis("right")
        self._margin.setPen(pg.mkPen(None))
        self._margin.setStyle(showValues=False, tickLength=0)
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.plot.setMenuEnabled(False)
        for axis in ("left", "bottom"):
            self.plot.getAxis(axis).setPen(pg.mkPen("#555"))
            self.plot.getAxis(axis).setTextPen(pg.mkPen("#333"))
        for axis in ("left", "bottom"):
            self.plot.getAxis(axis).enableAutoSIPrefix(False)  # "(x0.001)" beside a money axis only confuses
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot_widget)
        self._title, self._x_label, self._y_label = title, x_label, y_label
        self.series: list[dict] = []
        self.kind = NUMBER
        self._hover = pg.TextItem(color="#111", fill=pg.mkBrush(255, 255, 255, 230), border=pg.mkPen("#999"))
        self._hover.setZValue(100)
        self._mouse = pg.SignalProxy(self.plot.scene().sigMouseMoved, rateLimit=30, slot=self._on_mouse)
        self._points: list[tuple[str, str | None, list[tuple[float, float, str]]]] = []
        self._axis_kind: str | None = None
        self.set_series([])

    # Drawing ------------------------------------------------------------
    def set_series(self, series: list[dict], *, title: str | None = None, kind: str | None = None,
                   x_label: str | None = None) -> None:
        """Replace what the chart shows. ``kind`` forces line/bar choice when the caller knows better."""
        self.series = [s for s in series if s.get("points")]
        self.kind = kind or series_kind(self.series)
        if title is not None:
            self._title = title
        if x_label is not None:
            self._x_label = x_label
        p = self.plot
        p.clear()
        self.legend.clear()
        p.setTitle(html_text(self._title or ""), color="#222", size="11pt")
        self._set_axis(self.kind)
        self._points = []
        if self.kind == CATEGORY:
            self._draw_bars()
        else:
            self._draw_lines()
        p.addItem(self._hover, ignoreBounds=True)
        self._hover.hide()
        self.legend.updateSize()
        self._margin.setWidth(int(self.legend.boundingRect().width()) + 8 if self.series else 8)
        p.enableAutoRange(axis="x")
        if self.kind != CATEGORY:
            p.enableAutoRange(axis="y")
        if not self.series:
            p.setTitle(html_text(f"{self._title} — no data" if self._title else "No data"), color="#777", size="11pt")

    def _set_axis(self, kind: str) -> None:
        p = self.plot
        if kind != self._axis_kind:
            axis = pg.DateAxisItem(orientation="bottom") if kind == TIME else pg.AxisItem(orientation="bottom")
            axis.setPen(pg.mkPen("#555"))
            axis.setTextPen(pg.mkPen("#333"))
            axis.enableAutoSIPrefix(False)
            p.setAxisItems({"bottom": axis})
            self._axis_kind = kind
        if kind != CATEGORY:
            p.getAxis("bottom").setTicks(None)
        p.setLabel("bottom", self._x_label, color="#333")
        currencies = {s.get("currency") for s in self.series} - {None}
        unit = ", ".join(sorted(c.upper() for c in currencies))
        p.setLabel("left", self._y_label or unit, color="#333")

    def _draw_lines(self) -> None:
        # One colour per group (a source's USD and EUR lines match); later currencies are dashed.
        groups = list(dict.fromkeys(s.get("key", s["name"]) for s in self.series))
        currencies = list(dict.fromkeys(s.get("currency") for s in self.series))
        for s in self.series:
            cur = s.get("currency")
            pts = []
            for x, y in s["points"]:
                xv = _epoch(x if len(str(x)) > 7 else f"{x}-01") if self.kind == TIME else float(x)
                if xv is not None:
                    pts.append((xv, _y(y, cur), str(x)))
            pts.sort()
            color = PALETTE[groups.index(s.get("key", s["name"])) % len(PALETTE)]
            style = Qt.PenStyle.SolidLine if currencies.index(cur) == 0 else Qt.PenStyle.DashLine
            line = self.plot.plot([p[0] for p in pts], [p[1] for p in pts],
                                  pen=pg.mkPen(color, width=2, style=style), symbol="o", symbolSize=5,
                                  symbolBrush=color, symbolPen=None)
            self.legend.addItem(line, html_text(s["name"]))
            self._points.append((s["name"], cur, pts))

    def _draw_bars(self) -> None:
        keys: list[str] = []
        for s in self.series:
            for x, _ in s["points"]:
                if str(x) not in keys:
                    keys.append(str(x))
        if keys and all(_epoch(k if len(k) > 7 else f"{k}-01") for k in keys):
            keys.sort()  # months from several currencies interleave; time reads left to right
        n = max(1, len(self.series))
        width = 0.8 / n
        for i, s in enumerate(self.series):
            cur = s.get("currency")
            values = {str(x): _y(y, cur) for x, y in s["points"]}
            xs = [k + (i - (n - 1) / 2) * width for k in range(len(keys))]
            ys = [values.get(k, 0.0) for k in keys]
            color = PALETTE[i % len(PALETTE)]
            bars = pg.BarGraphItem(x=xs, height=ys, width=width * 0.95, brush=color, pen=pg.mkPen(color))
            self.plot.addItem(bars)
            self.legend.addItem(bars, html_text(s["name"]))
            # x is the key's slot (not the bar's offset) so hovering a slot shows every currency.
            self._points.append((s["name"], cur, [(float(k), y, key) for k, (y, key) in enumerate(zip(ys, keys))]))
        step = max(1, -(-len(keys) // 14))  # at most ~14 labels; every bar still hovers
        tops = [y for _, _, pts in self._points for _, y, _ in pts] or [0.0]
        self.plot.setYRange(min(0.0, min(tops)), max(tops) * 1.08 or 1.0, padding=0)
        short = [(k, key if len(key) <= 14 else key[:13] + "…") for k, key in enumerate(keys) if k % step == 0]
        self.plot.getAxis("bottom").setTicks([short])

    # Hover --------------------------------------------------------------
    def hover_text(self, x: float) -> str | None:
        """The values nearest to data x, one line per series (what the tooltip shows)."""
        lines, label = [], None
        for name, cur, pts in self._points:
            if not pts:
                continue
            best = min(pts, key=lambda p: abs(p[0] - x))
            if self.kind == CATEGORY and abs(best[0] - x) > 0.5:
                continue
            label = label or (best[2][:10] if self.kind == TIME else best[2])
            lines.append(f"{name}: {_label(best[1], cur)}")
        return f"{label}\n" + "\n".join(lines) if lines else None

    def _on_mouse(self, event) -> None:
        pos = event[0]
        vb = self.plot.getViewBox()
        if not self.plot.sceneBoundingRect().contains(pos) or not self._points:
            self._hover.hide()
            return
        point = vb.mapSceneToView(pos)
        text = self.hover_text(point.x())
        if not text:
            self._hover.hide()
            return
        self._hover.setText(text)
        self._hover.setPos(point.x(), point.y())
        self._hover.show()

    # Export -------------------------------------------------------------
    def render_into(self, painter: QPainter, target: QRectF, *, pixel_width: int = 760, scale: float = 3.0) -> None:
        """Paint the chart into ``target`` (a PDF page area), laid out at ``pixel_width`` screen pixels.

        It goes through an image at ``scale`` times that size: painting the scene
        straight onto a 300 dpi page would scale its point-sized fonts but not
        its pixel geometry, so labels would dwarf the plot.
        """
        height = int(pixel_width * target.height() / max(1.0, target.width()))
        self.resize(pixel_width, height)
        self._hover.hide()
        image = QImage(int(pixel_width * scale), int(height * scale), QImage.Format.Format_ARGB32_Premultiplied)
        image.setDevicePixelRatio(scale)
        image.fill(QColor("white"))
        p = QPainter(image)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        # QGraphicsView.render defaults its target to the device's physical size; give the logical one.
        self.plot_widget.render(p, QRectF(0, 0, pixel_width, height))
        p.end()
        painter.drawImage(target, image)


def chart_for_pdf(series: list[dict], title: str, *, kind: str | None = None,
                  x_label: str = "", y_label: str = "") -> "ChartWidget":
    """An offscreen chart sized for a page; never shown."""
    chart = ChartWidget(title=title, x_label=x_label, y_label=y_label)
    chart.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, True)
    f = QFont()
    f.setPointSize(9)
    chart.plot.getAxis("bottom").setStyle(tickFont=f)
    chart.plot.getAxis("left").setStyle(tickFont=f)
    chart.set_series(series, kind=kind)
    chart.resize(900, 380)
    chart.show()
    return chart


def color(i: int) -> QColor:
    return QColor(PALETTE[i % len(PALETTE)])
