"""Reports as a paginated PDF with Qt's own writer (QPdfWriter + QPainter).

A document is a list of :class:`Section` (a report's title, its parameters,
headline figures, charts and table). Layout runs in two passes: the first
measures every block and breaks pages, the second paints, so each footer can
say "page n of N" and a table cut by a page break repeats its header row.
Charts are the app's own pyqtgraph charts painted as vectors.

The app calls :func:`write_pdf`; ``segdesk export pdf`` calls
:func:`export_reports`, which also makes an offscreen QApplication when the
command line has none (no display needed).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QMarginsF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPageLayout, QPageSize, QPainter, QPdfWriter, QPen

from .report_table_model import TEXT, ReportTable, format_cell, range_text

DPI = 300
MARGIN_MM = 15
INK, MUTED, RULE, STRIPE, ACCENT = QColor("#1a1a1a"), QColor("#666"), QColor("#bbb"), QColor("#f2f5f9"), QColor("#0072B2")


@dataclass
class Section:
    title: str
    subtitle: str = ""
    figures: list[tuple[str, str]] = field(default_factory=list)
    charts: list[dict] = field(default_factory=list)  # {"title", "series", "kind"?}
    table: ReportTable | None = None
    table_title: str = ""


def section_of(report, *, subtitle: str = "", chart_title: str = "", kind: str | None = None) -> Section:
    """One report as a section: its chart (when it has series) above its table."""
    from .charts import chart_series, chart_x_label
    from .charts import chart_title as default_chart_title

    t = ReportTable.of(report)
    series = chart_series(t)
    charts = [{"title": chart_title or default_chart_title(t), "series": series, "kind": kind,
               "x_label": chart_x_label(t)}] if series else []
    if not subtitle:
        subtitle = " · ".join(x for x in [describe(t.parameters), range_text(t.parameters)] + t.notes if x)
    return Section(title=t.title, subtitle=subtitle, charts=charts, table=t)


def describe(params: dict) -> str:
    """Parameters as one readable line ("model: linear · lookback: 90 days")."""
    parts = []
    for k, v in params.items():
        if v in (None, "", [], {}) or k in ("since", "until", "timezone", "name"):
            continue
        if k in ("lookback_days", "lookback"):
            v = f"{v} days"
        parts.append(f"{k.replace('_', ' ')}: {v}")
    return " · ".join(parts)


def _font(pt: float, bold: bool = False) -> QFont:
    f = QFont("DejaVu Sans")
    f.setPointSizeF(pt)
    f.setBold(bold)
    return f


class _Layout:
    """Places blocks on pages; ``paint=False`` only measures (the first pass)."""

    def __init__(self, writer: QPdfWriter, painter: QPainter | None, title: str, date_range: str):
        self.writer, self.p, self.title, self.date_range = writer, painter, title, date_range
        rect = writer.pageLayout().paintRectPixels(writer.resolution())
        self.width, self.height = float(rect.width()), float(rect.height())
        self.footer_h = self._h(_font(7.5)) * 2
        self.page, self.y, self.pages = 1, 0.0, 1
        self.mm = writer.resolution() / 25.4

    def _fm(self, font: QFont) -> QFontMetricsF:
        return QFontMetricsF(font, self.writer)

    def _h(self, font: QFont) -> float:
        return self._fm(font).height()

    @property
    def bottom(self) -> float:
        return self.height - self.footer_h

    def new_page(self) -> None:
        if self.p:
            self.writer.newPage()
        self.page += 1
        self.pages = max(self.pages, self.page)
        self.y = 0.0
        self._running_header()

    def ensure(self, h: float) -> None:
        if self.y + h > self.bottom and self.y > self._running_h():
            self.new_page()

    def _running_h(self) -> float:
        return 0.0 if self.page == 1 else self._h(_font(7.5)) * 1.8

    def _running_header(self) -> None:
        f = _font(7.5)
        if self.p:
            self.p.setFont(f)
            self.p.setPen(MUTED)
            self.p.drawText(QRectF(0, 0, self.width, self._h(f)), Qt.AlignmentFlag.AlignLeft, f"SegDesk · {self.title}")
            self.p.drawText(QRectF(0, 0, self.width, self._h(f)), Qt.AlignmentFlag.AlignRight, self.date_range)
        self.y = self._running_h()

    def footer(self, total: int) -> None:
        f = _font(7.5)
        self.p.setFont(f)
        self.p.setPen(MUTED)
        r = QRectF(0, self.height - self._h(f), self.width, self._h(f))
        self.p.drawText(r, Qt.AlignmentFlag.AlignRight, f"Page {self.page} of {total}")
        self.p.drawText(r, Qt.AlignmentFlag.AlignLeft, f"Generated {datetime.now():%Y-%m-%d %H:%M}")

    def text(self, s: str, font: QFont, color: QColor = INK, gap: float = 0.3) -> None:
        fm = self._fm(font)
        r = fm.boundingRect(QRectF(0, 0, self.width, 1e6), int(Qt.TextFlag.TextWordWrap), s)
        self.ensure(r.height())
        if self.p:
            self.p.setFont(font)
            self.p.setPen(color)
            self.p.drawText(QRectF(0, self.y, self.width, r.height()), int(Qt.TextFlag.TextWordWrap), s)
        self.y += r.height() + fm.height() * gap

    def rule(self, color: QColor = ACCENT, weight_mm: float = 0.5) -> None:
        if self.p:
            self.p.setPen(QPen(color, weight_mm * self.mm))
            self.p.drawLine(0, int(self.y), int(self.width), int(self.y))
        self.y += 3 * self.mm

    def figures(self, items: list[tuple[str, str]]) -> None:
        per_row = min(5, max(1, len(items)))
        w = self.width / per_row
        lf, vf = _font(7.5), _font(13, bold=True)
        box = self._h(lf) + self._h(vf) * 1.2 + 3 * self.mm
        for start in range(0, len(items), per_row):
            self.ensure(box)
            for i, (label, value) in enumerate(items[start:start + per_row]):
                if self.p:
                    x = i * w
                    self.p.fillRect(QRectF(x + self.mm, self.y, w - 2 * self.mm, box - self.mm), STRIPE)
                    self.p.setPen(MUTED)
                    self.p.setFont(lf)
                    self.p.drawText(QRectF(x + 3 * self.mm, self.y + self.mm, w - 6 * self.mm, self._h(lf)), 0, label.upper())
                    self.p.setPen(INK)
                    # Several currencies make long values: shrink to fit before eliding.
                    value = value.replace("\n", ", ")
                    for pt in (13, 10.5, 8.5, 7):
                        f = _font(pt, bold=True)
                        if self._fm(f).horizontalAdvance(value) <= w - 6 * self.mm:
                            break
                    self.p.setFont(f)
                    shown = self._fm(f).elidedText(value, Qt.TextElideMode.ElideRight, w - 6 * self.mm)
                    self.p.drawText(QRectF(x + 3 * self.mm, self.y + self.mm + self._h(lf), w - 6 * self.mm, self._h(vf) * 1.2),
                                    int(Qt.AlignmentFlag.AlignVCenter), shown)
            self.y += box + 2 * self.mm

    def chart(self, spec: dict) -> None:
        h = self.width * 0.42
        self.ensure(h)
        if self.p:
            from .charts import chart_for_pdf

            chart = chart_for_pdf(spec["series"], spec.get("title", ""), kind=spec.get("kind"),
                                  x_label=spec.get("x_label", ""))
            try:
                chart.render_into(self.p, QRectF(0, self.y, self.width, h))
            finally:
                chart.close()
                chart.deleteLater()
        self.y += h + 4 * self.mm

    def table(self, t: ReportTable) -> None:
        cols = t.columns
        if not cols:
            return
        font, head = _table_fonts(self, t)
        fm, hfm = self._fm(font), self._fm(head)
        pad = 1.5 * self.mm
        currencies = t.currencies()
        cells = [[format_cell(r.get(c.key), c.kind, currencies) for c in cols] for r in t.rows]
        natural = [max([hfm.horizontalAdvance(c.label)] + [fm.horizontalAdvance(row[i]) for row in cells]) + 2 * pad
                   for i, c in enumerate(cols)]
        scale = min(1.0, self.width / sum(natural))
        widths = [w * scale for w in natural]
        row_h, head_h = fm.height() * 1.45, hfm.height() * 1.6

        def header():
            if self.p:
                self.p.fillRect(QRectF(0, self.y, self.width, head_h), QColor("#e3e9f0"))
                self.p.setFont(head)
                self.p.setPen(INK)
                x = 0.0
                for c, w in zip(cols, widths):
                    align = Qt.AlignmentFlag.AlignLeft if c.kind == TEXT else Qt.AlignmentFlag.AlignRight
                    label = hfm.elidedText(c.label, Qt.TextElideMode.ElideRight, w - 2 * pad)
                    self.p.drawText(QRectF(x + pad, self.y, w - 2 * pad, head_h), int(align | Qt.AlignmentFlag.AlignVCenter), label)
                    x += w
            self.y += head_h

        self.ensure(head_h + row_h * min(3, max(1, len(cells))))
        header()
        for n, row in enumerate(cells):
            if self.y + row_h > self.bottom:
                self.new_page()
                header()
            if self.p:
                if n % 2:
                    self.p.fillRect(QRectF(0, self.y, self.width, row_h), STRIPE)
                self.p.setFont(font)
                self.p.setPen(INK)
                x = 0.0
                for c, w, value in zip(cols, widths, row):
                    align = Qt.AlignmentFlag.AlignLeft if c.kind == TEXT else Qt.AlignmentFlag.AlignRight
                    shown = fm.elidedText(value, Qt.TextElideMode.ElideRight, w - 2 * pad)
                    self.p.drawText(QRectF(x + pad, self.y, w - 2 * pad, row_h), int(align | Qt.AlignmentFlag.AlignVCenter), shown)
                    x += w
            self.y += row_h
        if not cells:
            self.text("No rows for these parameters.", _font(8), MUTED)
        if self.p:
            self.p.setPen(QPen(RULE, 0.2 * self.mm))
            self.p.drawLine(0, int(self.y), int(self.width), int(self.y))
        self.y += 5 * self.mm


def _table_fonts(layout: _Layout, t: ReportTable) -> tuple[QFont, QFont]:
    """The largest of 8.5/7.5/6.5 pt at which the table's widest cells fit across the page."""
    cur = t.currencies()
    for pt in (8.5, 7.5, 6.5):
        font = _font(pt)
        fm = QFontMetricsF(font, layout.writer)
        need = sum(max([fm.horizontalAdvance(c.label)] + [fm.horizontalAdvance(format_cell(r.get(c.key), c.kind, cur))
                                                            for r in t.rows[:200]]) + 3 * layout.mm for c in t.columns)
        if need <= layout.width:
            break
    return font, _font(pt, bold=True)


