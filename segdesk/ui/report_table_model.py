"""A core report as a sortable Qt table, and the small adapter that reads it.

Core's ``Report`` is data (title, parameters, columns, rows, series). The
adapter ``ReportTable.of`` accepts that object or a plain dict of the same
shape, so the views, the charts and the PDF writer all read one normalised
form and do not care which front end built the report.

Money cells are maps currency -> minor units. They display through
``format_money`` one currency per line part and sort by the amounts
themselves (never by their text, never by a sum across currencies).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtWidgets import QHeaderView, QTableView

from ..core import csvsafe
from ..core.money import format_money
# The column and its kinds (what cells know how to show and sort) are the core report's own.
from ..core.reports.model import FLOAT, INT, MONEY, PERCENT, TEXT, Column
from .plaintext import as_text


@dataclass
class ReportTable:
    """The normalised report every renderer reads."""

    name: str
    title: str
    parameters: dict
    columns: list[Column]
    rows: list[dict]
    series: list[dict] = field(default_factory=list)
    extra: dict = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, report) -> "ReportTable":
        if isinstance(report, ReportTable):
            return report
        get = report.get if isinstance(report, dict) else (lambda k, d=None: getattr(report, k, d))
        rows = [dict(r) for r in (get("rows") or [])]
        columns = [_column(c, rows) for c in (get("columns") or _keys(rows))]
        series = [_series(s) for s in (get("series") or [])]
        params = dict(get("parameters") or get("params") or {})
        extra = dict(get("extra") or {})
        extra.update({k: get(k) for k in ("total", "unattributed", "chart", "subtitle") if get(k) is not None})
        notes = [str(n) for n in (get("notes") or [])]
        name = get("name") or params.get("report") or ""
        return cls(name=name, title=get("title") or name.title(), parameters=params,
                   columns=columns, rows=rows, series=series, extra=extra, notes=notes)

    def currencies(self) -> list[str]:
        """Currencies of the money columns, largest first (the order money sorts by)."""
        totals: dict[str, float] = {}
        for col in self.columns:
            if col.kind == MONEY:
                for row in self.rows:
                    for cur, v in (row.get(col.key) or {}).items():
                        totals[cur] = totals.get(cur, 0) + abs(v or 0)
        return sorted(totals, key=lambda c: (-totals[c], c))

    def row_key(self, row: int):
        r = self.rows[row]
        return r.get("key", r.get(self.columns[0].key) if self.columns else None)

    def write_csv(self, fileobj) -> None:
        """The table as CSV: money as one column per currency, in major units, for spreadsheets."""
        currencies = self.currencies()
        header, getters = [], []
        for col in self.columns:
            if col.kind == MONEY:
                for cur in currencies:
                    header.append(f"{col.label} ({cur.upper()})")
                    getters.append(lambda r, k=col.key, c=cur: _major(r.get(k) or {}, c))
            else:
                header.append(col.label)
                getters.append(lambda r, k=col.key: "" if r.get(k) is None else r.get(k))
        writer = csvsafe.writer(fileobj)
        writer.writerow(header)
        for r in self.rows:
            writer.writerow([g(r) for g in getters])


def _keys(rows: list[dict]) -> list[str]:
    return list(rows[0].keys()) if rows else []


def _column(spec, rows: list[dict]) -> Column:
    if isinstance(spec, Column):
        return spec
    if isinstance(spec, dict):
        key = spec.get("key") or spec.get("name")
        label, kind = spec.get("label") or spec.get("title"), spec.get("kind") or spec.get("type")
    elif isinstance(spec, (tuple, list)):
        key, label, kind = (list(spec) + [None, None])[:3]
    else:
        key = getattr(spec, "key", None) or getattr(spec, "name", None) or str(spec)
        label, kind = getattr(spec, "label", None), getattr(spec, "kind", None)
    return Column(key, label or key.replace("_", " ").capitalize(), kind or _infer_kind(key, rows))


def _infer_kind(key: str, rows: list[dict]) -> str:
    for r in rows:
        v = r.get(key)
        if v is None:
            continue
        if isinstance(v, dict):
            return MONEY if _is_money(v) else TEXT
        if isinstance(v, bool) or isinstance(v, str):
            return TEXT
        if key.endswith(("rate", "_pct", "share")):
            return PERCENT
        return INT if isinstance(v, int) else FLOAT
    return TEXT


def _is_money(v: dict) -> bool:
    return all(isinstance(k, str) and len(k) == 3 and isinstance(x, (int, float)) for k, x in v.items())


def _series(s) -> dict:
    get = s.get if isinstance(s, dict) else (lambda k, d=None: getattr(s, k, d))
    out = dict(s) if isinstance(s, dict) else {}  # keeps "key" (the row a line belongs to) and the like
    out.update(name=get("name") or "", points=[tuple(p) for p in (get("points") or [])])
    has = "currency" in s if isinstance(s, dict) else hasattr(s, "currency")
    if has:
        out["currency"] = get("currency")  # None here means "not money" (a ratio), not "unknown"
    return out


def format_amounts(money: dict, currencies: list[str] | None = None) -> str:
    """'100.00 USD  30.00 EUR': the report's main currency first; zero amounts only when all are zero."""
    if not money:
        return "–"
    rank = {c: i for i, c in enumerate(currencies or [])}
    items = sorted(money.items(), key=lambda kv: (rank.get(kv[0], len(rank)), kv[0]))
    shown = [(c, v) for c, v in items if v] or items[:1]
    return "  ".join(format_money(v, c) for c, v in shown)


