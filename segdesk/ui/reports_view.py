"""The Reports page: the campaign table (first), LTV, attribution and ROAS as a chart over a sortable table.

Every query runs on the context's reader pool; only the newest request's
answer is shown (a model switch while a query runs must not flash old
numbers). Double-clicking a row opens the contacts and orders behind it.
"""

from __future__ import annotations

import time

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QFileDialog, QLabel, QMessageBox, QPushButton,
                               QSpinBox, QSplitter, QVBoxLayout, QWidget)

from ..core.private import open_private
from ..core.reports.bundle import section_of
from ..core.fx import chosen_currency
from ..core.reports.campaign_view import build_table
from ..core.reports.spend_match import has_spend
from ..core.reports.compare import build_view
from ..core.reports.chart_view import chart_view
from ..core.reports.table import ReportTable, range_text
from ..errors import FileError, InvalidInput, SegDeskError
from .charts import ChartWidget
from .export_done import cover_for, show_export_done
from .report_filters import FilterBar
from .sparkline import SparklineDelegate, attach
from .plaintext import as_text, brief_notes, plain_label, sentences
from .range_picker import RangePicker
from .campaign_table import CampaignTableModel
from .flow_layout import FlowLayout, group
from .drill_dialog import DrillDownDialog
from .report_table_model import fit_columns, make_table_view, when_done

REPORTS = [("campaigns", "Campaigns"), ("ltv", "LTV (lifetime value)"), ("attribution", "Attribution"),
           ("roas", "Return on ad spend")]
GROUPINGS = {
    "campaigns": ["source_campaign"],
    "ltv": ["source", "medium", "campaign", "source_medium", "tag", "cohort_month"],
    "attribution": ["source", "medium", "campaign", "source_medium"],
    "roas": ["source", "campaign", "ad_group"],
}
MODELS = ["first_touch", "last_touch", "last_non_direct", "linear", "time_decay", "position_based"]
PREFETCH_DELAY_MS = 1500  # a user still clicking through controls is not yet "looking at" a report
PREFETCH_NEXT_MS = 50


def _load(conn, name: str, params: dict) -> ReportTable:
    """The campaign table in the reporting currency (its own builder); any other report through
    ``build_view`` (filters, comparison), with converted figures when a reporting currency was chosen."""
    if name == "campaigns":
        return build_table(conn, name, {k: v for k, v in params.items() if not k.startswith("filter_")})
    return ReportTable.of(build_view(conn, name, currency=chosen_currency(conn), **_split(params)))


def _split(params: dict) -> dict:
    """The page's flat parameters as ``build_view`` takes them: filters gathered, the rest as they are."""
    filters = {k[len("filter_"):]: v for k, v in params.items() if k.startswith("filter_")}
    rest = {k: v for k, v in params.items() if not k.startswith("filter_")}
    return {**rest, "filters": filters}


def _label(key: str) -> str:
    return {"source_medium": "Source / medium", "cohort_month": "Cohort month",
            "source_campaign": "Source / campaign"}.get(key, key.replace("_", " ").capitalize())


class ReportCache:
    """Built reports by (name, parameters), dropped whole when the data changes.

    ``version`` moves on every clear, so an answer computed before a change
    is never stored after it.
    """

    def __init__(self, limit: int = 24) -> None:
        self.limit, self.version = limit, 0
        self._items: dict = {}

    @staticmethod
    def key(key) -> tuple:
        name, params = key
        return name, tuple(sorted(params.items()))

    def get(self, key):
        return self._items.get(self.key(key))

    def put(self, key, table, version: int) -> None:
        if version != self.version:
            return
        self._items[self.key(key)] = table
        while len(self._items) > self.limit:
            self._items.pop(next(iter(self._items)))

    def clear(self) -> None:
        self._items.clear()
        self.version += 1


