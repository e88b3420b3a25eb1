"""The dashboard's figures as data: headline numbers, two chart series and the campaign table.

Each part is a plain function of a read connection and a date range, so the
app runs the three at once on its reader pool and ``segdesk export pdf``
builds the same page. The headline figures are the summary report's own
numbers, so the dashboard and ``segdesk report summary`` always agree.
"""

from __future__ import annotations

from ..money import format_money
from .model import MONEY
from .table import ReportTable, chart_series, report_table

FIGURES = [("contacts", "Contacts"), ("customers", "Customers"), ("revenue", "Revenue (net of refunds)"),
           ("lead_value", "Lead value"), ("conversion_rate", "Conversion rate")]


def load_figures(conn, since: str | None, until: str | None) -> dict:
    """The headline figures and revenue per month: the summary report's own numbers."""
    summary = report_table(conn, "summary", since=since, until=until)
    return {"figures": headline(summary), "summary": summary,
            "revenue_series": [dict(s, name=(s.get("currency") or s["name"]).upper()) for s in summary.series
                               if s["points"]]}


def load_ltv_curve(conn, since: str | None, until: str | None) -> dict:
    ltv = report_table(conn, "ltv", by="source", since=since, until=until)
    # Only the curve itself: with no contact old enough for a 30-day point there is nothing to draw
    # (chart_series would fall back to revenue bars, which is not this chart).
    return {"ltv_series": chart_series(ltv) if ltv.series else []}


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
    info = build_view(conn, "summary", compare="previous", since=since, until=until).extra["compare"]
    changes, trends = {}, {}
    for key, _label in FIGURES:
        c = info["figures"].get(key)
        if c is None:
            continue
        kind = MONEY if isinstance(c.get("change"), dict) else ("percent" if key == "conversion_rate" else "int")
        changes[key] = change_text(kind, c)
        trend = info.get("trend", {}).get(key)
        if isinstance(trend, dict):  # money: the largest currency's line
            trend = max(trend.values(), key=lambda v: (abs(v[-1]), v), default=None)
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


def figure_text(key: str, value) -> str:
    if value is None:
        return "—"
    if isinstance(value, dict):
        # One currency per line, the largest amount first; never a sum across currencies.
        items = sorted(value.items(), key=lambda kv: (-(kv[1] or 0), kv[0]))
        return "\n".join(format_money(v, c) for c, v in items if v is not None) or "—"
    if key == "conversion_rate":
        return f"{value * 100:.1f}%"
    return f"{value:,}" if isinstance(value, int) else f"{value:,.2f}"
