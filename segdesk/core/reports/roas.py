"""Return on ad spend (an extension, ``segdesk report roas --by source|campaign|ad_group``).

Per key: ad spend on days in the range (dates as the ad platform reports
them) that visits met, and the leads that spend bought: contacts whose first
touch is in the range and was bought by a spend line (spend_match.py, the one
rule: source and medium, campaign where the line names one, and at the
``ad_group`` grain the ad group that utm_content, else utm_term, names).
Direct, organic and referral first touches never absorb spend. Then the
customers among the leads and their revenue (all of it, net of refunds, as
in LTV). ``--by source`` is the platform (facebook, google, bing, or what
spend was tagged with); ``ad_group`` rows are ``source / campaign / ad group``.

cost_per_lead = spend / leads, cost_per_customer = spend / the customers who
paid in the spend's currency, roas = revenue / spend: each per currency, and
only where spend and revenue share the currency (currencies are never
converted). Revenue in a currency without spend stays in ``revenue`` and is
listed in ``uncompared_revenue``; ``compared_currencies`` says which were set
against spend. Spend no visit in the range met is not in any row: it is
listed apart as ``unmatched_spend``, so the rows' spend plus it is all the
spend in the range, per currency.
"""

from __future__ import annotations

from ..money import format_money
from .grouped import groups as sql_groups
from .model import INT, MONEY, NOT_SET, TEXT, UNKNOWN, Column, Range, Report, money_per
from .spend_match import Line, Matcher, spend_lines, unmatched

BY = ("source", "campaign", "ad_group")
SEP = "\x1f"
LABELS = {"source": "Source", "campaign": "Campaign", "ad_group": "Source / campaign / ad group"}


def row_key(by: str, line: Line) -> str:
    if by == "source":
        return line[0]
    if by == "campaign":
        return line[2] or NOT_SET
    return f"{line[0]} / {line[2] or NOT_SET} / {line[3] or NOT_SET}"


def roas(conn, rng: Range, by: str = "source") -> Report:
    grain = "ad_group" if by == "ad_group" else "campaign"
    lines = spend_lines(conn, rng, grain)
    matcher = Matcher(conn, lines, grain)
    # Leads, customers and revenue per first touch, grouped in SQL (grouped.py), then each group to the
    # row of the spend line that bought it.
    groups: dict[str, dict] = {}
    met: set[Line] = set()
    missed = 0  # ad group grain: leads of a campaign with spend whose tags named none of its ad groups
    for touch, g in sql_groups(conn, rng, "touch_ad" if grain == "ad_group" else "touch", ltv=False).items():
        if touch == UNKNOWN:
            continue
        parts_of_touch = touch.split(SEP)
        line = matcher.line_of(*parts_of_touch)
        if line is None:
            if grain == "ad_group" and matcher.campaign_has_spend(*parts_of_touch[:3]):
                missed += g["contacts"]
            continue
        met.add(line)
        row = groups.setdefault(row_key(by, line), {"leads": 0, "customers": 0, "paid_in": {}, "revenue": {}})
        row["leads"] += g["contacts"]
        row["customers"] += g["customers"]  # first touches are disjoint: a contact is in one group
        for name in ("paid_in", "revenue"):
            for cur, v in g["customers_per_currency" if name == "paid_in" else "revenue"].items():
                row[name][cur] = row[name].get(cur, 0) + v
    met |= matcher.visited(conn, rng, set(lines) - met)
    spend: dict[str, dict[str, int]] = {}
    parts: dict[str, dict] = {}
    for line in met:
        row = spend.setdefault(row_key(by, line), {})
        parts[row_key(by, line)] = {"source": line[0], "campaign": line[2] or NOT_SET, "ad_group": line[3] or NOT_SET}
        for cur, v in lines[line].items():
            row[cur] = row.get(cur, 0) + v
    rows = []
    for key in sorted(spend):
        g = groups.get(key, {"leads": 0, "customers": 0, "paid_in": {}, "revenue": {}})
        cost = dict(sorted(spend[key].items()))
        revenue = dict(sorted(g["revenue"].items()))
        rows.append({"key": key, **(parts[key] if by == "ad_group" else {}), "spend": cost, "leads": g["leads"],
                     "customers": g["customers"], "revenue": revenue, "cost_per_lead": money_per(cost, g["leads"]),
                     "cost_per_customer": money_per(cost, g["paid_in"]),
                     "roas": {cur: round(revenue.get(cur, 0) / v, 4) for cur, v in cost.items() if v},
                     "uncompared_revenue": {cur: v for cur, v in revenue.items() if cur not in cost}})
    rows.sort(key=lambda r: (-sum(r["spend"].values()), -r["leads"], r["key"]))
    compared = sorted({cur for r in rows for cur in r["spend"]})
    notes = []
    if missed:
        notes.append(f"{missed:,} lead{'s' if missed != 1 else ''} came from a campaign with spend but named none of "
                     f"its ad groups (utm_content or utm_term, or a resolved gclid): in no ad group row")
    apart = unmatched(lines, met, grain)
    if apart:
        notes.append(_unmatched_note(apart))
    uncompared = sorted({cur for r in rows for cur in r["uncompared_revenue"]})
    if uncompared:
        notes.append(f"revenue in {', '.join(c.upper() for c in uncompared)} has no spend in that currency to compare "
                     f"with: shown beside, not converted")
    series = [{"name": f"ROAS ({cur.upper()})", "currency": None,
               "points": [(r["key"], r["roas"][cur]) for r in rows if cur in r["roas"]]}
              for cur in sorted({c for r in rows for c in r["roas"]})]
    return Report(
        name="roas", title=f"Return on ad spend by {by.replace('_', ' ')}", parameters={"by": by, **rng.as_params()},
        columns=[Column("key", LABELS[by], TEXT), Column("spend", "Spend", MONEY,
                                                         "spend that visits met; the rest is listed as unmatched"),
                 Column("leads", "Leads", INT, "contacts whose first touch matches this row's spend (source, medium, "
                                               "campaign and ad group where named); never direct, organic or "
                                               "referral"),
                 Column("customers", "Customers", INT), Column("revenue", "Revenue", MONEY),
                 Column("cost_per_lead", "Cost per lead", MONEY),
                 Column("cost_per_customer", "Cost per customer", MONEY,
                        "spend divided by the leads who paid in the spend's currency"),
                 Column("roas", "ROAS", TEXT,
                        "revenue over spend in the same currency; other currencies are listed, never converted")],
        rows=rows, series=series, notes=notes,
        extra={"by": by, "compared_currencies": compared, "unmatched_spend": apart})


def _unmatched_note(apart: list[dict]) -> str:
    money: dict[str, int] = {}
    for u in apart:
        money[u["currency"]] = money.get(u["currency"], 0) + u["spend"]
    lines = {tuple(v for k, v in u.items() if k not in ("currency", "spend")) for u in apart}
    return (f"spend that no visit in the range met, not in the rows: "
            f"{', '.join(format_money(v, c) for c, v in sorted(money.items()))} ({len(lines)} spend "
            f"line{'s' if len(lines) != 1 else ''}; check their ads' UTM tags)")
