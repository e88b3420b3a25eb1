"""Comparisons: a report against the previous period or the same period last year, and models side by side.

``compare_report(conn, name, mode, since=..., until=..., **params)`` builds the
report for the range and for the comparison range, then per row and per
numeric column (int, float, percent, money) adds ``row["compare"][column] =
{"previous", "change", "change_pct"}``: change = current - previous (money per
currency; a missing amount or count is 0), change_pct = change / previous * 100
rounded to 0.1 (None when previous is 0 or missing; a percent column's change
is in points). The headline figures in ``extra`` (the summary's contacts,
revenue...) get the same under ``extra["compare"]["figures"]``. Rows only in
the previous period are listed with empty current figures.

A trend (sparkline) is the report's main figure over ``TREND_PERIODS``
consecutive periods of the range's length, oldest first, ending with the
current one: ``row["trend"]`` (money: the report's largest currency; a list
of numbers) and ``extra["compare"]["trend"]`` for the headline figures. A
report built with a reporting currency also compares its converted headline
figures (``extra["compare"]["converted_figures"]``, trends under ``["trend"]["converted"]``).

Ranges: both ends are needed, as dates (``YYYY-MM-DD``) or months (``YYYY-MM``),
both inclusive. ``previous`` is the same number of days just before; a range
of whole months goes back by whole months (March -> February, Q1 -> Q4).
``year`` is the same dates a year earlier (29 February -> 28 February).

``models_side_by_side`` is attribution under every model in one table: a
money column per model, each adding up to the same attributed revenue.
"""

from __future__ import annotations

import calendar
from contextlib import nullcontext
from datetime import date, timedelta

from ...errors import InvalidInput
from . import build_report
from .attribution import MODELS, one_pass
from .filters import Filters
from .model import FLOAT, INT, MONEY, PERCENT, SPARK, TEXT, Column, Report
from .summary import prefetch

MODES = ("previous", "year")
TREND_PERIODS = 6
MAIN = {"summary": "revenue", "ltv": "revenue", "attribution": "credit", "roas": "revenue"}
NUMERIC = (INT, FLOAT, PERCENT, MONEY)
FIGURES = ("contacts", "customers", "conversion_rate", "revenue", "lead_value", "value_per_customer", "orders",
           "period_revenue", "refunds")


def _day(text: str | None, end: bool) -> date:
    value = (text or "").strip()
    try:
        if len(value) == 7:
            d = date.fromisoformat(value + "-01")
            return d.replace(day=calendar.monthrange(d.year, d.month)[1]) if end else d
        if len(value) == 10:
            return date.fromisoformat(value)
    except ValueError:
        pass
    raise InvalidInput("comparing needs a range with both ends as dates (--since YYYY-MM-DD --until YYYY-MM-DD)")


def _months_back(d: date, months: int) -> date:
    y, m = divmod(d.year * 12 + d.month - 1 - months, 12)
    return date(y, m + 1, min(d.day, calendar.monthrange(y, m + 1)[1]))


def shifted(since: str | None, until: str | None, mode: str, times: int = 1) -> tuple[str, str]:
    """The comparison range (ISO dates, both inclusive) ``times`` steps back."""
    if mode not in MODES:
        raise InvalidInput(f"unknown comparison {mode!r} (one of: {', '.join(MODES)})")
    start, end = _day(since, False), _day(until, True)
    if end < start:
        raise InvalidInput("the range ends before it starts")
    if mode == "year":
        def back(d: date) -> date:
            y = d.year - times
            return date(y, d.month, min(d.day, calendar.monthrange(y, d.month)[1]))
        return back(start).isoformat(), back(end).isoformat()
    whole_months = start.day == 1 and end.day == calendar.monthrange(end.year, end.month)[1]
    if whole_months:
        n = (end.year * 12 + end.month) - (start.year * 12 + start.month) + 1
        first = _months_back(start, n * times)
        last = _months_back(start, n * (times - 1)) - timedelta(days=1)
        return first.isoformat(), last.isoformat()
    days = (end - start).days + 1
    return (start - timedelta(days=days * times)).isoformat(), (end - timedelta(days=days * times)).isoformat()


def change(kind: str, now, before) -> dict:
    """{"previous", "change", "change_pct"} of one figure (money: each a map per currency)."""
    if kind == MONEY:
        now, before = now or {}, before or {}
        curs = sorted(set(now) | set(before))
        diff = {c: round((now.get(c) or 0) - (before.get(c) or 0), 2) for c in curs}
        pct = {c: _pct(diff[c], before.get(c)) for c in curs}
        return {"previous": dict(before), "change": diff, "change_pct": pct}
    if kind == INT:  # a row absent from a period counted nobody there
        now, before = now or 0, before or 0
    if now is None and before is None:
        return {"previous": None, "change": None, "change_pct": None}
    d = (now or 0) - (before or 0)
    d = round(d, 4) if isinstance(d, float) else d
    return {"previous": before, "change": d, "change_pct": None if kind == PERCENT else _pct(d, before)}


