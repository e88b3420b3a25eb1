"""Reports as a paginated PDF with Qt's own writer (QPdfWriter + QPainter).

A document is a list of :class:`Section` (a report's title, its parameters,
headline figures, charts and table). Layout runs in two passes: the first
measures every block and breaks pages, the second paints, so each footer can
say "page n of N" and a table cut by a page break repeats its header row.
Charts are the app's own pyqtgraph charts painted as vectors.

What a PDF holds (sections of figures, chart series and tables) is built
without Qt in ``core/reports/bundle.py``; this module only paints it. The
app calls :func:`write_pdf`; ``segdesk export pdf`` calls
:func:`write_bundle`, which also makes an offscreen QApplication when the
command line has none (no display needed).
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QMarginsF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPageLayout, QPageSize, QPainter, QPdfWriter, QPen

from ..core.private import create_private_file, restrict
from ..core.reports.bundle import Bundle, Section
from ..core.reports.model import TEXT
from ..core.reports.table import ReportTable, format_cell
from ..errors import FileError

DPI = 300
MARGIN_MM = 15
INK, MUTED, RULE, STRIPE, ACCENT = QColor("#1a1a1a"), QColor("#666"), QColor("#bbb"), QColor("#f2f5f9"), QColor("#0072B2")


def _font(pt: float, bold: bool = False) -> QFont:
    f = QFont("DejaVu Sans")
    f.setPointSizeF(pt)
    f.setBold(bold)
    return f


class _Layout:
    """Places blocks on pages; without a painter it only measures (the first pass, which counts pages)."""

    def __init__(self, writer: QPdfWriter, painter: QPainter | None, title: str, date_range: str, total: int = 0):
        self.writer, self.p, self.title, self.date_range, self.total = writer, painter, title, date_range, total
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
            self.footer()
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

    def footer(self) -> None:
        f = _font(7.5)
        self.p.setFont(f)
        self.p.setPen(MUTED)
        r = QRectF(0, self.height - self._h(f), self.width, self._h(f))
        self.p.drawText(r, Qt.AlignmentFlag.AlignRight, f"Page {self.page} of {self.total}")
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
        """Headline figures in boxes; a money figure has one line per currency."""
        per_row = min(5, max(1, len(items)))
        w = self.width / per_row
        inner = w - 6 * self.mm
        lf = _font(7.5)
        for start in range(0, len(items), per_row):
            chunk = items[start:start + per_row]
            fonts = [_fit_font(self, value.split("\n"), inner) for _, value in chunk]
            lines = max(len(value.split("\n")) for _, value in chunk)
            value_h = max(self._h(f) for f in fonts) * lines
            box = self._h(lf) + value_h + 3 * self.mm
            self.ensure(box)
            for i, ((label, value), vf) in enumerate(zip(chunk, fonts)):
                if not self.p:
                    continue
                x = i * w
                self.p.fillRect(QRectF(x + self.mm, self.y, w - 2 * self.mm, box - self.mm), STRIPE)
                self.p.setPen(MUTED)
                self.p.setFont(lf)
                label = self._fm(lf).elidedText(label.upper(), Qt.TextElideMode.ElideRight, inner)
                self.p.drawText(QRectF(x + 3 * self.mm, self.y + self.mm, inner, self._h(lf)), 0, label)
                self.p.setPen(INK)
                self.p.setFont(vf)
                for k, line in enumerate(value.split("\n")):
                    shown = self._fm(vf).elidedText(line, Qt.TextElideMode.ElideRight, inner)
                    top = self.y + self.mm + self._h(lf) + k * self._h(vf)
                    self.p.drawText(QRectF(x + 3 * self.mm, top, inner, self._h(vf)), 0, shown)
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
        currencies = t.currencies()
        # A cell with several currencies gets one line per currency rather than one long elided line.
        cells = [[format_cell(r.get(c.key), c.kind, currencies).split("  ") for c in cols] for r in t.rows]
        font, head, widths = _fit_columns(self, cols, cells)
        fm, hfm = self._fm(font), self._fm(head)
        pad = 1.5 * self.mm
        flags = int(Qt.TextFlag.TextWordWrap)
        heads = [hfm.boundingRect(QRectF(0, 0, w - 2 * pad, 1e6), flags, c.label).height() for c, w in zip(cols, widths)]
        head_h = max(heads) + hfm.height() * 0.6
        line_h = fm.height()

        def header():
            if self.p:
                self.p.fillRect(QRectF(0, self.y, self.width, head_h), QColor("#e3e9f0"))
                self.p.setFont(head)
                self.p.setPen(INK)
                x = 0.0
                for c, w in zip(cols, widths):
                    align = Qt.AlignmentFlag.AlignLeft if c.kind == TEXT else Qt.AlignmentFlag.AlignRight
                    self.p.drawText(QRectF(x + pad, self.y, w - 2 * pad, head_h),
                                    int(align | Qt.AlignmentFlag.AlignVCenter) | flags, c.label)
                    x += w
            self.y += head_h

        self.ensure(head_h + line_h * 1.45 * min(3, max(1, len(cells))))
        header()
        for n, row in enumerate(cells):
            row_h = line_h * (max(len(v) for v in row) + 0.45)
            if self.y + row_h > self.bottom:
                self.new_page()
                header()
            if self.p:
                if n % 2:
                    self.p.fillRect(QRectF(0, self.y, self.width, row_h), STRIPE)
                self.p.setFont(font)
                self.p.setPen(INK)
                x = 0.0
                for c, w, lines in zip(cols, widths, row):
                    align = Qt.AlignmentFlag.AlignLeft if c.kind == TEXT else Qt.AlignmentFlag.AlignRight
                    for k, line in enumerate(lines):
                        shown = fm.elidedText(line, Qt.TextElideMode.ElideRight, w - 2 * pad)
                        self.p.drawText(QRectF(x + pad, self.y + line_h * (0.225 + k), w - 2 * pad, line_h),
                                        int(align | Qt.AlignmentFlag.AlignVCenter), shown)
                    x += w
            self.y += row_h
        if not cells:
            self.text("No rows for these parameters.", _font(8), MUTED)
        for c in cols:  # what a figure divides by is not obvious from its label (README "What the numbers mean")
            if getattr(c, "help", ""):
                self.text(f"{c.label}: {c.help}.", _font(7), MUTED, gap=0.1)
        if self.p:
            self.p.setPen(QPen(RULE, 0.2 * self.mm))
            self.p.drawLine(0, int(self.y), int(self.width), int(self.y))
        self.y += 5 * self.mm


def _fit_font(layout: _Layout, lines: list[str], width: float) -> QFont:
    for pt in (13, 11, 9.5, 8):
        f = _font(pt, bold=True)
        if max(layout._fm(f).horizontalAdvance(line) for line in lines) <= width:
            break
    return f


def _fit_columns(layout: _Layout, cols, cells) -> tuple[QFont, QFont, list[float]]:
    """The largest of 8.5/7.5/6.5 pt at which the cells fit across the page, and the column widths.

    A header may wrap at its words; a cell's lines may not. When even 6.5 pt is too
    wide, text columns give up room first (their cells are elided), numbers keep theirs.
    """
    pad = 3 * layout.mm
    sample = cells[:300]
    for pt in (8.5, 7.5, 6.5):
        font, head = _font(pt), _font(pt, bold=True)
        fm, hfm = QFontMetricsF(font, layout.writer), QFontMetricsF(head, layout.writer)
        natural = []
        for i, c in enumerate(cols):
            word = max(hfm.horizontalAdvance(w) for w in c.label.split() or [""])
            natural.append(max([word] + [fm.horizontalAdvance(line) for row in sample for line in row[i]]) + pad)
        if sum(natural) <= layout.width:
            break
    spare = layout.width - sum(natural)
    if spare < 0:
        text = [i for i, c in enumerate(cols) if c.kind == TEXT]
        shrinkable = sum(natural[i] - 12 * layout.mm for i in text if natural[i] > 12 * layout.mm)
        for i in text:
            if natural[i] > 12 * layout.mm and shrinkable > 0:
                natural[i] -= min(-spare, shrinkable) * (natural[i] - 12 * layout.mm) / shrinkable
        scale = min(1.0, layout.width / sum(natural))
        natural = [w * scale for w in natural]
    else:
        natural = [w + spare / len(natural) for w in natural] if spare < layout.width * 0.4 else natural
    return font, head, natural


def _flow(layout: _Layout, doc_title: str, sections: list[Section]) -> None:
    layout.text(doc_title, _font(20, bold=True), gap=0.1)
    layout.text(layout.date_range, _font(10), MUTED, gap=0.2)
    layout.rule()
    for i, s in enumerate(sections):
        if i and layout.y > layout.height * 0.55:
            layout.new_page()  # a section starts high on a page rather than squeezed at the bottom
        layout.text(s.title, _font(14, bold=True), ACCENT, gap=0.15)
        if s.subtitle and s.subtitle != layout.date_range:
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
    folder = Path(path).resolve().parent
    if not folder.is_dir():
        raise FileError(f"cannot write {path}: no folder {folder}")
    # A report names customers and their revenue: owner-only before Qt writes into it.
    try:
        create_private_file(Path(path))
        restrict(Path(path))
    except OSError as exc:
        raise FileError(f"cannot write {path}: {exc.strerror or exc}") from None
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
        raise FileError(f"cannot write {path}")
    try:
        layout = _Layout(writer, painter, title, date_range, total)
        _flow(layout, title, sections)
        layout.footer()
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


def write_bundle(path: str | Path, bundle: Bundle) -> int:
    """Paint core's report bundle (``core/reports/bundle.py``) into a PDF, with or without a display."""
    ensure_app()
    return write_pdf(path, bundle.sections, title=bundle.title, date_range=bundle.date_range)
