"""LTV and cohorts (CONTRACTS.md §3, §4): revenue of contacts grouped by first-touch key, tag or month.

Per row: ``contacts``; ``customers`` (contacts with positive revenue in any
currency); ``revenue`` (net of refunds, per currency); ``value_per_contact``
(lead value) and ``value_per_customer`` = revenue / contacts and / customers.
Documented extras: ``conversion_rate`` = customers / contacts;
``ltv_at_days`` {"30": {"usd": ...}, ...} = average revenue a contact brought in
the first N days after its anchor (first touch), over the contacts whose
anchor is at least N days before the data's end (younger ones have not had N
days yet; the value is absent when none has); ``median_days_to_first_purchase``
from anchor to the first order with revenue (0 when the order came first).
A contact with several tags counts under each of its tags.
"""

from __future__ import annotations

from statistics import median

from .cohort import as_of, epoch, members
from .model import FLOAT, INT, MONEY, PERCENT, TEXT, Column, Range, Report, money_per

LTV_DAYS = (30, 60, 90, 180, 365)
CHART_ROWS = 8


def _group(ms: dict, end_epoch: float | None) -> dict[str, dict]:
    groups: dict[str, dict] = {}
    for m in ms.values():
        revenue = m.revenue()
        customer = any(v > 0 for v in revenue.values())
        anchor = epoch(m.anchor) if m.anchor else None
        timed = [(cur, net, epoch(t)) for _i, cur, net, t in m.orders] if anchor is not None else []
        paid = [t for _c, net, t in timed if net > 0]
        for key in m.keys:
            g = groups.setdefault(key, {"contacts": 0, "customers": 0, "revenue": {}, "days": [],
                                        "ltv": {d: [0, {}] for d in LTV_DAYS}})
            g["contacts"] += 1
            g["customers"] += customer
            for cur, v in revenue.items():
                g["revenue"][cur] = g["revenue"].get(cur, 0) + v
            if anchor is None:
                continue
            if paid:
                g["days"].append(max(0.0, (min(paid) - anchor) / 86400))
            for d in LTV_DAYS:
                if end_epoch is None or anchor + d * 86400 > end_epoch:
                    continue
                slot = g["ltv"][d]
                slot[0] += 1
                limit = anchor + d * 86400
                for cur, net, t in timed:
                    if t <= limit:
                        slot[1][cur] = slot[1].get(cur, 0) + net
    return groups


def ltv(conn, rng: Range, by: str = "source") -> Report:
    ms = members(conn, rng, by)
    end = as_of(conn, rng)
    groups = _group(ms, epoch(end) if end else None)
    rows = []
    for key, g in groups.items():
        revenue = dict(sorted(g["revenue"].items()))
        rows.append({
            "key": key, "contacts": g["contacts"], "customers": g["customers"], "revenue": revenue,
            "value_per_contact": money_per(revenue, g["contacts"]),
            "value_per_customer": money_per(revenue, g["customers"]),
            "conversion_rate": round(g["customers"] / g["contacts"], 4) if g["contacts"] else None,
            "ltv_at_days": {str(d): {cur: round(v / n, 2) for cur, v in sorted(money.items())}
                            for d, (n, money) in g["ltv"].items() if n},
            "median_days_to_first_purchase": round(median(g["days"]), 1) if g["days"] else None,
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
        columns=[Column("key", label, TEXT), Column("contacts", "Contacts", INT), Column("customers", "Customers", INT),
                 Column("revenue", "Revenue", MONEY), Column("value_per_contact", "Lead value", MONEY),
                 Column("value_per_customer", "Value per customer", MONEY),
                 Column("conversion_rate", "Conversion", PERCENT),
                 Column("median_days_to_first_purchase", "Median days to purchase", FLOAT)],
        rows=rows, series=series, extra={"by": by})