def _pct(diff, before) -> float | None:
    return round(diff / before * 100, 1) if before else None


def _money_main(report: Report, key: str) -> str | None:
    totals: dict[str, float] = {}
    for r in report.rows:
        for cur, v in (r.get(key) or {}).items():
            totals[cur] = totals.get(cur, 0) + abs(v or 0)
    return min(totals, key=lambda c: (-totals[c], c)) if totals else None


def _pct_text(value) -> str:
    if isinstance(value, dict):
        return "  ".join(f"{c.upper()} {_pct_text(v)}" for c, v in value.items() if v is not None) or "–"
    return "–" if value is None else f"{value:+.1f}%"


def compare_report(conn, name: str, mode: str, *, since: str | None = None, until: str | None = None,
                   trend: bool = True, **params) -> Report:
    """The report for the range with every row set against the comparison range (module docstring)."""
    before_since, before_until = shifted(since, until, mode)
    periods = [(since, until), (before_since, before_until)]
    if trend:
        periods += [shifted(since, until, "previous", step) for step in range(TREND_PERIODS - 1, 0, -1)]
    # The summary reads every period in one statement (summary.prefetch); other reports build one by one.
    with prefetch(dict.fromkeys(periods)) if name == "summary" else nullcontext():
        return _compare(conn, name, mode, since, until, before_since, before_until, trend, params)


def _compare(conn, name, mode, since, until, before_since, before_until, trend, params) -> Report:
    now = build_report(conn, name, since=since, until=until, **params)
    before = build_report(conn, name, since=before_since, until=before_until, **params)
    cols = {c.key: c for c in now.columns if c.kind in NUMERIC}
    main = cols.get(MAIN.get(name, "")) or next(iter(cols.values()), None)
    prev_rows = {r["key"]: r for r in before.rows}
    keys = [r["key"] for r in now.rows]
    rows = [dict(r) for r in now.rows] + [{"key": k} for k in prev_rows if k not in set(keys)]
    for r in rows:
        p = prev_rows.get(r["key"], {})
        r["compare"] = {k: change(c.kind, r.get(k), p.get(k)) for k, c in cols.items()}
    figures = {k: change(MONEY if isinstance(v, dict) else (PERCENT if k == "conversion_rate" else INT),
                         v, before.extra.get(k))
               for k, v in now.extra.items() if k in FIGURES}
    columns = list(now.columns)
    if main is not None:
        for r in rows:
            c = r["compare"][main.key]
            r["main_previous"], r["main_change"], r["main_change_pct"] = c["previous"], c["change"], _pct_text(
                c["change_pct"])
        at = columns.index(main) + 1
        columns[at:at] = [Column("main_previous", f"{main.label}, {_label(mode)}", main.kind),
                          Column("main_change", "Change", main.kind),
                          Column("main_change_pct", "Change %", TEXT,
                                 f"change against {_label(mode)} ({before_since} – {before_until})")]
    info = {"mode": mode, "since": before_since, "until": before_until, "figures": figures}
    if "converted" in now.extra:  # built with a reporting currency: its figures compare too
        info["converted_figures"] = {k: change(MONEY, v, before.extra["converted"].get(k))
                                     for k, v in now.extra["converted"].items() if k in FIGURES}
    if trend and main is not None:
        info["trend"] = _trends(conn, name, mode, since, until, params, now, before, main, rows, columns)
    report = Report(name=now.name, title=f"{now.title}, against {_label(mode)}", parameters={**now.parameters,
                    "compare": mode}, columns=columns, rows=rows, series=now.series,
                    extra={**now.extra, "compare": info}, notes=now.notes)
    return report


def _label(mode: str) -> str:
    return "previous period" if mode == "previous" else "same period last year"


