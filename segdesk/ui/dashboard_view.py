"""The Dashboard: today's numbers for a date range, two charts and the campaign table.

What it shows is core's (``core/reports/dashboard.py``: three parts, each a
plain function of a read connection, run at once on the reader pool); the
widget only paints the answers as they arrive.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (QCheckBox, QFileDialog, QFrame, QGridLayout, QHBoxLayout, QLabel,
                               QMessageBox, QPushButton, QSplitter, QVBoxLayout, QWidget)

from ..core.reports.bundle import dashboard_sections
from ..core.reports.dashboard import (FIGURES, MONEY_FIGURES, PARTS, figure_text, figure_tooltip, trend_title,
                                         trend_x_label)
from ..core.reports.glossary import explain
from ..core.reports.table import range_text
from ..errors import InvalidInput, SegDeskError
from .charts import ChartWidget
from .plaintext import as_text, brief_notes, plain_label, sentences
from .range_picker import RangePicker
from .campaign_table import CampaignTableModel
from .report_table_model import fit_columns, make_table_view, when_done

class DashboardView(QWidget):
    """Part A embeds this; ``export_pdf_action()`` exports the dashboard bundle."""

    loaded = Signal(object)
    failed = Signal(str)

    def __init__(self, ctx, parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.data: dict | None = None
        self._generation = 0
        self._jobs: list = []
        self._pending: dict = {}
        layout = QVBoxLayout(self)
        layout.addLayout(self._range_row())
        layout.addLayout(self._figure_cards())
        self.trend_chart = ChartWidget(title="Revenue and ad spend")
        self.trend_chart.setToolTip("Revenue (net of refunds) of the orders made in each period, and ad spend "
                                    "on its days, both in the reporting currency")
        self.ltv_chart = ChartWidget(title="LTV by first-touch source", x_label="days after first touch")
        self.ltv_chart.setToolTip(explain("ltv_at_days"))
        charts = QSplitter(Qt.Orientation.Horizontal)
        charts.addWidget(self.trend_chart)
        charts.addWidget(self.ltv_chart)
        self.campaigns = CampaignTableModel(self)
        self.campaign_table = make_table_view(self.campaigns)
        self.campaign_table.doubleClicked.connect(lambda idx: self.drill_down(idx.row()))
        table_box = QWidget()
        table_layout = QVBoxLayout(table_box)
        table_layout.setContentsMargins(0, 4, 0, 0)
        heading = QLabel("<b>Campaigns</b>: what each source and campaign cost and brought "
                         "(hover a figure for its original currencies)")
        heading.setWordWrap(True)
        table_layout.addWidget(heading)
        table_layout.addWidget(self.campaign_table)
        self.campaign_notes = plain_label("")
        self.campaign_notes.setWordWrap(True)
        self.campaign_notes.setStyleSheet("color: palette(mid);")
        table_layout.addWidget(self.campaign_notes)
        body = QSplitter(Qt.Orientation.Vertical)
        body.addWidget(charts)
        body.addWidget(table_box)
        body.setSizes([330, 270])  # on a 700-pixel screen the table keeps a few rows in view
        layout.addWidget(body, 1)
        self.status = plain_label("")
        self.status.setStyleSheet("color: palette(mid);")
        layout.addWidget(self.status)
        self._stale = False
        ctx.dataChanged.connect(self._on_data_changed)
        # 90 days: recent enough for "today", old enough for the LTV curve to have 30- and 60-day points.
        self.set_preset(90)

    def _range_row(self) -> QHBoxLayout:
        self.range = RangePicker(initial=90)
        self.range.changed.connect(self.refresh)
        pdf = QPushButton("Export PDF…")
        pdf.clicked.connect(self._ask_pdf)
        self.originals = QCheckBox("Original currencies")
        self.originals.setToolTip("Show the money figures in the currencies they were paid in, not converted")
        self.originals.toggled.connect(self._show_figures)
        self.originals.toggled.connect(self._show_ltv)
        row = QHBoxLayout()
        row.addWidget(self.range)
        row.addStretch(1)
        row.addWidget(self.originals)
        row.addWidget(pdf)
        return row

    def _figure_cards(self) -> QGridLayout:
        grid = QGridLayout()
        self.figures: dict[str, QLabel] = {}
        self.cards: dict[str, QFrame] = {}
        self.changes: dict[str, QLabel] = {}
        for col, (key, label) in enumerate(FIGURES):
            card = QFrame()
            card.setFrameShape(QFrame.Shape.StyledPanel)
            box = QVBoxLayout(card)
            title = QLabel(label.upper())
            title.setStyleSheet("color: palette(mid); font-size: 9pt;")
            value = plain_label("—")
            value.setStyleSheet("font-size: 16pt; font-weight: 600;")
            value.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            change = plain_label("")  # against the previous period, with its trend (core compare.py)
            change.setStyleSheet("color: palette(mid); font-size: 9pt;")
            box.addWidget(title)
            box.addWidget(value)
            card.setToolTip(explain(key))  # the same words as the report columns' headers
            self.cards[key] = card
            box.addWidget(change)
            self.figures[key] = value
            self.changes[key] = change
            grid.addWidget(card, 0, col)
        return grid

    def _on_data_changed(self, changes) -> None:
        if not getattr(changes, "reports", True):
            return
        if self.isVisible():
            self.refresh()
        else:
            self._stale = True  # rebuilt when the page shows again, not on every background sync

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._stale:
            self._stale = False
            self.refresh()

    # Range --------------------------------------------------------------
    def set_preset(self, days: int | None) -> None:
        self.range.set_preset(days)

    def set_range(self, since: str | None, until: str | None) -> None:
        """A custom range by ISO dates (None: open-ended)."""
        self.range.set_range(since, until)

    def date_range(self) -> tuple[str | None, str | None]:
        return self.range.date_range()

    # Loading ------------------------------------------------------------
    def refresh(self) -> None:
        """Three queries at once; each part of the page fills in as its answer arrives."""
        self._generation += 1
        gen = self._generation
        since, until = self.date_range()
        for job in self._jobs:
            if not job.done:
                job.cancel()
        self.status.setText("Loading…")
        self._pending = {"since": since, "until": until}
        self._jobs = []
        for part in PARTS:
            job = self.ctx.read(lambda conn, progress, part=part: part(conn, since, until), f"dashboard {part.__name__}")
            self._jobs.append(job)
            when_done(job, lambda data: self._show_part(gen, data),
                      lambda reason: gen == self._generation and self._fail(reason))

    def _fail(self, reason: str) -> None:
        self.status.setText(f"Could not load the dashboard: {reason}")
        self.failed.emit(reason)

    def _show_part(self, gen: int, data: dict) -> None:
        if gen != self._generation:
            return
        self._pending.update(data)
        if "figures" in data:
            self._show_figures()
            self.trend_chart.set_series(data["trend_series"], title=trend_title(data), x_label=trend_x_label(data),
                                        note=sentences(data["trend_notes"]))
        if "changes" in data:
            for key, label in self.changes.items():
                text = "  ".join(x for x in (data["changes"].get(key, ""), data["trends"].get(key, "")) if x)
                label.setText(text)
                label.setToolTip(f"against {data['compared_with']}" if data.get("compared_with") else "")
        if "ltv_series" in data:
            self._show_ltv()
        if "campaigns" in data:
            self.campaigns.set_report(data["campaigns"])
            fit_columns(self.campaign_table)
            notes = self.campaigns.table.notes if self.campaigns.table else []
            self.campaign_notes.setText(brief_notes(notes))
            self.campaign_notes.setToolTip(as_text(sentences(notes)))
        if all(k in self._pending for k in ("figures", "ltv_series", "campaigns")):
            self.data = self._pending
            self.status.setText(range_text(self.data))
            self.loaded.emit(self.data)

    def _show_figures(self) -> None:
        """The tiles in the reporting currency (a mark where a rate is missing), or in the originals."""
        data = self._pending
        if "figures" not in data:
            return
        originals = self.originals.isChecked()
        for key, label in self.figures.items():
            if originals:
                label.setText(figure_text(key, data["originals"].get(key)))
            else:
                label.setText(figure_text(key, data["figures"].get(key), data["unconverted"].get(key)))
            tip = figure_tooltip(data, key)
            label.setToolTip(as_text(tip))
            self.cards[key].setToolTip(as_text("\n\n".join(x for x in (explain(key), tip) if x)))
        money = ", ".join(label for key, label in FIGURES if key in MONEY_FIGURES)
        self.originals.setToolTip(f"{money} and the LTV curves: in the currencies they were paid in, not "
                                  f"converted into {data['currency'].upper()}")

    def _show_ltv(self) -> None:
        """The LTV curves in the reporting currency, or one plot per original currency when ticked."""
        data = self._pending
        if "ltv_series" not in data:
            return
        if self.originals.isChecked():
            self.ltv_chart.set_series(data["ltv_originals"]["series"], note=data["ltv_originals"]["note"])
        else:
            self.ltv_chart.set_series(data["ltv_series"], note=data["ltv_note"])

    def drill_down(self, view_row: int):
        """The contacts and orders behind a campaign row (the Reports page's dialog)."""
        from .drill_dialog import DrillDownDialog

        table = self.campaigns.table
        if table is None or not 0 <= view_row < self.campaigns.rowCount():
            return None
        self._drill = DrillDownDialog(self.ctx, "campaigns", dict(table.parameters), self.campaigns.row_key(view_row), self)
        self._drill.show()
        return self._drill

    # Export -------------------------------------------------------------
    def export_pdf(self, path: str) -> int:
        from .pdf_export import write_pdf

        if self.data is None:
            raise InvalidInput("the dashboard has not loaded yet")
        from .export_done import cover_for

        return write_pdf(path, dashboard_sections(self.data), title="SegDesk dashboard", date_range=range_text(self.data),
                         cover=cover_for(self.ctx, self.data))

    def _ask_pdf(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export dashboard as PDF", "dashboard.pdf", "PDF files (*.pdf)")
        if path:
            try:
                pages = self.export_pdf(path)
            except SegDeskError as exc:  # anything else is a bug: Qt's excepthook prints its traceback
                QMessageBox.warning(self, "Export failed", as_text(str(exc)))
                return
            from .export_done import show_export_done

            self.export_note = show_export_done(self, path, pages)

    def export_pdf_action(self, parent=None) -> QAction:
        action = QAction("Export Dashboard as PDF…", parent or self)
        action.triggered.connect(self._ask_pdf)
        return action