def _major(money: dict, cur: str) -> str:
    v = money.get(cur)
    if v is None:
        return ""
    return format_money(v, cur).rsplit(" ", 1)[0].replace(",", "")


def format_cell(value, kind: str, currencies: list[str] | None = None) -> str:
    if value is None:
        return ""
    if kind == MONEY:
        return format_amounts(value, currencies)
    if isinstance(value, dict):
        # A per-currency figure that is not money (ROAS: revenue / spend in each currency).
        return "  ".join(f"{c.upper()} {v:,.2f}" for c, v in sorted(value.items()) if v is not None) or "–"
    if kind == PERCENT:
        return f"{value * 100:.1f}%" if abs(value) <= 1.5 else f"{value:.1f}%"
    if kind == FLOAT:
        return f"{value:,.2f}"
    if kind == INT:
        return f"{value:,}"
    return str(value)


class ReportTableModel(QAbstractTableModel):
    """Rows of one report. Sorting reorders an index list; the report itself stays as built."""

    SortRole = Qt.ItemDataRole.UserRole + 1

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.table: ReportTable | None = None
        self._order: list[int] = []
        self._currencies: list[str] = []
        self._sort: tuple[int, Qt.SortOrder] | None = None

    def set_report(self, report) -> None:
        self.beginResetModel()
        self.table = ReportTable.of(report) if report is not None else None
        self._order = list(range(len(self.table.rows))) if self.table else []
        self._currencies = self.table.currencies() if self.table else []
        self.endResetModel()
        if self._sort and self.table and self._sort[0] < len(self.table.columns):
            self.sort(*self._sort)

    # Qt's model API -------------------------------------------------------
    def rowCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() else len(self._order)

    def columnCount(self, parent=QModelIndex()) -> int:
        return 0 if parent.isValid() or not self.table else len(self.table.columns)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole and self.table:
            if orientation == Qt.Orientation.Horizontal and section < len(self.table.columns):
                return self.table.columns[section].label
            if orientation == Qt.Orientation.Vertical:
                return str(section + 1)
        return None

    def data(self, index: QModelIndex | QPersistentModelIndex, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or not self.table:
            return None
        col = self.table.columns[index.column()]
        value = self.table.rows[self._order[index.row()]].get(col.key)
        if role == Qt.ItemDataRole.DisplayRole:
            return format_cell(value, col.kind, self._currencies)
        if role == Qt.ItemDataRole.ToolTipRole:  # tooltips guess the format; cells are data
            return as_text(format_cell(value, col.kind, self._currencies))
        if role == Qt.ItemDataRole.TextAlignmentRole:
            numeric = col.kind != TEXT or isinstance(value, dict)
            align = Qt.AlignmentFlag.AlignRight if numeric else Qt.AlignmentFlag.AlignLeft
            return int(align | Qt.AlignmentFlag.AlignVCenter)
        if role == self.SortRole:
            return self.sort_key(value, col.kind)
        return None

    def sort_key(self, value, kind: str, per_currency: bool | None = None):
        if per_currency is None:
            per_currency = kind == MONEY or isinstance(value, dict)
        if per_currency:
            # The largest currency decides first; amounts compare as numbers.
            return tuple((value or {}).get(c, 0) or 0 for c in self._currencies)
        if value is None:
            return (0, "") if kind == TEXT else float("-inf")
        return (1, str(value).lower()) if kind == TEXT else value

    def sort(self, column: int, order=Qt.SortOrder.AscendingOrder) -> None:
        if not self.table or column < 0 or column >= len(self.table.columns):
            return
        self._sort = (column, order)
        col = self.table.columns[column]
        rows = self.table.rows
        per_currency = col.kind == MONEY or any(isinstance(r.get(col.key), dict) for r in rows)
        self.layoutAboutToBeChanged.emit()
        self._order.sort(key=lambda i: self.sort_key(rows[i].get(col.key), col.kind, per_currency),
                         reverse=order == Qt.SortOrder.DescendingOrder)
        self.layoutChanged.emit()

    def clear_sort(self) -> None:
        self._sort = None

    # What the views ask ---------------------------------------------------
    def source_row(self, view_row: int) -> int:
        return self._order[view_row]

    def row_key(self, view_row: int):
        return self.table.row_key(self._order[view_row]) if self.table else None

    def sorted_table(self) -> ReportTable | None:
        """The report with rows in the order the user sees (for CSV and PDF)."""
        if not self.table:
            return None
        t = self.table
        return ReportTable(t.name, t.title, t.parameters, t.columns, [t.rows[i] for i in self._order],
                           t.series, t.extra, t.notes)


# Table views and background answers, shared by the Reports and Dashboard pages ---

def make_table_view(model: ReportTableModel) -> QTableView:
    view = QTableView()
    view.setModel(model)
    # No sort indicator at first: rows keep the report's own order until the user clicks a header.
    view.horizontalHeader().setSortIndicator(-1, Qt.SortOrder.DescendingOrder)
    view.setSortingEnabled(True)
    view.setAlternatingRowColors(True)
    view.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
    view.setEditTriggers(QTableView.EditTrigger.NoEditTriggers)
    view.verticalHeader().setVisible(False)
    view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    return view


def when_done(job, on_done, on_fail) -> None:
    """Call ``on_done(result)`` or ``on_fail(reason)`` once, in the GUI thread.

    A fast query can end before the caller connects to its Job's signals (the
    pool starts it on submit), so a job already done is answered at once; the
    guard keeps a signal queued meanwhile from answering twice.
    """
    answered = []

    def once(fn, value):
        if not answered:
            answered.append(True)
            fn(value)

    job.finished.connect(lambda result: once(on_done, result))
    job.failed.connect(lambda reason: once(on_fail, reason))
    if job.done and not job.is_cancelled():
        if job.error is not None:
            once(on_fail, job.error)
        else:
            once(on_done, job.result)


def fit_columns(view: QTableView) -> None:
    """Columns as wide as their contents, the first (the row's key) taking the room left over."""
    header = view.horizontalHeader()
    view.resizeColumnsToContents()
    if header.count():
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)


