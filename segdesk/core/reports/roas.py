"""Return on ad spend (an extension, ``segdesk report roas --by source|campaign``).

Per key: imported ad spend on days in the range (dates as the ad platform
reports them), the leads whose first touch has that key and whose first touch
is in the range, the customers among them and their revenue (all of it, net
of refunds, as in LTV). cost_per_lead = spend / leads, cost_per_customer =
spend / customers, roas = revenue / spend: each per currency, and only where
spend and revenue share the currency (currencies are never converted).
"""

from __future__ import annotations

from datetime import datetime

from .grouped import groups as sql_groups
from .model import INT, MONEY, NOT_SET, TEXT, Column, Range, Report, money_per

BY = ("source", "campaign")


def has_spend(conn) -> bool:
    """Whether any ad spend was imported (without it ROAS has nothing to divide by)."""
    return bool(conn.execute("SELECT EXISTS(SELECT 1 FROM ad_spend)").fetchone()[0])


def _local_date(ts: str | None, rng: Range) -> str | None:
    return datetime.fromisoformat(ts).astimezone(rng.zone).date().isoformat() if ts else None


def roas(conn, rng: Range, by: str = "source") -> Report:
    key_sql = "source" if by == "source" else f"coalesce(nullif(campaign, ''), '{NOT_SET}')"
    spend: dict[str, dict[str, int]] = {}
    for key, cur, amount in conn.execute(
        f"SELECT {key_sql}, currency, sum(spend) FROM ad_spend WHERE (:since IS NULL OR date >= :since) "
        f"AND (:until IS NULL OR date < :until) GROUP BY 1, 2",
        {"since": _local_date(rng.since, rng), "until": _local_date(rng.until, rng)},
    ):
        spend.setdefault(key, {})[cur] = amount
    # Leads, customers and revenue per first-touch key, grouped in SQL (grouped.py).
    groups = {key: {"leads": g["contacts"], "customers": g["customers"], "revenue": g["revenue"]}
              for key, g in sql_groups(conn, rng, by, ltv=False).items()}
    rows = []
    for key in sorted(set(spend) | set(groups)):
        g = groups.get(key, {"leads": 0, "customers": 0, "revenue": {}})
        cost = dict(sorted(spend.get(key, {}).items()))
        revenue = dict(sorted(g["revenue"].items()))
        rows.append({"key": key, "spend": cost, "leads": g["leads"], "customers": g["customers"], "revenue": revenue,
                     "cost_per_lead": money_per(cost, g["leads"]), "cost_per_customer": money_per(cost, g["customers"]),
                     "roas": {cur: round(revenue.get(cur, 0) / v, 4) for cur, v in cost.items() if v}})
    rows.sort(key=lambda r: (-sum(r["spend"].values()), -r["leads"], r["key"]))
    series = [{"name": f"ROAS ({cur.upper()})", "currency": None,
               "points": [(r["key"], r["roas"][cur]) for r in rows if cur in r["roas"]]}
              for cur in sorted({c for r in rows for c in r["roas"]})]
    return Report(
        name="roas", title=f"Return on ad spend by {by}", parameters={"by": by, **rng.as_params()},
        columns=[Column("key", by.capitalize(), TEXT), Column("spend", "Spend", MONEY), Column("leads", "Leads", INT),
                 Column("customers", "Customers", INT), Column("revenue", "Revenue", MONEY),
                 Column("cost_per_lead", "Cost per lead", MONEY), Column("cost_per_customer", "Cost per customer", MONEY),
                 Column("roas", "ROAS", TEXT)],  # explained in the header tooltip (reports/glossary.py)
        rows=rows, series=series, extra={"by": by})
