"""The normalised report every renderer reads (the app's tables and charts, the PDF, CSV), and its text.

Core's ``Report`` is data (title, parameters, columns, rows, series). The
adapter ``ReportTable.of`` accepts that object or a plain dict of the same
shape, so the views, the charts and the PDF writer all read one form and do
not care which front end built the report. No Qt here: the app's table
model (``ui/report_table_model.py``) and the PDF painter wrap it.

Money cells are maps currency -> minor units. They display through
``format_money`` one currency per line part and sort by the amounts
themselves (never by their text, never by a sum across currencies).
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import csvsafe
from ..money import format_money
from . import build_report
from .model import FLOAT, INT, MONEY, PERCENT, SPARK, TEXT, Column, Report

# How a chart draws its series (ui/charts.py picks one from the x values when not told).
TIME, CATEGORY, NUMBER = "time", "category", "number"
MAX_LINES = 8  # more lines than colours stop being readable; reports list their biggest groups first


@dataclass
class ReportTable(Report):
    """The normalised report every renderer reads: a ``Report`` built from a Report or a dict of its shape."""

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
    if kind == SPARK:
        return sparkline_text(value)
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


BARS = "▁▂▃▄▅▆▇█"


def sparkline_text(values) -> str:
    """A trend as block characters, lowest value ▁, highest █ (all equal: a flat ▄ line, ▁ when all are 0)."""
    values = [v or 0 for v in values or []]
    if not values:
        return ""
    lo, hi = min(values), max(values)
    if hi == lo:  # flat: at the bottom when there was nothing at all
        return (BARS[0] if hi == 0 else BARS[3]) * len(values)
    return "".join(BARS[round((v - lo) / (hi - lo) * (len(BARS) - 1))] for v in values)


def report_table(conn, name: str, **params) -> ReportTable:
    """``build_report`` as a table; blank parameters (a form's empty field) mean the report's default."""
    return ReportTable.of(build_report(conn, name, **{k: v for k, v in params.items() if v not in (None, "")}))


def chart_series(table, limit: int = 20) -> list[dict]:
    """What to chart for a report: its own series, else bars of its first money column per currency."""
    if table.series:
        # An explicit currency of None (a ratio such as ROAS) stays unscaled; only unlabeled series are guessed.
        out = [s if "currency" in s else dict(s, currency=_currency_in(s["name"])) for s in table.series]
        # At most MAX_LINES groups, each with all its currencies (each currency is drawn on its own axis).
        keep = list(dict.fromkeys(s.get("key", s["name"]) for s in out))[:MAX_LINES]
        return [s for s in out if s.get("key", s["name"]) in keep]
    money = next((c for c in table.columns if c.kind == "money"), None)
    if money is None:
        return []
    out = []
    for cur in table.currencies():
        rows = [r for r in table.rows if (r.get(money.key) or {}).get(cur)]
        rows.sort(key=lambda r: -(r[money.key][cur]))
        points = [(str(r.get("key", "")), r[money.key][cur]) for r in rows[:limit]]
        # One group across currencies: one colour and one legend entry (each plot's axis names its currency).
        out.append({"name": f"{money.label} ({cur.upper()})", "key": money.label, "currency": cur, "points": points})
    return out


def chart_note(table, limit: int = 20) -> str:
    """What the chart leaves out, in words ("top N" stated), or "" when it shows everything."""
    if table.series:
        if not all(isinstance(p[0], (int, float)) for s in table.series for p in s["points"]):
            return ""  # bars over the table's own keys (ROAS): nothing left out
        shown = len({s.get("key", s["name"]) for s in chart_series(table)})
        if len(table.rows) > shown:
            return f"The {shown} largest of {len(table.rows)} groups by contacts; the table lists all."
        return ""
    money = next((c for c in table.columns if c.kind == "money"), None)
    if money is None:
        return ""
    counts = [sum(1 for r in table.rows if (r.get(money.key) or {}).get(cur)) for cur in table.currencies()]
    if counts and max(counts) > limit:
        return f"Top {limit} of {max(counts)} by {money.label.lower()}; the table lists all."
    return ""


def chart_title(table) -> str:
    if table.extra.get("chart"):
        return str(table.extra["chart"])
    if table.series and table.name == "ltv":
        return "LTV by days after first touch"
    if table.series:
        return table.title
    money = next((c for c in table.columns if c.kind == "money"), None)
    by = table.parameters.get("by")
    return f"{money.label} by {str(by).replace('_', ' ')}" if money and by else table.title


def chart_x_label(table) -> str:
    return "days after first touch" if table.name == "ltv" and table.series else ""


def _currency_in(name: str) -> str | None:
    """'usd', 'facebook (usd)' or 'Revenue USD' name their currency; other names do not."""
    tail = name.strip().rstrip(")").replace("(", " ").split()[-1:] if name else []
    code = tail[0].lower() if tail else ""
    return code if len(code) == 3 and code.isalpha() and (code == name.strip().lower() or code.upper() in name
                                                         or f"({code})" in name) else None


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


def range_text_full(params: dict) -> str:
    """The window with month names, for a cover: "1 March 2026 – 31 March 2026"."""
    from datetime import date

    def full(day: str | None) -> str | None:
        if not day:
            return None
        if len(day) == 7:  # a month: "March 2026"
            try:
                return f"{date.fromisoformat(day + '-01'):%B %Y}"
            except ValueError:
                return day
        try:
            d = date.fromisoformat(day[:10])
        except ValueError:
            return day
        return f"{d.day} {d:%B %Y}" + (day[10:] if len(day) > 10 else "")

    tz = params.get("timezone")
    since, until = full(_day(params.get("since"), tz, False)), full(_day(params.get("until"), tz, True))
    if since and until:
        return f"{since} – {until}"
    if since:
        return f"From {since}"
    if until:
        return f"Up to and including {until}"
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