class ReportsView(QWidget):
    """Part A embeds this in the main window; ``export_pdf_action()`` goes in its File menu."""

    reportShown = Signal(object)  # the ReportTable now on screen (tests and benchmarks wait on it)
    failed = Signal(str)
    contactActivated = Signal(str)  # an email double-clicked in a drill-down: the main window opens its journey

    def __init__(self, ctx, parent=None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self._generation = 0
        self._cache = ReportCache()
        self._inflight: dict = {}  # cache key -> (job, cache version) of reports being built
        self._prefetch_timer = QTimer(self)
        self._prefetch_timer.setSingleShot(True)
        self._prefetch_timer.timeout.connect(self._prefetch_next)
        self._job = None
        self._stale = False
        self._drill: QDialog | None = None
        self.last_timing_ms: float | None = None
        self._build_controls()
        self.model = CampaignTableModel(self)  # a report table model; on the campaign table it also explains cells
        self.table = make_table_view(self.model)
        self.table.doubleClicked.connect(lambda idx: self.drill_down(idx.row()))
        self.columns_button = self.table.column_chooser.button()
        for w in (self.columns_button, self.csv_button, self.pdf_button):
            self._flow.addWidget(w)
        self._sparkline = SparklineDelegate(self.model.SortRole, self.table)
        self.chart = ChartWidget(self)
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.chart)
        split.addWidget(self.table)
        split.setSizes([320, 380])
        layout = QVBoxLayout(self)
        layout.addLayout(self._controls)
        layout.addWidget(split, 1)
        self.status = plain_label("")
        self.status.setStyleSheet("color: palette(mid);")
        self.status.setWordWrap(True)  # notes (rates used, "(not set)") must not widen the window
        layout.addWidget(self.status)
        self._sync_controls()
        ctx.dataChanged.connect(self._on_data_changed)
        self._check_spend()
        self.refresh()

    # Controls -----------------------------------------------------------
    def _build_controls(self) -> None:
        self.report_box = QComboBox()
        for name, label in REPORTS:
            self.report_box.addItem(label, name)
        self.by_box = QComboBox()
        self.model_box = QComboBox()
        # Sized for "Position based", not "All models side by side" (whole in the list): one row fewer at 1024 px.
        self.model_box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.model_box.setMinimumContentsLength(15)
        for m in MODELS:
            self.model_box.addItem(_label(m), m)
        self.model_box.addItem("All models side by side", "all")
        self.model_box.setCurrentIndex(MODELS.index("linear"))
        self.lookback = QSpinBox()
        self.lookback.setRange(0, 3650)  # 0: the order's own day
        self.lookback.setValue(90)
        self.lookback.setSuffix(" days")
        self.lookback.setKeyboardTracking(False)  # typing "180" must not query for 1 and 18 first
        self.range = RangePicker(initial=None)
        self.originals = QCheckBox("Original currencies")
        self.originals.setToolTip("Show each figure in the currencies it was paid and spent in, not converted")
        self.csv_button = QPushButton("Export CSV…")
        self.pdf_button = QPushButton("Export PDF…")
        self.csv_button.clicked.connect(self._ask_csv)
        self.pdf_button.clicked.connect(self._ask_pdf)
        self._model_label, self._lookback_label = QLabel("Model"), QLabel("Lookback")
        self.filter_bar = FilterBar(self.ctx, lambda: (self.report_name(), self.report_params()), self)
        # Every control at its full width, wrapping to another row when the window is narrow (a
        # squeezed combo box cuts its text); the table's Columns and the exports join at the end.
        toolbar = QWidget()
        self._flow = FlowLayout(toolbar)
        policy = toolbar.sizePolicy()
        policy.setHeightForWidth(True)  # as tall as its rows at the width it gets, no taller
        toolbar.setSizePolicy(policy)
        self._model_group = group(self._model_label, self.model_box)
        self._lookback_group = group(self._lookback_label, self.lookback)
        for w in (group(QLabel("Report"), self.report_box), group(QLabel("By"), self.by_box), self._model_group,
                  self._lookback_group, self.originals, self.range, self.filter_bar.tools):
            self._flow.addWidget(w)
        self._controls = QVBoxLayout()
        self._controls.addWidget(toolbar)
        self._controls.addWidget(self.filter_bar)
        self.filter_bar.changed.connect(self.refresh)
        self.filter_bar.viewChosen.connect(self.open_view)
        self.filter_bar.saveFailed.connect(lambda reason: self.status.setText(f"Could not save the view: {reason}"))
        self.filter_bar.saved.connect(lambda name: self.status.setText(f"Saved view “{name}”"))
        self.report_box.currentIndexChanged.connect(self._on_report_changed)
        for signal in (self.by_box.currentIndexChanged, self.model_box.currentIndexChanged,
                       self.lookback.valueChanged, self.range.changed, self.originals.toggled):
            signal.connect(self.refresh)

    def _sync_controls(self) -> None:
        name = self.report_name()
        current = self.by_box.currentData()
        self.by_box.blockSignals(True)
        self.by_box.clear()
        for key in GROUPINGS[name]:
            self.by_box.addItem(_label(key), key)
        self.by_box.setCurrentIndex(max(0, self.by_box.findData(current)))
        self.by_box.blockSignals(False)
        for w in (self.model_box, self.lookback, self._model_label, self._lookback_label, self._model_group,
                  self._lookback_group):
            w.setVisible(name == "attribution")
        # The campaign table and every chart: converted by default, the originals a tick away.
        self.originals.setToolTip("Show the chart in the currencies paid and spent in, one plot per currency"
                                  if name != "campaigns" else
                                  "Show each figure in the currencies it was paid and spent in, not converted")

    def _on_report_changed(self) -> None:
        self._sync_controls()
        self.model.clear_sort()
        self.table.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.DescendingOrder)
        self.refresh()

    def report_name(self) -> str:
        return self.report_box.currentData()

    def set_report(self, name: str, **params) -> None:
        """Choose a report and its parameters in one go (one query, not one per control)."""
        boxes = [self.report_box, self.by_box, self.model_box, self.lookback, self.range]
        for w in boxes:
            w.blockSignals(True)
        self.report_box.setCurrentIndex(self.report_box.findData(name))
        self._sync_controls()
        if "by" in params:
            self.by_box.setCurrentIndex(self.by_box.findData(params["by"]))
        if "model" in params:
            self.model_box.setCurrentIndex(self.model_box.findData(params["model"]))
        if "lookback_days" in params:
            self.lookback.setValue(int(params["lookback_days"]))
        if "since" in params or "until" in params:
            self.range.set_range(params.get("since"), params.get("until"))
        for w in boxes:
            w.blockSignals(False)
        self.refresh()

    def open_view(self, view) -> None:
        """Show a saved view: its report, parameters, range, filters and comparison, in one query."""
        self.filter_bar.set_values(view.filters, view.params.get("compare"))
        self.set_report(view.report, **{k: v for k, v in view.params.items() if k != "compare"})

    def params(self) -> dict:
        """What the report is built from: its parameters, the filters (flat, by name) and the comparison."""
        p = self.report_params()
        p.update({f"filter_{k}": v for k, v in self.filter_bar.filters().items()})
        if self.filter_bar.compare():
            p["compare"] = self.filter_bar.compare()
        return p

    def report_params(self) -> dict:
        p = {"by": self.by_box.currentData()}
        if self.report_name() == "campaigns" and self.originals.isChecked():
            p["originals"] = True
        if self.report_name() == "attribution":
            p["model"] = self.model_box.currentData()
            p["lookback_days"] = self.lookback.value()
        since, until = self.range.date_range()
        if since:
            p["since"] = since
        if until:
            p["until"] = until
        return p

    # Loading ------------------------------------------------------------
    def _on_data_changed(self, changes) -> None:
        if getattr(changes, "reports", True):
            self._cache.clear()
            self._check_spend()
            self.filter_bar.reload()
            if self.isVisible():
                self.refresh()
            else:
                self._stale = True  # a sync while another page is open: rebuild when this one shows

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._stale:
            self._stale = False
            self.refresh()

    def _check_spend(self) -> None:
        """ROAS needs imported ad spend; without any, its entry is greyed out."""
        try:
            job = self.ctx.read(lambda conn, progress: has_spend(conn), "has spend")
        except RuntimeError:
            return
        when_done(job, self._set_spend, lambda reason: None)

    def _set_spend(self, has_spend) -> None:
        item = self.report_box.model().item(self.report_box.findData("roas"))
        item.setEnabled(bool(has_spend))
        item.setToolTip("" if has_spend else "Import ad spend (segdesk import spend) to see return on ad spend")

    def refresh(self) -> None:
        self._generation += 1
        gen, name, params = self._generation, self.report_name(), self.params()
        self._prefetch_timer.stop()
        started = time.perf_counter()
        cached = self._cache.get((name, params))
        if cached is not None:
            self._show(gen, cached, started)
            return
        self.status.setText("Loading…")
        job = self._request(name, params, f"report {name}")
        if self._job is not None and self._job is not job and not self._job.done:
            self._job.cancel()  # only stops it if it has not started: a superseded question
        self._job = job
        when_done(job, lambda table: self._show(gen, table, started), lambda reason: self._fail(gen, reason))

    def _request(self, name: str, params: dict, label: str):
        """The job that builds this report: one already running for the same question, or a new one."""
        key, version = ReportCache.key((name, params)), self._cache.version
        running = self._inflight.get(key)
        if running and running[1] == version and not running[0].is_cancelled():
            return running[0]
        job = self.ctx.read(lambda conn, progress: _load(conn, name, params), label)
        self._inflight[key] = (job, version)

        def forget(*_):
            if self._inflight.get(key, (None,))[0] is job:
                del self._inflight[key]

        when_done(job, lambda table: (self._cache.put((name, params), table, version), forget()), forget)
        job.cancelled.connect(forget)
        return job

    def _prefetch_next(self) -> None:
        """Build one more attribution model in the background so that switching to it is instant.

        It starts only after the user has looked at a report for a moment (and
        never while their own question runs), so it does not slow what they asked for.
        """
        name, params = self.report_name(), self.params()
        if name != "attribution" or params.get("model") == "all" or not self.isVisible() \
                or (self._job is not None and not self._job.done):
            return
        todo = [dict(params, model=m) for m in MODELS if self._cache.get((name, dict(params, model=m))) is None
                and ReportCache.key((name, dict(params, model=m))) not in self._inflight]
        if not todo:
            return
        try:
            job = self._request(name, todo[0], "prefetch")
        except RuntimeError:
            return  # the workspace is closing
        when_done(job, lambda _table: self._prefetch_timer.start(PREFETCH_NEXT_MS), lambda reason: None)

    def _show(self, gen: int, report, started: float) -> None:
        if gen != self._generation:
            return  # an answer to a question the user no longer asks
        table = ReportTable.of(report)
        self.model.set_report(table)
        attach(self.table, table, self._sparkline)
        view = chart_view(table, originals=self.originals.isChecked())
        self.chart.set_series(view.series, title=view.title, x_label=view.x_label, note=view.note)
        fit_columns(self.table)
        self.last_timing_ms = (time.perf_counter() - started) * 1000
        note = brief_notes(table.notes)
        self.status.setText(f"{len(table.rows)} rows · {self.last_timing_ms:.0f} ms · double-click a row for its "
                            f"contacts and orders" + (f" · {note}" if note else ""))
        self.status.setToolTip(as_text(sentences(table.notes)))
        self.reportShown.emit(table)
        self._prefetch_timer.start(PREFETCH_DELAY_MS)

    def _fail(self, gen: int, reason: str) -> None:
        if gen == self._generation:
            self.status.setText(f"Could not build the report: {reason}")
            self.failed.emit(reason)

    # Drill-down and export ---------------------------------------------
    def drill_down(self, view_row: int) -> "DrillDownDialog | None":
        table = self.model.table
        if table is None or view_row < 0 or view_row >= self.model.rowCount():
            return None
        key = self.model.row_key(view_row)
        if table.parameters.get("model") == "all":
            self.status.setText("Choose one model to list the orders behind a row")
            return None
        params = dict(table.parameters, **{k: v for k, v in self.params().items() if k not in table.parameters})
        self._drill = DrillDownDialog(self.ctx, self.report_name(), params, key, self)
        self._drill.contactActivated.connect(self.contactActivated)
        self._drill.show()
        return self._drill

    def export_csv(self, path: str) -> None:
        table = self.model.sorted_table()
        try:
            with open_private(path, "w", newline="", encoding="utf-8") as f:
                if table:
                    table.write_csv(f)
        except OSError as exc:
            raise FileError(f"cannot write {path}: {exc.strerror or exc}") from None

    def _ask_csv(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export CSV", f"{self.report_name()}.csv", "CSV files (*.csv)")
        if path:
            self._guard(lambda: (self.export_csv(path), self._exported(path)))

    def export_pdf(self, path: str) -> int:
        """The report on screen (chart and table, in the user's sort order) as a PDF; returns pages."""
        from .pdf_export import write_pdf

        table = self.model.sorted_table()
        if table is None:
            raise InvalidInput("no report is loaded yet")
        section = section_of(table, originals=self.originals.isChecked())
        return write_pdf(path, [section], title=table.title, date_range=range_text(table.parameters),
                         cover=cover_for(self.ctx, table.parameters))

    def _ask_pdf(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export PDF", f"{self.report_name()}.pdf", "PDF files (*.pdf)")
        if path:
            self._guard(lambda: self._exported(path, self.export_pdf(path)))

    def _exported(self, path: str, pages: int | None = None) -> None:
        self.export_note = show_export_done(self, path, pages)

    def export_pdf_action(self, parent=None) -> QAction:
        """A File-menu action that exports the report on screen."""
        action = QAction("Export Report as PDF…", parent or self)
        action.setShortcut(QKeySequence("Ctrl+Shift+P"))
        action.triggered.connect(self._ask_pdf)
        return action

    def _guard(self, fn) -> None:
        try:
            fn()
        except SegDeskError as exc:  # anything else is a bug: Qt's excepthook prints its traceback
            QMessageBox.warning(self, "Export failed", as_text(str(exc)))
