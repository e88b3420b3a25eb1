"""The campaign table as the app shows it: key figures first, in the reporting currency, originals a click away.

:func:`campaign_table` builds the ``campaigns`` report with converted figures
(the workspace's reporting currency, ``core/fx.py``) and returns a
``ReportTable`` whose columns are the converted ones, ordered so that the
answer to "which campaigns bring paying customers, and what is each worth"
comes first (a 1024-pixel window shows those without scrolling). With
``originals=True`` it is the report's own per-currency columns. The totals
row stays in ``extra["total"]`` (a table sorts its rows; totals stay below).
"""

from __future__ import annotations

from ..fx import chosen_currency, reporting_currency
from . import build_report
from .model import FLOAT, INT, MONEY, TEXT, Column
from .table import ReportTable, format_amounts, report_table

CHART_ROWS = 10
# (row key, label, kind, help); money labels get the currency.
KEY_COLUMNS = [
    ("key", "Source / campaign", TEXT, ""),
    ("spend", "Spend", MONEY, ""),
    ("revenue", "Revenue", MONEY, "net of refunds, every order of the row's leads"),
    ("roas", "ROAS", FLOAT, "revenue / spend, both converted at each day's rate; 1.00 is break-even"),
    ("customers", "Customers", INT, "leads who paid"),
    ("cost_per_customer", "Cost per customer", MONEY, "spend / customers"),
    ("leads", "Leads", INT, "contacts whose first touch is this row's (or was bought by its spend)"),
    ("cost_per_lead", "Cost per lead", MONEY, "spend / leads"),
    ("lead_value", "Lead value", MONEY, "revenue / leads"),
    ("ltv_30", "LTV 30 d", MONEY, "revenue per lead in the first 30 days after first touch"),
    ("ltv_90", "LTV 90 d", MONEY, "revenue per lead in the first 90 days after first touch"),
    ("ltv_365", "LTV 365 d", MONEY, "revenue per lead in the first 365 days after first touch"),
    ("payback_days", "Payback", TEXT, "days until revenue per lead reached the cost per lead (LTV windows)"),
    ("visitors", "Visitors", INT, "devices with a session from this row's channel in the range"),
]


def campaign_table(conn, originals: bool = False, currency: str | None = None, **params) -> ReportTable:
    """The table in ``currency`` (default: the workspace's reporting currency); ``originals``: per currency."""
    currency = currency or reporting_currency(conn)
    params = {k: v for k, v in params.items() if k in ("since", "until", "timezone") and v not in (None, "")}
    report = ReportTable.of(build_report(conn, "campaigns", currency=currency, **params))
    if originals:
        report.columns = [c for c in report.columns if not c.key.endswith("_converted")]
        return report
    cur = currency.lower()
    missing = {c for c, u in report.extra["converted"]["rates"].items() if u.get("missing_days")}
    rows = [_display(r, cur, missing) for r in report.rows]
    total = report.extra.get("total")
    report.extra["total"] = _display(total, cur, missing) if total else None
    columns = [Column(k, f"{label} ({cur.upper()})" if kind == MONEY else label, kind, help)
               for k, label, kind, help in KEY_COLUMNS]
    t = report.extra["total"]
    if t:
        roas = f" · ROAS {t['roas']:.2f}" if t.get("roas") is not None else ""
        report.notes.insert(0, f"Total: spend {format_amounts(t['spend'] or {})} · revenue "
                               f"{format_amounts(t['revenue'] or {})}{roas} · {t['leads']:,} leads · "
                               f"{t['customers']:,} customers")
    ranked = sorted((r for r in rows if r["revenue"]), key=lambda r: -r["revenue"][cur])[:CHART_ROWS]
    series = [{"name": f"Revenue ({cur.upper()})", "currency": cur, "points": [(r["key"], r["revenue"][cur]) for r in ranked]}]
    report.extra["chart"] = f"Revenue by campaign in {cur.upper()} (top {CHART_ROWS})"
    return ReportTable(report.name, f"Campaigns in {cur.upper()}", report.parameters, columns, rows,
                       series if ranked else [], report.extra, report.notes)


def _display(row: dict, cur: str, missing: set) -> dict:
    """One row in the reporting currency: converted money maps, ROAS and payback as plain numbers.

    ``unconverted`` lists the currencies of the row's own amounts that lack a rate on some day: its
    converted figures leave those amounts out, and the app marks them."""
    out = {k: row.get(k) for k in ("key", "source", "campaign", "visitors", "leads", "customers")}
    # Without a rate of the reporting currency itself on some day, every other currency is affected.
    out["unconverted"] = sorted({c for k in ("revenue", "spend") for c in (row.get(k) or {})
                                 if c != cur and (c in missing or cur in missing)})
    for key in ("spend", "revenue", "cost_per_customer", "cost_per_lead", "lead_value", "ltv_30", "ltv_90", "ltv_365"):
        value = row.get(f"{key}_converted") or {}
        out[key] = {cur: value[cur]} if cur in value else None
        out[f"{key}_original"] = row.get(key)
    out["roas"] = (row.get("roas_converted") or {}).get(cur)
    days = (row.get("payback_days_converted") or {})
    if not out["spend"]:
        out["payback_days"] = None
    else:
        out["payback_days"] = f"≤ {days[cur]} days" if days.get(cur) else "not yet"
    return out


def build_table(conn, name: str, params: dict) -> ReportTable:
    """What the app's Reports page shows for ``name``: the campaign table in the reporting currency, any
    other report as built, with converted columns when the marketer chose a reporting currency."""
    if name == "campaigns":
        return campaign_table(conn, **params)
    return report_table(conn, name, currency=chosen_currency(conn), **params)


PAGE_COLUMNS = ("key", "spend", "revenue", "roas", "customers", "cost_per_customer", "lead_value", "payback_days")


def compact(table: ReportTable) -> ReportTable:
    """The key columns only, for a page (the PDF's dashboard): the whole table does not fit its width."""
    if table.name != "campaigns" or not any(c.key == "roas" and c.kind == FLOAT for c in table.columns):
        return table
    columns = [c for c in table.columns if c.key in PAGE_COLUMNS]
    return ReportTable(table.name, table.title, table.parameters, columns, table.rows, table.series, table.extra,
                       table.notes)
