"""LTV and cohorts (docs/SPEC.md §3, §4): revenue of contacts grouped by first-touch key, tag or month.

Per row: ``contacts``; ``customers`` (contacts with positive revenue in any
currency); ``customers_per_currency`` (contacts with positive revenue in that
currency); ``revenue`` (net of refunds, per currency); ``value_per_contact``
(lead value) = a currency's revenue / all contacts of the row, and
``value_per_customer`` = a currency's revenue / that currency's customers
(docs/SPEC.md §4: a EUR-only buyer does not dilute the USD figure).
Documented extras: ``conversion_rate`` = customers / contacts;
``ltv_at_days`` {"30": {"usd": ...}, ...} = average revenue a contact brought in
the first N days after its anchor (first touch), over the contacts whose
anchor is at least N days before the data's end, the latest activity in the
workspace whatever the date filter (younger ones have not had N days yet; the
value is absent when none has); ``median_days_to_first_purchase``
from anchor to the first order with revenue (0 when the order came first).
A contact with several tags counts under each of its tags.
"""

from __future__ import annotations

from statistics import median

from .cohort import as_of
from .grouped import (
    LTV_DAYS as LTV_DAYS,  # the windows, where they were before grouped.py
)
from .grouped import groups as sql_groups
from .model import (CUSTOMERS_HELP, FLOAT, INT, LEAD_VALUE_HELP, MONEY, PER_CUSTOMER_HELP, PERCENT, TEXT, Column,
                    Range, Report, money_per)

CHART_ROWS = 8


def ltv(conn, rng: Range, by: str = "source") -> Report:
    # Grouped in SQL (grouped.py): Python sees one row per group, not one per contact.
    groups = sql_groups(conn, rng, by, as_of(conn))
    rows = []
    for key, g in groups.items():
        revenue = dict(sorted(g["revenue"].items()))
        rows.append({
            "key": key, "contacts": g["contacts"], "customers": g["customers"],
            "customers_per_currency": dict(sorted(g["customers_per_currency"].items())), "revenue": revenue,
            "value_per_contact": money_per(revenue, g["contacts"]),
            "value_per_customer": money_per(revenue, g["customers_per_currency"]),
            "conversion_rate": round(g["customers"] / g["contacts"], 4) if g["contacts"] else None,
            "ltv_at_days": {str(d): {cur: round(v / n, 2) for cur, v in sorted(money.items())}
                            for d, (n, money) in g["ltv"].items() if n},
            "median_days_to_first_purchase": round(median(g["middle"]), 1) if g["middle"] else None,
        })
    rows.sort(key=lambda r: r["key"] if by == "cohort_month" else (-r["contacts"], r["key"]))
    series = []
    for r in sorted(rows, key=lambda r: -r["contacts"])[:CHART_ROWS]:
        for cur in r["revenue"]:
            points = [(int(d), v[cur]) for d, v in r["ltv_at_days"].items() if cur in v]
            if points:
                series.append({"name": f"{r['key']} ({cur.upper()})", "currency": cur, "key": r["key"],
                               "points": [(0, 0.0)] + points})
    label = {"source_medium": "Source / medium", "cohort_month": "Month of first touch"}.get(by, by.capitalize())
    return Report(
        name="ltv", title=f"Lifetime value by {label.lower()}", parameters={"by": by, **rng.as_params()},
        columns=[Column("key", label, TEXT), Column("contacts", "Contacts", INT), Column("customers", "Customers", INT, CUSTOMERS_HELP),
                 Column("revenue", "Revenue", MONEY), Column("value_per_contact", "Lead value", MONEY, LEAD_VALUE_HELP),
                 Column("value_per_customer", "Value per customer", MONEY, PER_CUSTOMER_HELP),
                 Column("conversion_rate", "Conversion", PERCENT),
                 Column("median_days_to_first_purchase", "Median days to purchase", FLOAT)],
        rows=rows, series=series, extra={"by": by})
