"""A report's chart as data: in the reporting currency, or in the currencies it was paid in.

A report built with a reporting currency (``build_report(..., currency=)``,
``converted.py``) carries its figures converted at each order's day beside
the originals. :func:`chart_view` picks what its chart draws from that:

- converted (the default): the report's own series built on the converted
  data (LTV curves, ROAS bars; ``extra["converted"]["series"]``), else bars
  of its first money column's converted values, all on one axis;
- ``originals=True``, or a report without conversion: the per-currency series
  (``table.chart_series``), one plot per currency, as before.

Nothing is converted silently: the note says the currency and how, and a
group holding amounts in a currency that lacks a rate on some days is marked
with ``*`` (its name, or its bar's key), and the note says which currency and
days are left out. Only data here; the app and the PDF paint it.
"""

from __future__ import annotations

from dataclasses import dataclass

from .table import MAX_LINES, ReportTable, chart_note, chart_series, chart_title, chart_x_label

MISSING_MARK = " *"


@dataclass
class ChartView:
    series: list[dict]
    title: str
    x_label: str
    note: str
    currency: str | None = None  # the reporting currency when converted; None for the originals


def chart_view(report, *, originals: bool = False, limit: int = 20) -> ChartView:
    """What the report's chart draws (see the module's docstring)."""
    t = ReportTable.of(report)
    info = t.extra.get("converted")
    if originals or not isinstance(info, dict) or not info.get("currency"):
        return ChartView(chart_series(t, limit), chart_title(t), chart_x_label(t), chart_note(t, limit))
    cur = info["currency"]
    lacking = lacking_rates(t, info)
    if t.series:
        series = _converted_series(info.get("series") or [], cur, lacking)
        note = chart_note(t, limit)
    else:
        series, note = _converted_bars(t, cur, lacking, limit)
    # The report's own words for its rates (converted.rate_notes), as the trend chart says them.
    said = next((n for n in t.notes if n.startswith(f"converted to {cur.upper()}")),
                f"converted to {cur.upper()} at each order's day")
    words = [note, f"{said[0].upper()}{said[1:]}.", missing_note(t, info, lacking)]
    return ChartView(series, chart_title(t), chart_x_label(t), " ".join(w for w in words if w), cur)


def lacking_rates(table: ReportTable, info: dict) -> dict[str, list[str]]:
    """Row key -> the currencies of its amounts that lack a rate on some day of the report.

    The dashboard's tiles mark by the same rule (``dashboard.load_figures``):
    without a rate of the reporting currency itself, every other currency is
    affected.
    """
    cur = info["currency"]
    missing = {c for c, u in (info.get("rates") or {}).items() if u.get("missing_days")}
    if not missing:
        return {}
    money = [c.key for c in table.columns if c.kind == "money" and not c.key.endswith("_converted")]
    out = {}
    for row in table.rows:
        held = {c for key in money for c in (row.get(key) or {})}
        short = sorted(c for c in held if c != cur and (c in missing or cur in missing))
        if short:
            out[str(row.get("key"))] = short
    return out


def missing_note(table: ReportTable, info: dict, lacking: dict[str, list[str]]) -> str:
    """The sentence the mark points to: which currencies, which days, left out of what."""
    if not lacking:
        return ""
    rates = info.get("rates") or {}
    cur = info["currency"]
    spans = []
    for code in sorted({c for cs in lacking.values() for c in cs} | ({cur} if cur in rates and
                                                                       rates[cur].get("missing_days") else set())):
        u = rates.get(code) or {}
        if u.get("missing_days"):
            first, last = u["first_missing_day"], u["last_missing_day"]
            spans.append(f"{code.upper()} on {first}" + (f" to {last}" if last != first else ""))
    return (f"{MISSING_MARK.strip()} holds amounts without a rate ({', '.join(spans)}): they are left out of "
            f"its {cur.upper()} figures; tick Original currencies to see them.")


def _marked(key, lacking: dict[str, list[str]]) -> str:
    return f"{key}{MISSING_MARK}" if str(key) in lacking else str(key)


def _converted_series(series: list[dict], cur: str, lacking: dict[str, list[str]]) -> list[dict]:
    out = []
    for s in series:
        if any(isinstance(x, str) for x, _ in s["points"]):  # bars over the rows' keys: the keys carry the mark
            name = s["name"].removesuffix(f" ({cur.upper()})")
            out.append(dict(s, name=f"{name} in {cur.upper()}", points=[(_marked(x, lacking), y) for x, y in s["points"]]))
        else:  # a curve per group (LTV): its name carries the mark
            key = s.get("key", s["name"])
            out.append(dict(s, name=_marked(key, lacking), currency=cur))
    keep = list(dict.fromkeys(s.get("key", s["name"]) for s in out))[:MAX_LINES]
    return [s for s in out if s.get("key", s["name"]) in keep]


def _converted_bars(t: ReportTable, cur: str, lacking: dict[str, list[str]], limit: int) -> tuple[list[dict], str]:
    """Bars of the first money column in the reporting currency, largest first, ``limit`` of them."""
    money = next((c for c in t.columns if c.kind == "money" and not c.key.endswith("_converted")), None)
    if money is None:
        return [], ""
    values = [(r.get("key", ""), (r.get(f"{money.key}_converted") or {}).get(cur)) for r in t.rows]
    values = sorted(((k, v) for k, v in values if v), key=lambda kv: -kv[1])
    note = f"Top {limit} of {len(values)} by {money.label.lower()}; the table lists all." if len(values) > limit else ""
    if not values:
        return [], note
    points = [(_marked(k, lacking), v) for k, v in values[:limit]]
    return [{"name": f"{money.label} in {cur.upper()}", "key": money.label, "currency": cur, "points": points}], note
