"""Return on ad spend (an extension, ``segdesk report roas --by source|campaign``).

Per key: imported ad spend on days in the range (dates as the ad platform
reports them), and the leads that spend bought: contacts whose first touch is
in the range and matches a spend line on source and medium, and on campaign
where the line names one (docs/SPEC.md §4). A line without a medium matches
any paid medium of its source; a line without a campaign matches the
campaigns no other line of that source and medium names. Direct, organic and
referral first touches never absorb spend. Then the customers among the leads
and their revenue (all of it, net of refunds, as in LTV).

cost_per_lead = spend / leads, cost_per_customer = spend / the customers who
paid in the spend's currency, roas = revenue / spend: each per currency, and
only where spend and revenue share the currency (currencies are never
converted). Revenue in a currency without spend stays in ``revenue`` and is
listed in ``uncompared_revenue``; ``compared_currencies`` says which were set
against spend.
Spend is CSV imports and ad platforms alike (the ``spend_rows`` view); spend
no touch matches is listed apart as ``unmatched_spend`` (spend_match.py).
"""

from __future__ import annotations

from datetime import datetime

from .converted import spend_source
from .filters import spend_wanted
from .grouped import groups as sql_groups
from .model import INT, MONEY, NOT_SET, TEXT, UNKNOWN, Column, Range, Report, money_per
from .spend_match import unmatched_spend

BY = ("source", "campaign")
UNPAID_MEDIA = ("organic", "referral", "(none)")  # (direct) has medium (none)
SEP = "\x1f"


def has_spend(conn) -> bool:
    """Whether any ad spend was imported (without it ROAS has nothing to divide by)."""
    return bool(conn.execute("SELECT EXISTS(SELECT 1 FROM spend_rows)").fetchone()[0])


def _local_date(ts: str | None, rng: Range) -> str | None:
    return datetime.fromisoformat(ts).astimezone(rng.zone).date().isoformat() if ts else None


def spend_lines(conn, rng: Range) -> dict[tuple, dict[str, int]]:
    """(source, medium, campaign) -> {currency: spend} on days in the range."""
    out: dict[tuple, dict[str, int]] = {}
    for source, medium, campaign, cur, amount in conn.execute(
        f"SELECT source, medium, campaign, currency, sum(spend) FROM {spend_source()} WHERE (:since IS NULL OR date >= :since) "
        "AND (:until IS NULL OR date < :until) GROUP BY 1, 2, 3, 4",
        {"since": _local_date(rng.since, rng), "until": _local_date(rng.until, rng)},
    ):
        if spend_wanted(rng, source, campaign):
            out.setdefault((source, medium, campaign), {})[cur] = amount
    return out


def matching_line(lines, source: str, medium: str, campaign: str) -> tuple | None:
    """The spend line a first touch was bought by: its campaign's line first, else its source/medium's."""
    if medium in UNPAID_MEDIA or source == "(direct)":
        return None
    fits = [(s, m, c) for s, m, c in lines if s == source and m in (medium, "")]
    named = [line for line in fits if line[2] and line[2] == campaign]
    if named:
        return min(named, key=lambda line: line[1] == "")  # the line naming the medium before one that does not
    open_lines = [line for line in fits if not line[2]]
    return min(open_lines, key=lambda line: line[1] == "") if open_lines else None


def roas(conn, rng: Range, by: str = "source") -> Report:
    lines = spend_lines(conn, rng)

    def row_key(line: tuple) -> str:
        return line[0] if by == "source" else (line[2] or NOT_SET)

    spend: dict[str, dict[str, int]] = {}
    for line, money in lines.items():
        row = spend.setdefault(row_key(line), {})
        for cur, v in money.items():
            row[cur] = row.get(cur, 0) + v
    # Leads, customers and revenue per first touch (source, medium, campaign), grouped in SQL (grouped.py),
    # then each group to the row of the spend line that bought it.
    groups: dict[str, dict] = {}
    for touch, g in sql_groups(conn, rng, "touch", ltv=False).items():
        if touch == UNKNOWN:
            continue
        line = matching_line(lines, *touch.split(SEP))
        if line is None:
            continue
        row = groups.setdefault(row_key(line), {"leads": 0, "customers": 0, "paid_in": {}, "revenue": {}})
        row["leads"] += g["contacts"]
        row["customers"] += g["customers"]  # first touches are disjoint: a contact is in one group
        for name in ("paid_in", "revenue"):
            for cur, v in g["customers_per_currency" if name == "paid_in" else "revenue"].items():
                row[name][cur] = row[name].get(cur, 0) + v
    rows = []
    for key in sorted(spend):
        g = groups.get(key, {"leads": 0, "customers": 0, "paid_in": {}, "revenue": {}})
        cost = dict(sorted(spend[key].items()))
        revenue = dict(sorted(g["revenue"].items()))
        rows.append({"key": key, "spend": cost, "leads": g["leads"], "customers": g["customers"], "revenue": revenue,
                     "cost_per_lead": money_per(cost, g["leads"]), "cost_per_customer": money_per(cost, g["paid_in"]),
                     "roas": {cur: round(revenue.get(cur, 0) / v, 4) for cur, v in cost.items() if v},
                     "uncompared_revenue": {cur: v for cur, v in revenue.items() if cur not in cost}})
    rows.sort(key=lambda r: (-sum(r["spend"].values()), -r["leads"], r["key"]))
    compared = sorted({cur for r in rows for cur in r["spend"]})
    notes = []
    uncompared = sorted({cur for r in rows for cur in r["uncompared_revenue"]})
    if uncompared:
        notes.append(f"revenue in {', '.join(c.upper() for c in uncompared)} has no spend in that currency to compare "
                     f"with: shown beside, not converted")
    series = [{"name": f"ROAS ({cur.upper()})", "currency": None,
               "points": [(r["key"], r["roas"][cur]) for r in rows if cur in r["roas"]]}
              for cur in sorted({c for r in rows for c in r["roas"]})]
    return Report(
        name="roas", title=f"Return on ad spend by {by}", parameters={"by": by, **rng.as_params()},
        columns=[Column("key", by.capitalize(), TEXT), Column("spend", "Spend", MONEY),
                 Column("leads", "Leads", INT, "contacts whose first touch matches this row's spend (source, medium, "
                                               "campaign where named); never direct, organic or referral"),
                 Column("customers", "Customers", INT), Column("revenue", "Revenue", MONEY),
                 Column("cost_per_lead", "Cost per lead", MONEY),
                 Column("cost_per_customer", "Cost per customer", MONEY,
                        "spend divided by the leads who paid in the spend's currency"),
                 Column("roas", "ROAS", TEXT,
                        "revenue over spend in the same currency; other currencies are listed, never converted")],
        rows=rows, series=series, extra={"by": by, "compared_currencies": compared,
                                                "unmatched_spend": unmatched_spend(conn, _local_date(rng.since, rng),
                                                                                   _local_date(rng.until, rng))}, notes=notes)