def _flow(layout: _Layout, doc_title: str, sections: list[Section]) -> None:
    layout.text(doc_title, _font(20, bold=True), gap=0.1)
    layout.text(layout.date_range, _font(10), MUTED, gap=0.2)
    layout.rule()
    for i, s in enumerate(sections):
        if i and layout.y > layout.height * 0.55:
            layout.new_page()  # a section starts high on a page rather than squeezed at the bottom
        layout.text(s.title, _font(14, bold=True), ACCENT, gap=0.15)
        if s.subtitle:
            layout.text(s.subtitle, _font(8.5), MUTED, gap=0.6)
        if s.figures:
            layout.figures(s.figures)
        for spec in s.charts:
            layout.chart(spec)
        if s.table is not None:
            if s.table_title:
                layout.text(s.table_title, _font(10, bold=True), gap=0.3)
            layout.table(s.table)


def write_pdf(path: str | Path, sections: list[Section], *, title: str = "SegDesk report",
              date_range: str = "All time") -> int:
    """Write the PDF; returns its page count. Needs a QApplication (charts are widgets)."""
    writer = QPdfWriter(str(path))
    writer.setResolution(DPI)
    writer.setTitle(title)
    writer.setCreator("SegDesk")
    writer.setPageLayout(QPageLayout(QPageSize(QPageSize.PageSizeId.A4), QPageLayout.Orientation.Portrait,
                                     QMarginsF(MARGIN_MM, MARGIN_MM, MARGIN_MM, MARGIN_MM), QPageLayout.Unit.Millimeter))
    measure = _Layout(writer, None, title, date_range)
    _flow(measure, title, sections)
    total = measure.pages
    painter = QPainter()
    if not painter.begin(writer):
        raise OSError(f"cannot write {path}")
    try:
        layout = _Layout(writer, painter, title, date_range)
        original_new_page = layout.new_page

        def new_page_with_footer():
            layout.footer(total)
            original_new_page()

        layout.new_page = new_page_with_footer
        _flow(layout, title, sections)
        layout.footer(total)
    finally:
        painter.end()
    return total