# The report engine, as the views call it -----------------------------------
# Imported lazily: the engine is core's, and a view module must import
# cleanly even where a report type is still being built.

def build_report(conn, name: str, **params):
    from ..core.reports import build_report as core_build

    clean = {k: v for k, v in params.items() if v not in (None, "")}
    return core_build(conn, name, **clean)


def drill_down(conn, report: str, params: dict, key) -> dict:
    from ..core.reports import drill_down as core_drill

    return core_drill(conn, dict(params, name=report), key)


def range_text(params: dict) -> str:
    """The report's window for a title line, in its timezone, both days inclusive."""
    tz = params.get("timezone")
    since, until = _day(params.get("since"), tz, False), _day(params.get("until"), tz, True)
    if since and until:
        return f"{since} – {until}"
    if since:
        return f"Since {since}"
    if until:
        return f"Until {until}"
    return "All time"


def _day(value, tz: str | None, is_end: bool) -> str | None:
    """'2026-04-01T00:00:00.000Z' as the engine stores an exclusive end -> '2026-03-31' (UTC)."""
    if not value or len(str(value)) <= 10:
        return value or None
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo

    try:
        dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        dt = dt.astimezone(ZoneInfo(tz)) if tz else dt
    except (ValueError, KeyError):
        return str(value)
    if dt.time() == dt.time().min:
        return (dt - timedelta(days=1) if is_end else dt).strftime("%Y-%m-%d")
    return dt.strftime("%Y-%m-%d %H:%M")
