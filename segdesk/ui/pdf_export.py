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

import shiboken6
from PySide6.QtCore import QMarginsF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QImage, QPageLayout, QPageSize, QPainter, QPdfWriter, QPen

from ..core.private import create_private_file, restrict
from ..core.reports.bundle import Bundle, Cover, Section
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
        self.running = ""  # the client's name in the running header, when the cover has one

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
        return self._running_h_of(self.page)

    def _running_header(self) -> None:
        f = _font(7.5)
        if self.p:
            self.p.setFont(f)
            self.p.setPen(MUTED)
            right = self._fm(f).horizontalAdvance(self.date_range) + 4 * self.mm
            left = self._fm(f).elidedText(f"{self.running or 'SegDesk'} · {self.title}", Qt.TextElideMode.ElideRight,
                                          max(0.0, self.width - right))  # never over the date range
            self.p.drawText(QRectF(0, 0, self.width, self._h(f)), Qt.AlignmentFlag.AlignLeft, left)
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

    def _text_h(self, s: str, font: QFont, gap: float) -> float:
        fm = self._fm(font)
        return fm.boundingRect(QRectF(0, 0, self.width, 1e6), int(Qt.TextFlag.TextWordWrap), s).height() \
            + fm.height() * gap

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
            wrap = int(Qt.TextFlag.TextWordWrap)
            label_h = max(self._fm(lf).boundingRect(QRectF(0, 0, inner, 1e6), wrap, label.upper()).height()
                          for label, _ in chunk)  # a long label wraps, never cut
            box = label_h + value_h + 3 * self.mm
            self.ensure(box)
            for i, ((label, value), vf) in enumerate(zip(chunk, fonts)):
                if not self.p:
                    continue
                x = i * w
                self.p.fillRect(QRectF(x + self.mm, self.y, w - 2 * self.mm, box - self.mm), STRIPE)
                self.p.setPen(MUTED)
                self.p.setFont(lf)
                self.p.drawText(QRectF(x + 3 * self.mm, self.y + self.mm, inner, label_h), wrap, label.upper())
                self.p.setPen(INK)
                self.p.setFont(vf)
                for k, line in enumerate(value.split("\n")):
                    shown = self._fm(vf).elidedText(line, Qt.TextElideMode.ElideRight, inner)
                    top = self.y + self.mm + label_h + k * self._h(vf)
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
                # Now, not at the next event loop: a command line has none, and a chart left for
                # interpreter exit can outlive the QApplication (a crash on the way out).
                shiboken6.delete(chart)
        self.y += h + (1 if spec.get("note") else 4) * self.mm
        if spec.get("note"):  # what the chart converted and left out (its caption on screen)
            self.text(spec["note"], _font(7.5), MUTED, gap=0.6)

    def _table_pages(self, head_h: float, heights: list[float], lead: float = 0.0) -> list[list[int]]:
        """Row indexes per page: a table that fits on one page is never split (it starts on the next
        page instead, with its title, ``lead`` high); a longer one leaves at least two rows on every
        page (no orphan or widow row). The header repeats on each page."""
        fresh = self.bottom - self._running_h_of(2) - head_h  # what a later page holds below its header
        here = self.bottom - self.y - head_h - lead
        need = sum(heights)
        if (need > here and need <= fresh - lead) or (sum(heights[:2]) > here and self.y > self._running_h()):
            self.new_page()  # whole on the next page, or not even two rows fit here
            here = fresh - lead
        if not heights:
            return [[]]
        pages, current, room = [], [], here
        for i, h in enumerate(heights):
            if current and h > room:
                pages.append(current)
                current, room = [], fresh
            current.append(i)
            room -= h
        pages.append(current)
        if len(pages) > 1 and len(pages[-1]) < 2:  # a lone last row takes one more from the page before
            pages[-1].insert(0, pages[-2].pop())
        return pages

    def _running_h_of(self, page: int) -> float:
        return 0.0 if page == 1 else self._h(_font(7.5)) * 1.8

    def _row(self, row, cols, widths, font, fm, line_h, pad, row_h, striped) -> None:
        if striped:
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

    def table(self, t: ReportTable, title: str = "") -> None:
        cols = t.columns
        if not cols:
            return
        title_font = _font(10, bold=True)
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

        heights = [line_h * (max(len(v) for v in row) + 0.45) for row in cells]
        lead = self._h(title_font) * 1.3 if title else 0.0
        notes = [f"{c.label}: {c.help}." for c in cols if getattr(c, "help", "")]
        # The notes under a table stay on its last page: planned as part of its last row.
        tail = sum(self._text_h(n, _font(7), 0.1) for n in notes) + (0 if cells else self._text_h("x", _font(8), 0.3))
        plan = heights[:-1] + [heights[-1] + tail] if heights else []
        for n, chunk in enumerate(self._table_pages(head_h, plan, lead)):
            if n:
                self.new_page()
            elif title:  # the title stays with its table
                self.text(title, title_font, gap=0.3)
            header()
            for i in chunk:
                if self.p:
                    self._row(cells[i], cols, widths, font, fm, line_h, pad, heights[i], i % 2 == 1)
                self.y += heights[i]
        if not cells:
            self.text("No rows for these parameters.", _font(8), MUTED)
        for note in notes:  # what a figure divides by is not obvious from its label (README "What the numbers mean")
            self.text(note, _font(7), MUTED, gap=0.1)
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


