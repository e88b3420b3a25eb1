"""The one campaign table (``segdesk report campaigns``; the app's first report and the dashboard's centre).

One row per source / campaign: the leads a row's first touches brought, what
they paid and what they cost, from the machinery LTV and ROAS share
(``grouped.groups`` by whole first touch, ``spend_match.Matcher``):

- a first touch bought by a spend line (ROAS's rule) counts in that line's row,
  ``source / campaign`` of the line (a line naming no campaign: ``(not set)``),
  so spend and the leads it bought share a row; any other first touch counts
  under its own source and campaign (``(not set)`` without ``utm_campaign``);
- ``visitors``: devices with a session of the row's channel starting in the
  range (a device counts once per source, medium and campaign it came by);
- ``leads``, ``customers``, ``revenue``, ``lead_value`` (revenue / leads),
  ``ltv_30`` / ``ltv_90`` / ``ltv_365`` (average revenue per lead in the first N
  days after first touch, over the leads who have had N days), per currency;
- ``spend``, ``cost_per_lead``, ``cost_per_customer`` (spend / the leads who paid
  in the spend's currency), ``roas`` (revenue / spend, same currency only) and
  ``payback_days``: the first LTV window (30, 60, 90, 180, 365 days) whose
  revenue per lead reaches the cost per lead, per currency of the spend.

With ``currency`` (``build_report``) every money column has a ``*_converted``
twin in the reporting currency, and the payback compares converted figures.
Ad groups: a row is never split by ad group here (one table per source /
campaign); ``report roas --by ad_group`` is the ad-group view, by the same rule.
"""

from __future__ import annotations

from .cohort import as_of
from .grouped import LTV_DAYS
from .grouped import groups as sql_groups
from .model import (CUSTOMERS_HELP, INT, LEAD_VALUE_HELP, MONEY, NOT_SET, TEXT, UNKNOWN, Column, Range, Report,
                    money_per)
from .roas import SEP
from .spend_match import Matcher, spend_lines

WINDOWS = (30, 90, 365)
NOT_SET_NOTE = ("(not set): first touches whose link had no utm_campaign (direct visits, search, referrals, "
                "untagged ads) and spend lines naming no campaign. Tag every ad and email link with "
                "utm_source, utm_medium and utm_campaign and this row shrinks.")


def row_key(source: str, campaign: str | None) -> str:
    return f"{source} / {campaign or NOT_SET}"


VISITORS_SQL = ("SELECT source, medium, coalesce(campaign, ''), count(DISTINCT anonymous_id) FROM sessions "
                "WHERE (:since IS NULL OR start_ts >= :since) AND (:until IS NULL OR start_ts < :until) GROUP BY 1, 2, 3")
# report_channel_visitors (migration 0023) answers for all time until sessions move on (its triggers say when).
VISITORS_FRESH = ("SELECT (SELECT dirty FROM report_visitors_state) = 0 "
                  "AND NOT EXISTS (SELECT 1 FROM sessions_dirty)")


def _visitors(conn, rng: Range) -> dict[tuple, int]:
    if rng.since is None and rng.until is None and conn.execute(VISITORS_FRESH).fetchone()[0] == 1:
        rows = conn.execute("SELECT source, medium, campaign, visitors FROM report_channel_visitors")
    else:
        rows = conn.execute(VISITORS_SQL, {"since": rng.since, "until": rng.until})
    return {(source, medium, campaign): n for source, medium, campaign, n in rows}


def refresh_channel_visitors(conn) -> bool:
    """Count devices per channel again if sessions moved on since; True when it did. Waits while devices
    wait in ``sessions_dirty`` (their sessions are about to be rewritten)."""
    if conn.execute("SELECT dirty FROM report_visitors_state").fetchone()[0] == 0 or \
            conn.execute("SELECT EXISTS (SELECT 1 FROM sessions_dirty)").fetchone()[0]:
        return False
    conn.execute("DELETE FROM report_channel_visitors")
    conn.execute(f"INSERT INTO report_channel_visitors (source, medium, campaign, visitors) {VISITORS_SQL}",
                 {"since": None, "until": None})
    conn.execute("UPDATE report_visitors_state SET dirty = 0")
    return True


def _add(into: dict, money: dict) -> None:
    for cur, v in money.items():
        into[cur] = into.get(cur, 0) + v


def _empty(source: str, campaign: str) -> dict:
    return {"source": source, "campaign": campaign, "visitors": 0, "leads": 0, "customers": 0, "paid_in": {},
            "revenue": {}, "spend": {}, "ltv": {d: [0, {}] for d in LTV_DAYS}}


