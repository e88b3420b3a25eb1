"""Report series as pyqtgraph charts: lines over time or days, bars over keys.

A series is ``{"name", "points": [(x, y)], "currency"}``. Its kind follows
from its x values: ISO dates make a time axis, other text makes bars per key,
numbers (days after first touch) make a line. Money series carry their
currency; y is in minor units and is shown in major units of that currency.

Reading at a glance (issue 16): currencies never share an axis (one plot per
currency, stacked, each with the currency on its axis; what to draw, converted
into the reporting currency or not, is core's ``chart_view``); a legend beside
the plot that fits (``chart_legend.py``); one colour per group,
the same in every plot; axis numbers with thousands separators; a break-even
line on ROAS charts; month and cohort keys in date order, a current month
marked as partial; a caption that says what was left out ("top 8 of 13") and
why LTV lines end; a message in place of empty axes; colours from the theme.

The same ``ChartWidget`` draws on screen and, resized offscreen, into the
PDF (``render_into``), so the exported chart is the one the user saw.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pyqtgraph as pg
import shiboken6
from PySide6.QtCore import QEvent, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QFont, QImage, QPainter
from PySide6.QtWidgets import QHBoxLayout, QLabel, QStackedWidget, QToolButton, QVBoxLayout, QWidget

from ..core.money import exponent, format_money
from ..core.reports.table import CATEGORY, NUMBER, TIME
from .chart_axes import KeyAxis, ValueAxis
from .chart_legend import SideLegend
from . import qtfix  # pyqtgraph's many void calls (PySide6 6.12.0's None leak) and its cycles
from .plaintext import html_text
from .style import LIGHT, current_colors

# Colour-blind-safe (Okabe-Ito), readable on white and in print; the dark theme swaps black for grey.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]
DARK_PALETTE = PALETTE[:-1] + ["#BBBBBB"]
EMPTY_TEXT = "No data for this period yet. Sync your sources, or widen the date range."
LTV_ENDS = "A line ends where its contacts have not all had that many days since their first touch yet."


def _epoch(x) -> float | None:
    try:
        dt = datetime.fromisoformat(str(x).replace("Z", "+00:00"))
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()


def _month_key(x) -> bool:
    return isinstance(x, str) and len(x) == 7 and _epoch(x + "-01") is not None


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


def current_month() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m")


def is_ratio(series: list[dict]) -> bool:
    """ROAS series (revenue / spend): a ratio, where 1 is break-even."""
    return bool(series) and all(s.get("currency") is None and s["name"].upper().startswith("ROAS") for s in series)


class ChartWidget(QWidget):
    """A titled chart: one plot per currency, a legend that folds away, a caption, values under the mouse."""

    def __init__(self, parent=None, *, title: str = "", x_label: str = "", y_label: str = "") -> None:
        super().__init__(parent)
        qtfix.collect_on_gui_thread()
        self.plot_widget = pg.GraphicsLayoutWidget()
        self.plot_widget.setMinimumHeight(180)
        self.empty_label = QLabel(EMPTY_TEXT)
        self.empty_label.setObjectName("muted")
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        empty_box = QWidget()
        box = QVBoxLayout(empty_box)
        box.addWidget(self.empty_label, 1)
        self.pages = QStackedWidget()
        self.pages.addWidget(self.plot_widget)
        self.pages.addWidget(empty_box)
        self.caption = QLabel()
        self.caption.setObjectName("muted")
        self.caption.setWordWrap(True)
        self.legend_btn = QToolButton()
        self.legend_btn.setCheckable(True)
        self.legend_btn.setChecked(True)
        self.legend_btn.setText("Legend")
        self.legend_btn.setToolTip("Show or hide the legend (more room for the plot on a small screen)")
        self.legend_btn.toggled.connect(self._fold_legend)
        foot = QHBoxLayout()
        foot.setContentsMargins(4, 0, 4, 0)
        foot.addWidget(self.caption, 1)
        foot.addWidget(self.legend_btn, 0, Qt.AlignmentFlag.AlignTop)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.pages, 1)
        layout.addLayout(foot)
        self._title, self._x_label, self._y_label = title, x_label, y_label
        self._note = ""
        self._tick_font: QFont | None = None
        self._fixed_colors: dict[str, str] | None = None  # the PDF's: paper is white whatever the theme
        self.series: list[dict] = []
        self.kind = NUMBER
        self.plots: list[pg.PlotItem] = []
        self.legends: list[pg.LegendItem] = []
        self._retired: list = []  # plots taken out of the scene (see _drop_plots)
        self.break_even: list[pg.InfiniteLine] = []
        self.partial: str | None = None  # the current month, when the chart has it (drawn as partial)
        self._points: list[list[tuple[str, str | None, list[tuple[float, float, str]]]]] = []
        self._hover: pg.TextItem | None = None  # made on the first hover, inside a plot (never an orphan item)
        self._hover_plot: pg.PlotItem | None = None
        self._mouse = pg.SignalProxy(self.plot_widget.scene().sigMouseMoved, rateLimit=30, slot=self._on_mouse)
        self._draw()
        self.empty_label.setText("")  # nothing asked yet: no "no data" while the first answer is on its way

    @property
    def plot(self) -> pg.PlotItem | None:
        """The first plot (the only one unless the chart has several currencies)."""
        return self.plots[0] if self.plots else None

    # Drawing ------------------------------------------------------------
    def set_series(self, series: list[dict], *, title: str | None = None, kind: str | None = None,
                   x_label: str | None = None, note: str | None = None) -> None:
        """Replace what the chart shows. ``kind`` forces line/bar choice; ``note`` says what was left out."""
        self.series = [s for s in series if s.get("points")]
        self.kind = kind or series_kind(self.series)
        if title is not None:
            self._title = title
        if x_label is not None:
            self._x_label = x_label
        if note is not None:
            self._note = note
        self._draw()

    def _draw(self) -> None:
        c = self._fixed_colors or current_colors()
        self._colors = c
        self._palette = DARK_PALETTE if QColor(c["surface"]).lightness() < 128 else PALETTE
        self.plot_widget.setBackground(c["surface"])
        self._drop_plots()
        self._points = []
        self.partial = None
        if not self.series:
            self.empty_label.setText(f"{self._title}\n\n{EMPTY_TEXT}" if self._title else EMPTY_TEXT)
            self.pages.setCurrentIndex(1)
            self.caption.setText("")
            self.legend_btn.hide()
            return
        self.pages.setCurrentIndex(0)
        self.legend_btn.show()
        groups = list(dict.fromkeys(s.get("key", s["name"]) for s in self.series))
        self._group_color = {g: self._palette[i % len(self._palette)] for i, g in enumerate(groups)}
        currencies = list(dict.fromkeys(s.get("currency") for s in self.series))
        for row, cur in enumerate(currencies):
            part = [s for s in self.series if s.get("currency") == cur]
            self._add_plot(row, cur, part, title=self._title if row == 0 else "",
                           last=row == len(currencies) - 1)
        self.caption.setText(self._caption())
        self._fold_legend(self.legend_btn.isChecked())
        # Again once laid out: a legend measured before its labels have their fonts comes out too narrow.
        QTimer.singleShot(0, lambda: shiboken6.isValid(self) and self._fold_legend(self.legend_btn.isChecked()))

    def _drop_plots(self) -> None:
        """Take the plots out of the scene; they live on, hidden, until the widget goes."""
        if self._hover is not None and self._hover_plot is not None:
            self._hover_plot.removeItem(self._hover)
        self._hover = self._hover_plot = None
        self.plot_widget.clear()
        for plot in self.plots:
            # Neither deleted now nor by Qt's deleteLater: both let a paint already queued for the
            # view reach a freed item now and then (a segfault in GraphicsView.paintEvent). Kept,
            # hidden and out of the scene, they go with the widget; a few per redraw is little.
            plot.hide()
        self._retired.extend(self.plots)
        self.plots, self.legends, self.break_even = [], [], []

    def _add_plot(self, row: int, currency: str | None, series: list[dict], *, title: str, last: bool) -> None:
        c = self._colors
        bottom = (pg.DateAxisItem(orientation="bottom") if self.kind == TIME else
                  KeyAxis(orientation="bottom") if self.kind == CATEGORY else pg.AxisItem(orientation="bottom"))
        plot = self.plot_widget.addPlot(row=row, col=0, axisItems={"bottom": bottom, "left": ValueAxis("left")})
        plot.setMenuEnabled(False)
        plot.showGrid(x=True, y=True, alpha=0.2)
        for name in ("left", "bottom"):
            axis = plot.getAxis(name)
            axis.setPen(pg.mkPen(c["muted"]))
            axis.setTextPen(pg.mkPen(c["fg"]))
            axis.enableAutoSIPrefix(False)  # "(x0.001)" beside a money axis only confuses
            if self._tick_font is not None:
                axis.setStyle(tickFont=self._tick_font)
        if title:
            plot.setTitle(html_text(title), color=c["fg"], size="11pt")
            plot.titleLabel.setMinimumWidth(0)  # a long title may be cut; it must not push the legend out of view
        unit = currency.upper() if currency else ("ratio of revenue to spend" if is_ratio(series) else "")
        y_label = f"{self._y_label} ({unit})" if self._y_label and unit else (self._y_label or unit)
        plot.setLabel("left", y_label, color=c["fg"])
        plot.setLabel("bottom", self._x_label if last else "", color=c["fg"])
        # The legend sits beside the plot, not on it: an empty right axis reserves its room.
        plot.showAxis("right")
        margin = plot.getAxis("right")
        margin.setPen(pg.mkPen(None))
        margin.setStyle(showValues=False, tickLength=0)
        if not self.legends:
            # One legend, on the top plot, one entry per group: a group has one colour in every plot.
            legend = SideLegend(plot, (-4, 28 if title else 4), labelTextColor=c["fg"], verSpacing=-6)
            self.legends.append(legend)
            self._in_legend: set[str] = set()
        legend = self.legends[0]
        self.plots.append(plot)
        points = self._draw_bars(plot, legend, series) if self.kind == CATEGORY else self._draw_lines(plot, legend,
                                                                                                        series)
        self._points.append(points)
        if is_ratio(series):
            line = pg.InfiniteLine(pos=1.0, angle=0, pen=pg.mkPen(c["danger"], width=1.5, style=Qt.PenStyle.DashLine),
                                   label="break-even (ROAS 1)",
                                   labelOpts={"color": c["danger"], "position": 0.98, "anchors": [(1, 1), (1, 1)],
                                              "fill": pg.mkBrush(QColor(c["surface"]))})
            plot.addItem(line)
            self.break_even.append(line)

    def _draw_lines(self, plot, legend, series: list[dict]) -> list:
        out = []
        if self.kind == TIME or all(_month_key(s.get("key", "")) for s in series):
            series = sorted(series, key=lambda s: str(s.get("key", s["name"])))  # cohorts in date order
        for s in series:
            cur = s.get("currency")
            pts = []
            for x, y in s["points"]:
                xv = _epoch(x if len(str(x)) > 7 else f"{x}-01") if self.kind == TIME else float(x)
                if xv is not None:
                    pts.append((xv, _y(y, cur), str(x)))
            pts.sort()
            color = self._group_color[s.get("key", s["name"])]
            line = plot.plot([p[0] for p in pts], [p[1] for p in pts], pen=pg.mkPen(color, width=2), name=s["name"],
                             symbol="o", symbolSize=5, symbolBrush=color, symbolPen=None)
            self._legend_entry(legend, line, s, cur)
            if self.kind == TIME and pts and pts[-1][2] == current_month():
                self.partial = current_month()  # its last point is a month still running (days and weeks: the series says)
            out.append((s["name"], cur, pts))
        ys = [p[1] for _n, _c, pts in out for p in pts]
        if self.kind == TIME and ys and min(ys) >= 0:
            plot.setYRange(0, max(ys) * 1.08 or 1.0, padding=0)  # from zero: lines compare at their true size
        return out

    def _draw_bars(self, plot, legend, series: list[dict]) -> list:
        keys: list[str] = []
        for s in self.series:  # every plot gets the same keys, so slots line up between currencies
            for x, _ in s["points"]:
                if str(x) not in keys:
                    keys.append(str(x))
        months = bool(keys) and all(_month_key(k) or _epoch(k) for k in keys)
        if months:
            keys.sort()  # months from several currencies interleave; time reads left to right
            if keys[-1] == current_month():
                self.partial = keys[-1]
        n = max(1, len(series))
        width = 0.8 / n
        out = []
        for i, s in enumerate(series):
            cur = s.get("currency")
            values = {str(x): _y(y, cur) for x, y in s["points"]}
            xs = [k + (i - (n - 1) / 2) * width for k in range(len(keys))]
            ys = [values.get(k, 0.0) for k in keys]
            color = QColor(self._group_color[s.get("key", s["name"])])
            brushes = []
            for k in keys:
                fill = QColor(color)
                if k == self.partial:
                    fill.setAlpha(90)  # a month still running: lighter, and its label says so
                brushes.append(pg.mkBrush(fill))
            bars = pg.BarGraphItem(x=xs, height=ys, width=width * 0.95, brush=pg.mkBrush(color), brushes=brushes,
                                   pen=pg.mkPen(color))
            plot.addItem(bars)
            self._legend_entry(legend, bars, s, cur)
            out.append((s["name"], cur, [(float(k), y, key) for k, (y, key) in enumerate(zip(ys, keys))]))
        tops = [y for _, _, pts in out for _, y, _ in pts] or [0.0]
        top = max(tops) * 1.08 or 1.0
        if is_ratio(series):
            top = max(top, 1.25)  # room above the break-even line for its label
        plot.setYRange(min(0.0, min(tops)), top, padding=0)
        bottom = plot.getAxis("bottom")
        if isinstance(bottom, KeyAxis):
            bottom.set_keys(keys, self.partial)
        return out

    def _legend_entry(self, legend, item, series: dict, currency: str | None) -> None:
        """A group's entry, once; its name without the currency its plot's axis already names."""
        group = str(series.get("key", series["name"]))
        if group in self._in_legend:
            return
        self._in_legend.add(group)
        name = series["name"]
        if currency and name != currency.upper():
            name = name.removesuffix(f" ({currency.upper()})")
        legend.add(item, name)

    def _caption(self) -> str:
        notes = [self._note] if self._note else []
        if self.partial:
            notes.append(f"{self.partial} is still running: its figures are partial.")
        if self.kind == NUMBER and "day" in self._x_label:
            notes.append(LTV_ENDS)
        return " ".join(notes)

    def resizeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().resizeEvent(event)
        if self.legends:  # once the plot has its new height: the legend's columns follow it
            QTimer.singleShot(0, lambda: shiboken6.isValid(self) and self._fold_legend(self.legend_btn.isChecked()))

    def _fold_legend(self, shown: bool) -> None:
        self.legend_btn.setText("Hide legend" if shown else "Show legend")
        if self.legends and self.plots:
            # The legend hangs from the top plot into the right margin every plot keeps: all their height is its.
            height = self.plots[-1].geometry().bottom() - self.plots[0].geometry().top()
            self.legends[0].fit(height, self.plot_widget.width())
        width = int(self.legends[0].boundingRect().width()) + 16 if shown and self.legends else 8
        for legend in self.legends:
            legend.setVisible(shown)
        for plot in self.plots:  # every plot keeps the same right margin, so their x axes line up
            plot.getAxis("right").setWidth(width)
        # The view sizes its plots only when it is resized, to no less than their minimum then: a
        # narrower legend must give its room back now, or the plots stay wider than the view.
        ci = self.plot_widget.ci
        ci.layout.invalidate()
        ci.setGeometry(QRectF(0, 0, self.plot_widget.width(), self.plot_widget.height()))

    def changeEvent(self, event) -> None:  # noqa: N802 (Qt's name)
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.StyleChange) and getattr(self, "_fixed_colors", 1) is None:
            # After the event: apply_theme records its colours only once palette and style sheet are set.
            QTimer.singleShot(0, self._follow_theme)

    def _follow_theme(self) -> None:
        if shiboken6.isValid(self) and getattr(self, "_colors", None) not in (None, current_colors()):
            self._draw()  # the theme changed: redraw in its colours

    # Hover --------------------------------------------------------------
    def hover_text(self, x: float, plot_index: int = 0) -> str | None:
        """The values nearest to data x in one plot, one line per series (what the tooltip shows)."""
        if plot_index >= len(self._points):
            return None
        lines, label = [], None
        for name, cur, pts in self._points[plot_index]:
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
        if self._hover is not None:
            self._hover.hide()
        for i, plot in enumerate(self.plots):
            if not plot.sceneBoundingRect().contains(pos):
                continue
            point = plot.getViewBox().mapSceneToView(pos)
            text = self.hover_text(point.x(), i)
            if not text:
                return
            if self._hover_plot is not plot:
                if self._hover is not None and self._hover_plot is not None:
                    self._hover_plot.removeItem(self._hover)
                c = self._colors
                self._hover = pg.TextItem(color=c["fg"], fill=pg.mkBrush(QColor(c["surface"])),
                                          border=pg.mkPen(c["border"]))
                self._hover.setZValue(100)
                plot.addItem(self._hover, ignoreBounds=True)
                self._hover_plot = plot
            self._hover.setText(text)
            self._hover.setPos(point.x(), point.y())
            self._hover.show()
            return

    # Export -------------------------------------------------------------
    def render_into(self, painter: QPainter, target: QRectF, *, pixel_width: int = 760, scale: float = 3.0) -> None:
        """Paint the chart into ``target`` (a PDF page area), laid out at ``pixel_width`` screen pixels.

        It goes through an image at ``scale`` times that size: painting the scene
        straight onto a 300 dpi page would scale its point-sized fonts but not
        its pixel geometry, so labels would dwarf the plot.
        """
        height = int(pixel_width * target.height() / max(1.0, target.width()))
        self.plot_widget.resize(pixel_width, height)
        if self._hover is not None:
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
    """An offscreen chart sized for a page, in the light theme's colours (paper is white); never shown."""
    chart = ChartWidget(title=title, x_label=x_label, y_label=y_label)
    chart.setAttribute(Qt.WidgetAttribute.WA_DontShowOnScreen, True)
    f = QFont()
    f.setPointSize(9)
    chart._tick_font = f
    chart._fixed_colors = LIGHT
    chart.set_series(series, kind=kind)
    chart.resize(900, 380)
    chart.show()
    return chart


def color(i: int) -> QColor:
    return QColor(PALETTE[i % len(PALETTE)])