def ensure_app():
    """The running QApplication, or a new offscreen one for a command line without a display."""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
            os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        app = QApplication(["segdesk-export"])
    return app


REPORT_DEFAULTS = {"ltv": {"by": "source"}, "attribution": {"by": "source", "model": "linear", "lookback_days": 90},
                   "roas": {"by": "source"}, "summary": {}}


def export_reports(ws, out: str | Path, names=(), **params) -> int:
    """``segdesk export pdf``: the dashboard bundle (no names) or the named reports; returns pages.

    ``params`` (by, model, lookback_days, since, until) apply to the reports that take them.
    """
    from .dashboard_view import dashboard_sections, load_dashboard
    from .report_table_model import build_report

    ensure_app()
    given = {k: v for k, v in params.items() if v not in (None, "")}
    rng = {k: given[k] for k in ("since", "until") if k in given}
    sections: list[Section] = []
    for name in names or ["dashboard"]:
        if name == "dashboard":
            sections += dashboard_sections(load_dashboard(ws.conn, rng.get("since"), rng.get("until")))
            continue
        if name not in REPORT_DEFAULTS:
            raise ValueError(f"unknown report '{name}' (choose from dashboard, {', '.join(REPORT_DEFAULTS)})")
        p = {**REPORT_DEFAULTS[name], **{k: v for k, v in given.items() if k in REPORT_DEFAULTS[name]}, **rng}
        sections.append(section_of(build_report(ws.conn, name, **p)))
    title = "SegDesk dashboard" if list(names) in ([], ["dashboard"]) else f"SegDesk: {sections[0].title}" \
        if len(sections) == 1 else "SegDesk reports"
    return write_pdf(out, sections, title=title, date_range=range_text(rng))