def _trends(conn, name, mode, since, until, params, now, before, main, rows, columns) -> dict:
    """The main figure of each row and the headline figures over TREND_PERIODS periods, oldest first."""
    reports = []
    for step in range(TREND_PERIODS - 1, 0, -1):
        if step == 1 and mode == "previous":
            reports.append(before)
            continue
        s, u = shifted(since, until, "previous", step)
        reports.append(build_report(conn, name, since=s, until=u, **params))
    reports.append(now)
    cur = _money_main(now, main.key) if main.kind == MONEY else None
    for r in rows:
        points = []
        for rep in reports:
            found = next((x for x in rep.rows if x["key"] == r["key"]), {})
            v = found.get(main.key)
            points.append(((v or {}).get(cur) or 0) if main.kind == MONEY else (v or 0))
        r["trend"] = points
    columns.append(Column("trend", f"Trend, {TREND_PERIODS} periods" + (f" ({cur.upper()})" if cur else ""), SPARK,
                          f"{main.label} over the last {TREND_PERIODS} periods of this length, oldest first"))
    out: dict = {}
    for k in FIGURES:
        values = [rep.extra.get(k) for rep in reports]
        if all(v is None for v in values):
            continue
        if any(isinstance(v, dict) for v in values):
            curs = sorted({c for v in values for c in (v or {})})
            out[k] = {c: [(v or {}).get(c) or 0 for v in values] for c in curs}
        else:
            out[k] = [v or 0 for v in values]
    if "converted" in now.extra:
        cur = now.extra["converted"]["currency"]
        out["converted"] = {k: [((rep.extra["converted"].get(k) or {}).get(cur) or 0) for rep in reports]
                            for k in FIGURES if k in now.extra["converted"]}
    return out


def models_side_by_side(conn, *, lookback_days=None, by: str | None = None, **params) -> Report:
    """Attribution under every model: one money column per model, credited orders per model in ``orders``."""
    with one_pass():  # the six models share one read of the touches
        reports = {m: build_report(conn, "attribution", model=m, lookback_days=lookback_days, by=by, **params)
                   for m in MODELS}
    first = reports[MODELS[0]]
    keys = sorted({r["key"] for rep in reports.values() for r in rep.rows})
    rows = []
    for k in keys:
        found = {m: next((r for r in rep.rows if r["key"] == k), None) for m, rep in reports.items()}
        rows.append({"key": k, **{m: (found[m] or {}).get("credit") or {} for m in MODELS},
                     "orders": {m: (found[m] or {}).get("orders") or 0.0 for m in MODELS}})
    rows.sort(key=lambda r: (-max(sum(r[m].values()) for m in MODELS), r["key"]))
    label = first.columns[0].label
    extra = {"model": "all", "models": list(MODELS), "lookback_days": first.extra["lookback_days"],
             "by": first.extra["by"], "total": first.extra["total"],
             "unattributed": first.extra["unattributed"], **({"filters": first.extra["filters"]}
                                                              if "filters" in first.extra else {})}
    params_out = {k: v for k, v in first.parameters.items() if k != "model"}
    # One bar per model for each row, in the largest currency: the models read side by side in the chart too.
    main = max(first.extra["total"], key=lambda c: (first.extra["total"][c], c), default=None)
    series = [{"name": f"{m.replace('_', ' ')} ({main.upper()})", "currency": main,
               "points": [(r["key"], r[m].get(main, 0.0)) for r in rows]} for m in MODELS] if main else []
    narrowed = f" ({Filters.of(first.extra['filters']).text()})" if "filters" in first.extra else ""
    return Report(name="attribution", title=f"Attribution models side by side by {label.lower()}{narrowed}",
                  parameters={**params_out, "model": "all"},
                  columns=[Column("key", label, TEXT)] + [Column(m, m.replace("_", " ").capitalize(), MONEY) for m in MODELS],
                  rows=rows, series=series, extra={**extra, "chart": "Credit by model"}, notes=first.notes)


def build_view(conn, name: str, *, filters=None, compare: str | None = None, **params) -> Report:
    """What a saved view or the Reports page asks for: a report, compared with another period, or (model "all")
    the attribution models side by side. Blank parameters mean the report's default."""
    params = {k: v for k, v in params.items() if v not in (None, "")}
    if name == "attribution" and params.get("model") == "all":
        if compare:
            raise InvalidInput("comparing periods works on one model at a time, not on all models side by side")
        params.pop("model")
        return models_side_by_side(conn, filters=filters, **params)
    if compare:
        return compare_report(conn, name, compare, filters=filters, **params)
    return build_report(conn, name, filters=filters, **params)


def change_text(kind: str, c: dict) -> str:
    """'+2 (+200.0%)' or '+110.00 USD (+275.0%)': a figure's change for a tile; '' when nothing to say."""
    from ..money import format_money

    if kind == MONEY:
        parts = []
        for cur, d in (c.get("change") or {}).items():
            pct = (c.get("change_pct") or {}).get(cur)
            sign = "+" if d > 0 else ("−" if d < 0 else "±")
            parts.append(f"{sign}{format_money(abs(d), cur)}" + (f" ({pct:+.1f}%)" if pct is not None else ""))
        return "\n".join(parts)
    d = c.get("change")
    if d is None:
        return ""
    if kind == PERCENT:
        return f"{d * 100:+.1f} points"
    pct = c.get("change_pct")
    return f"{d:+,}" + (f" ({pct:+.1f}%)" if pct is not None else "")