def campaigns(conn, rng: Range) -> Report:
    lines = spend_lines(conn, rng)
    matcher = Matcher(conn, lines)
    acc: dict[str, dict] = {}

    def row_of(source: str, medium: str, campaign: str) -> dict:
        line = matcher.line_of(source, medium, campaign)
        src, camp = (line[0], line[2]) if line else (source, campaign)
        return acc.setdefault(row_key(src, camp), _empty(src, camp or NOT_SET))

    for (source, _medium, campaign, _ad_group), money in lines.items():
        _add(acc.setdefault(row_key(source, campaign), _empty(source, campaign or NOT_SET))["spend"], money)
    for touch, g in sql_groups(conn, rng, "touch", as_of(conn), medians=False).items():
        if touch == UNKNOWN:
            row = acc.setdefault(UNKNOWN, _empty(UNKNOWN, UNKNOWN))
        else:
            row = row_of(*touch.split(SEP))
        row["leads"] += g["contacts"]
        row["customers"] += g["customers"]  # first touches are disjoint: a contact is in one group
        _add(row["paid_in"], g["customers_per_currency"])
        _add(row["revenue"], g["revenue"])
        for d, (n, money) in g["ltv"].items():
            row["ltv"][d][0] += n
            _add(row["ltv"][d][1], money)
    for (source, medium, campaign), n in _visitors(conn, rng).items():
        row_of(source, medium, campaign)["visitors"] += n
    rows = [_row(key, a) for key, a in acc.items()]
    rows.sort(key=lambda r: (-sum(r["spend"].values()), -r["customers"], -r["leads"], r["key"]))
    totals = _empty("", "")
    for a in acc.values():
        for k in ("visitors", "leads", "customers"):
            totals[k] += a[k]
        for k in ("paid_in", "revenue", "spend"):
            _add(totals[k], a[k])
        for d in LTV_DAYS:
            totals["ltv"][d][0] += a["ltv"][d][0]
            _add(totals["ltv"][d][1], a["ltv"][d][1])
    total = _row("Total", totals)
    notes = [NOT_SET_NOTE] if any(r["campaign"] == NOT_SET for r in rows) else []
    return Report(
        name="campaigns", title="Campaigns", parameters=rng.as_params(),
        columns=[Column("key", "Source / campaign", TEXT), Column("spend", "Spend", MONEY),
                 Column("visitors", "Visitors", INT, "devices with a session from this row's channel in the range"),
                 Column("leads", "Leads", INT, "contacts whose first touch is this row's (or was bought by its spend)"),
                 Column("customers", "Customers", INT, CUSTOMERS_HELP), Column("revenue", "Revenue", MONEY),
                 Column("cost_per_lead", "Cost per lead", MONEY),
                 Column("cost_per_customer", "Cost per customer", MONEY,
                        "spend divided by the leads who paid in the spend's currency"),
                 Column("lead_value", "Lead value", MONEY, LEAD_VALUE_HELP),
                 Column("ltv_30", "LTV 30 days", MONEY, "revenue per lead in the first 30 days after first touch"),
                 Column("ltv_90", "LTV 90 days", MONEY, "revenue per lead in the first 90 days after first touch"),
                 Column("ltv_365", "LTV 365 days", MONEY, "revenue per lead in the first 365 days after first touch"),
                 Column("roas", "ROAS", TEXT, "revenue over spend in the same currency"),
                 Column("payback_days", "Payback (days)", TEXT,
                        "the first LTV window (30/60/90/180/365 days) whose revenue per lead reaches the cost per "
                        "lead")],
        rows=rows, extra={"total": total, "not_set": NOT_SET_NOTE}, notes=notes)


def _row(key: str, a: dict) -> dict:
    revenue = dict(sorted(a["revenue"].items()))
    spend = dict(sorted(a["spend"].items()))
    ltv = {d: {cur: round(v / n, 2) for cur, v in money.items()} for d, (n, money) in a["ltv"].items() if n}
    cost_per_lead = money_per(spend, a["leads"])
    payback = {}
    for cur, cpl in cost_per_lead.items():
        payback[cur] = next((d for d in LTV_DAYS if d in ltv and ltv[d].get(cur, 0) >= cpl), None)
    return {"key": key, "source": a["source"], "campaign": a["campaign"], "spend": spend, "visitors": a["visitors"],
            "leads": a["leads"], "customers": a["customers"], "customers_per_currency": dict(sorted(a["paid_in"].items())),
            "revenue": revenue, "cost_per_lead": cost_per_lead, "cost_per_customer": money_per(spend, a["paid_in"]),
            "lead_value": money_per(revenue, a["leads"]),
            **{f"ltv_{d}": ltv.get(d, {}) for d in WINDOWS},
            "roas": {cur: round(revenue.get(cur, 0) / v, 4) for cur, v in spend.items() if v},
            "payback_days": payback}
