"""The dashboard's figures as data: headline numbers, two chart series and the campaign table.

Each part is a plain function of a read connection and a date range, so the
app runs them at once on its reader pool and ``segdesk export pdf`` builds the
same page. The headline figures are the summary report's own numbers, so the
dashboard and ``segdesk report summary --currency`` always agree: money
figures in the workspace's reporting currency (``converted.py``), their
original currencies beside them under ``originals``, and under ``unconverted``
the currencies a figure leaves out on days without a rate (shown with a mark).
The trend chart is revenue and ad spend per day, week or month in that
currency (``trend.py``); the LTV curves are in it too, their per-currency
plots beside them (``chart_view.py``).
"""

from __future__ import annotations

from ..fx import reporting_currency
from ..money import format_money
from .model import MONEY
from .chart_view import chart_view
from .table import ReportTable, format_amounts, report_table
from .trend import revenue_and_spend

FIGURES = [("contacts", "Contacts"), ("customers", "Customers"), ("revenue", "Revenue (net of refunds)"),
           ("lead_value", "Lead value"), ("conversion_rate", "Conversion rate")]


MONEY_FIGURES = ("revenue", "lead_value")
MISSING_MARK = " *"


def load_figures(conn, since: str | None, until: str | None) -> dict:
    """The headline figures in the reporting currency beside their originals, and the revenue and spend trend."""
    summary = report_table(conn, "summary", since=since, until=until, currency=reporting_currency(conn))
    originals = headline(summary)
    converted = summary.extra["converted"]
    cur = converted["currency"]
    missing = {c for c, u in converted["rates"].items() if u.get("missing_days")}
    figures, unconverted = dict(originals), {}
    for key in MONEY_FIGURES:
        if originals[key]:
            figures[key] = {cur: v} if (v := (converted.get(key) or {}).get(cur)) is not None else {}
        # Without a rate of the reporting currency itself on some day, every other currency is affected.
        lacking = sorted(c for c in originals[key] or {} if c != cur and (c in missing or cur in missing))
        if lacking:
            unconverted[key] = lacking
    trend = revenue_and_spend(conn, cur, since, until)
    return {"figures": figures, "originals": originals, "unconverted": unconverted, "currency": cur,
            "summary": summary, "trend_series": trend["series"], "trend_unit": trend["unit"],
            "trend_notes": trend["notes"]}


PERIOD_WORDS = {"day": "daily totals", "week": "weekly totals (from Monday)", "month": "monthly totals"}


def trend_title(data: dict) -> str:
    # Short: half of a 1024-pixel window holds it; the axes say the currency and the period.
    return "Revenue and ad spend"


def trend_x_label(data: dict) -> str:
    return PERIOD_WORDS[data["trend_unit"]]


def figure_tooltip(data: dict, key: str) -> str:
    """A money tile's originals and what its conversion left out, in words ("" for other tiles)."""
    if key not in MONEY_FIGURES or not data.get("originals", {}).get(key):
        return ""
    lines = [f"In {data['currency'].upper()}, converted at each order's day; original currencies: "
             f"{format_amounts(data['originals'][key])}"]
    if data["unconverted"].get(key):
        lines.append(f"{MISSING_MARK.strip()} leaves out the "
                     f"{', '.join(c.upper() for c in data['unconverted'][key])} amounts of days without a rate")
    return "\n".join(lines)


def load_ltv_curve(conn, since: str | None, until: str | None) -> dict:
    """LTV curves by first-touch source in the reporting currency (``ltv_series``, ``ltv_note``) and,
    under ``ltv_originals``, per original currency (one plot each): what "Original currencies" shows."""
    ltv = report_table(conn, "ltv", by="source", since=since, until=until, currency=reporting_currency(conn))
    # Only the curve itself: with no contact old enough for a 30-day point there is nothing to draw
    # (chart_series would fall back to revenue bars, which is not this chart).
    if not ltv.series:
        return {"ltv_series": [], "ltv_note": "", "ltv_originals": {"series": [], "note": ""}}
    converted, originals = chart_view(ltv), chart_view(ltv, originals=True)
    return {"ltv_series": converted.series, "ltv_note": converted.note,
            "ltv_originals": {"series": originals.series, "note": originals.note}}


def load_top_campaigns(conn, since: str | None, until: str | None) -> dict:
    """The dashboard's centre: the one campaign table in the reporting currency (campaign_view.py)."""
    from .campaign_view import campaign_table  # it builds on this package's reports

    return {"campaigns": campaign_table(conn, since=since, until=until)}


def load_figure_changes(conn, since: str | None, until: str | None) -> dict:
    """Each headline figure against the previous period of the same length, and its trend over
    ``compare.TREND_PERIODS`` periods: {"changes": {key: text}, "trends": {key: [...]}} (empty without
    both ends of a range: "all time" has no period before it)."""
    from .compare import build_view, change_text
    from .table import sparkline_text

    if not (since and until):
        return {"changes": {}, "trends": {}}
    info = build_view(conn, "summary", compare="previous", since=since, until=until,
                      currency=reporting_currency(conn)).extra["compare"]
    converted_trends = info.get("trend", {}).get("converted", {})
    changes, trends = {}, {}
    for key, _label in FIGURES:
        # Money tiles are in the reporting currency, so are their changes and trends.
        c = info["converted_figures"].get(key) if key in MONEY_FIGURES else info["figures"].get(key)
        if c is None:
            continue
        kind = MONEY if isinstance(c.get("change"), dict) else ("percent" if key == "conversion_rate" else "int")
        changes[key] = change_text(kind, c)
        trend = converted_trends.get(key) if key in MONEY_FIGURES else info.get("trend", {}).get(key)
        trends[key] = sparkline_text(trend) if trend else ""
    return {"changes": changes, "trends": trends, "compared_with": f"{info['since']} – {info['until']}"}


PARTS = (load_figures, load_ltv_curve, load_top_campaigns, load_figure_changes)


def load_dashboard(conn, since: str | None = None, until: str | None = None) -> dict:
    """Everything the dashboard shows, as data: figures, two chart series and the top campaigns."""
    data = {"since": since, "until": until}
    for part in PARTS:
        data.update(part(conn, since, until))
    return data


def headline(summary: ReportTable) -> dict:
    """The five headline values from the summary report, whichever of its shapes it has."""
    values: dict = {}
    if summary.rows and "metric" in summary.rows[0]:
        for r in summary.rows:
            values[r["metric"]] = r.get("value")
    elif summary.rows:
        values.update(summary.rows[0])
    values.update({k: v for k, v in summary.extra.items() if k in dict(FIGURES)})
    return {key: values.get(key) for key, _ in FIGURES}


def figure_text(key: str, value, unconverted=()) -> str:
    """A tile's text; ``unconverted``: currencies left out for want of a rate, which mark the figure."""
    if unconverted:
        return f"{figure_text(key, value)}{MISSING_MARK}" if value else f"no rate{MISSING_MARK}"
    if value is None:
        return "—"
    if isinstance(value, dict):
        # One currency per line, the largest amount first; never a sum across currencies.
        items = sorted(value.items(), key=lambda kv: (-(kv[1] or 0), kv[0]))
        return "\n".join(format_money(v, c) for c, v in items if v is not None) or "—"
    if key == "conversion_rate":
        return f"{value * 100:.1f}%"
    return f"{value:,}" if isinstance(value, int) else f"{value:,.2f}"
