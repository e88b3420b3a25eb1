"""The summary: contacts, customers, revenue net of refunds, lead value, conversion rate, per currency.

A row is one currency: its ``customers`` are the contacts who paid in it, and
``value_per_customer`` divides its revenue by them (C paying 20 USD and 10 EUR
counts in both rows); ``lead_value`` divides by every contact of the cohort.
The top-level ``customers`` counts each paying contact once, whatever currency.

Figures are over the cohort of contacts whose anchor (first touch, else first
seen) is in the range, with all their revenue, so they match the LTV report's
totals. ``period_revenue`` and ``orders`` are every counted order created in the
range (including orders of older contacts and orders matched to no contact),
the period's cash view; without a range both views cover everything.
"""

from __future__ import annotations

from .filters import cohort_clause
from .data import order_params, orders_source, range_where
from .touches import first_touch_sql
from .model import INT, MONEY, PER_CUSTOMER_HELP, PERCENT, TEXT, Column, Range, Report, money_per


def summary(conn, rng: Range) -> Report:
    params = order_params(conn, rng)
    cohort = "SELECT c.id FROM contacts c WHERE c.canonical_id = c.id" + cohort_clause(rng)
    if rng.since or rng.until:  # the anchor needs the first touch only when a range selects by it
        cohort = (f"SELECT c.id FROM contacts c LEFT JOIN ({first_touch_sql(conn)}) ft ON ft.contact_id = c.id "
                  f"WHERE c.canonical_id = c.id AND coalesce(ft.start_ts, c.first_seen) >= coalesce(:since, '') "
                  f"AND (:until IS NULL OR coalesce(ft.start_ts, c.first_seen) < :until)" + cohort_clause(rng))
    contacts = conn.execute(f"SELECT count(*) FROM ({cohort})", params).fetchone()[0]
    # Grouped in SQL: Python sees a row per currency (and per month), not per contact or order.
    revenue: dict[str, int] = {}
    paid_in: dict[str, int] = {}  # customers per currency: who paid in it (what its "per customer" divides by)
    customers = 0
    for cur, v, paying in conn.execute(
        f"WITH pc AS (SELECT contact_id, currency, sum(amount - refunded) AS v FROM {orders_source(conn, rng)} "
        f"WHERE contact_id IN ({cohort}) GROUP BY 1, 2) "
        f"SELECT currency, sum(v), count(*) FILTER (WHERE v > 0) FROM pc GROUP BY currency "
        f"UNION ALL SELECT NULL, NULL, count(DISTINCT contact_id) FROM pc WHERE v > 0", params
    ):
        if cur is None:
            customers = paying
        else:
            revenue[cur] = v
            paid_in[cur] = paying
    revenue = dict(sorted(revenue.items()))
    period: dict[str, int] = {}
    refunds: dict[str, int] = {}
    monthly: dict[str, dict[str, int]] = {}
    orders = 0
    for cur, month, n, net, refunded in conn.execute(
        f"SELECT currency, substr(created_at, 1, 7), count(*), sum(amount - refunded), sum(refunded) "
        f"FROM {orders_source(conn, rng)} o WHERE {range_where('o')} GROUP BY 1, 2", order_params(conn, rng)
    ):
        orders += n
        period[cur] = period.get(cur, 0) + net
        refunds[cur] = refunds.get(cur, 0) + refunded
        monthly.setdefault(cur, {})[month] = net
    extra = {
        "contacts": contacts, "customers": customers,
        "conversion_rate": round(customers / contacts, 4) if contacts else None,
        "revenue": revenue, "lead_value": money_per(revenue, contacts),
        "customers_per_currency": dict(sorted(paid_in.items())),
        "value_per_customer": money_per(revenue, paid_in),
        "orders": orders, "period_revenue": dict(sorted(period.items())), "refunds": dict(sorted(refunds.items())),
        **rng.as_params(),
    }
    rows = [{"key": cur, "revenue": {cur: revenue.get(cur, 0)}, "lead_value": {cur: extra["lead_value"].get(cur)},
             "value_per_customer": {cur: extra["value_per_customer"].get(cur)},
             "period_revenue": {cur: period.get(cur, 0)}, "refunds": {cur: refunds.get(cur, 0)},
             "contacts": contacts, "customers": paid_in.get(cur, 0),
             "conversion_rate": round(paid_in.get(cur, 0) / contacts, 4) if contacts else None}
            for cur in sorted(set(revenue) | set(period))]
    series = [{"name": f"revenue per month, UTC ({cur.upper()})", "currency": cur, "points": sorted(months.items())}
              for cur, months in sorted(monthly.items())]
    return Report(
        name="summary", title="Summary", parameters=rng.as_params(),
        columns=[Column("key", "Currency", TEXT), Column("contacts", "Contacts", INT),
                 Column("customers", "Customers", INT, "contacts who paid in this row's currency"),
                 Column("revenue", "Revenue", MONEY),
                 Column("lead_value", "Lead value", MONEY, "this currency's revenue divided by all contacts"),
                 Column("value_per_customer", "Value per customer", MONEY, PER_CUSTOMER_HELP),
                 Column("conversion_rate", "Conversion", PERCENT), Column("period_revenue", "Period revenue", MONEY),
                 Column("refunds", "Refunds", MONEY)],
        rows=rows, series=series, extra=extra)