def load_logo(path: str) -> QImage | None:
    """The cover's logo; FileError naming the file when it is not a picture Qt can read."""
    if not path:
        return None
    image = QImage(str(Path(path).expanduser()))
    if image.isNull():
        raise FileError(f"cannot read the logo {path} (a PNG, JPEG or SVG file)")
    return image


def _cover(layout: _Layout, doc_title: str, cover: Cover, logo: QImage | None) -> None:
    """The first page's top: logo and client name, the title, the range with month names, the day made."""
    top = layout.y
    logo_w = 0.0
    if logo is not None:
        h = 18 * layout.mm
        w = min(60 * layout.mm, h * logo.width() / max(1, logo.height()))
        h = w * logo.height() / max(1, logo.width())
        if layout.p:
            layout.p.drawImage(QRectF(layout.width - w, top, w, h), logo)
        logo_w = w + 4 * layout.mm
    width = layout.width
    layout.width = width - logo_w  # the names wrap beside the logo, never under it
    try:
        if cover.client:
            layout.text(cover.client, _font(22, bold=True), ACCENT, gap=0.15)
        layout.text(doc_title, _font(16 if cover.client else 20, bold=True), gap=0.1)
        layout.text(cover.date_range_full or layout.date_range, _font(11), INK, gap=0.1)
        layout.text(f"Prepared {datetime.now():%d %B %Y}".replace(" 0", " "), _font(8.5), MUTED, gap=0.2)
    finally:
        layout.width = width
    if logo is not None:
        layout.y = max(layout.y, top + 18 * layout.mm + 2 * layout.mm)
    layout.rule()


def _flow(layout: _Layout, doc_title: str, sections: list[Section], cover: Cover, logo: QImage | None) -> None:
    _cover(layout, doc_title, cover, logo)
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
            layout.table(s.table, s.table_title)


def write_pdf(path: str | Path, sections: list[Section], *, title: str = "SegDesk report",
              date_range: str = "All time", cover: Cover | None = None) -> int:
    """Write the PDF; returns its page count. Needs a QApplication (charts are widgets)."""
    cover = cover or Cover()
    logo = load_logo(cover.logo_path)
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
    _flow(measure, title, sections, cover, logo)
    total = measure.pages
    painter = QPainter()
    if not painter.begin(writer):
        raise FileError(f"cannot write {path}")
    try:
        layout = _Layout(writer, painter, title, date_range, total)
        layout.running = cover.client
        _flow(layout, title, sections, cover, logo)
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
    return write_pdf(path, bundle.sections, title=bundle.title, date_range=bundle.date_range, cover=bundle.cover)
