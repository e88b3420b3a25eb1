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

Reading: one statement per build. A contact's revenue comes from the per-contact
cache (``contact_value.value_table``) when it answers, the period's figures from
the orders per hour (``order_hours.py``) when they do, else both from the counted
orders live. Several ranges of the same filters (a comparison and its trend,
:func:`prefetch`) are read in that one statement too: each contact and order
falls in at most one of them, which a ``CASE`` names.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace

from ..orders import source_of_truth
from .contact_value import value_table
from .converted import converting_to
from .data import orders_source
from .filters import cohort_clause
from .model import INT, MONEY, PER_CUSTOMER_HELP, PERCENT, TEXT, Column, Range, Report, money_per, parse_range
from .order_hours import hour_bound, hours_source
from .touches import first_touch_sql

# The ranges a comparison is about to build summaries for, and the figures read for them (prefetch).
_BATCH: ContextVar = ContextVar("segdesk_summary_batch", default=None)


@dataclass
class Figures:
    contacts: int = 0
    customers: int = 0
    revenue: dict = field(default_factory=dict)   # currency -> the cohort's net revenue
    paid_in: dict = field(default_factory=dict)   # currency -> contacts who paid in it
    period: dict = field(default_factory=dict)    # currency -> net revenue of the range's orders
    refunds: dict = field(default_factory=dict)
    monthly: dict = field(default_factory=dict)   # currency -> {UTC month: net}
    orders: int = 0


def summary(conn, rng: Range) -> Report:
    found = _prefetched(conn, rng)
    return _report(rng, found if found is not None else read_figures(conn, [rng])[0])


@contextmanager
def prefetch(periods):
    """Summaries built inside for any of ``periods`` ((since, until) as ``build_report`` takes them) are
    read together, once per filters and currency, on the first build that asks for one of them."""
    token = _BATCH.set((list(periods), {}))
    try:
        yield
    finally:
        _BATCH.reset(token)


def _prefetched(conn, rng: Range) -> Figures | None:
    batch = _BATCH.get()
    if batch is None:
        return None
    periods, done = batch
    key = (converting_to(), rng.scope, rng.tz)
    if key not in done:
        parsed = (replace(parse_range(conn, s, u, rng.tz), scope=rng.scope) for s, u in periods)
        ranges = list({(r.since, r.until): r for r in parsed}.values())  # "2026-03" and its dates are one range
        if (rng.since, rng.until) not in {(r.since, r.until) for r in ranges}:
            return None
        done[key] = {(r.since, r.until): f for r, f in zip(ranges, read_figures(conn, ranges))}
    elif converting_to():
        orders_source(conn, rng)  # records this build's rate usage (its notes), as reading would
    return done[key].get((rng.since, rng.until))


def read_figures(conn, ranges: list[Range]) -> list[Figures]:
    """The figures of each range (all of the same filters), one statement per set of disjoint ranges."""
    out: list[Figures | None] = [None] * len(ranges)
    for group in _disjoint(ranges):
        for i, figures in zip(group, _read(conn, [ranges[i] for i in group])):
            out[i] = figures
    return out


def _disjoint(ranges: list[Range]) -> list[list[int]]:
    """Indexes of ``ranges`` in groups whose ranges do not overlap (an open end overlaps everything)."""
    groups: list[list[int]] = []
    for i, r in enumerate(ranges):
        for g in groups:
            if all(r.since and r.until and o.since and o.until and (r.until <= o.since or o.until <= r.since)
                   for o in (ranges[j] for j in g)):
                g.append(i)
                break
        else:
            groups.append([i])
    return groups


def _case(conditions: list[str]) -> str:
    return "CASE " + " ".join(f"WHEN {c} THEN {i}" for i, c in enumerate(conditions)) + " END"


def _read(conn, ranges: list[Range]) -> list[Figures]:
    rng = ranges[0]
    params: dict = {"truth": source_of_truth(conn)}
    for i, r in enumerate(ranges):
        params.update({f"s{i}": r.since, f"u{i}": r.until, f"hs{i}": hour_bound(r.since), f"hu{i}": hour_bound(r.until)})
    source = orders_source(conn, rng)  # also what records a converted build's rate usage
    values, hours = value_table(conn, rng), hours_source(conn, ranges)
    ranged = any(r.since or r.until for r in ranges)
    # The anchor is needed only when a range selects contacts by it (a contact without one is in "all time" only).
    anchor = [f"coalesce(ft.start_ts, c.first_seen) >= coalesce(:s{i}, '') AND "
              f"(:u{i} IS NULL OR coalesce(ft.start_ts, c.first_seen) < :u{i})" if r.since or r.until else "1"
              for i, r in enumerate(ranges)]
    contacts = (f"SELECT {_case(anchor)} AS b, c.id AS cid FROM contacts c "
                + (f"LEFT JOIN ({first_touch_sql(conn)}) ft ON ft.contact_id = c.id " if ranged else "")
                + f"WHERE c.canonical_id = c.id{cohort_clause(rng)}")
    if values is not None and not ranged and not cohort_clause(rng):
        # Everyone: the cache holds canonical contacts only (one that stops being canonical makes it stale).
        ctes = [f"pc AS MATERIALIZED (SELECT 0 AS b, contact_id AS cid, currency AS cur, rev AS v FROM {values})"]
    elif values is not None:  # the cached revenue per contact and currency, each row given its contact's range
        ctes = [f"pc AS MATERIALIZED (SELECT * FROM (SELECT b, v.contact_id AS cid, v.currency AS cur, v.rev AS v "
                f"FROM {values} v JOIN ({contacts}) m ON m.cid = v.contact_id) WHERE b IS NOT NULL)"]
    elif source.isidentifier():  # report_orders: a month's cohort looks up only its own orders (by its index)
        ctes = [f"m AS MATERIALIZED ({contacts})",
                f"pc AS MATERIALIZED (SELECT m.b, m.cid, r.currency AS cur, sum(r.amount - r.refunded) AS v "
                f"FROM m JOIN {source} r ON r.contact_id = m.cid WHERE m.b IS NOT NULL GROUP BY m.b, m.cid, r.currency)"]
        contacts = "SELECT b FROM m"
    else:  # converted, filtered or live orders: read once (converted once), summed per contact, then placed
        ctes = [f"m AS MATERIALIZED ({contacts})"]
        if hours is None:
            ctes.append(f"o AS MATERIALIZED (SELECT * FROM {source})")  # the period figures read them too
            source = "o"
        ctes.append(f"pc AS MATERIALIZED (SELECT m.b, g.cid, g.cur, g.v FROM (SELECT contact_id AS cid, "
                    f"currency AS cur, sum(amount - refunded) AS v FROM {source} GROUP BY 1, 2) g "
                    f"JOIN m ON m.cid = g.cid WHERE m.b IS NOT NULL)")
        contacts = "SELECT b FROM m"
    if hours is not None:
        when = [f"(:hs{i} IS NULL OR hour >= :hs{i}) AND (:hu{i} IS NULL OR hour < :hu{i})" for i in range(len(ranges))]
        period = (f"SELECT {_case(when)} AS b, currency, substr(hour, 1, 7) AS month, orders, net, refunded "
                  f"FROM {hours}")
    else:
        when = [f"(:s{i} IS NULL OR created_at >= :s{i}) AND (:u{i} IS NULL OR created_at < :u{i})"
                for i in range(len(ranges))]
        period = (f"SELECT {_case(when)} AS b, currency, substr(created_at, 1, 7) AS month, 1 AS orders, "
                  f"amount - refunded AS net, refunded FROM {source}")
    # Grouped in SQL: Python sees a row per range and currency (and month), not per contact or order.
    rows = conn.execute(
        f"WITH {', '.join(ctes)} "
        f"SELECT 'contacts', b, NULL, NULL, count(*), NULL, NULL FROM ({contacts}) WHERE b IS NOT NULL GROUP BY b "
        f"UNION ALL SELECT 'revenue', b, cur, NULL, sum(v), count(*) FILTER (WHERE v > 0), NULL "
        f"FROM pc GROUP BY b, cur "
        f"UNION ALL SELECT 'customers', b, NULL, NULL, count(DISTINCT cid), NULL, NULL FROM pc WHERE v > 0 GROUP BY b "
        f"UNION ALL SELECT 'period', b, currency, month, sum(orders), sum(net), sum(refunded) "
        f"FROM ({period}) WHERE b IS NOT NULL GROUP BY b, currency, month", params)
    out = [Figures() for _ in ranges]
    for kind, b, cur, month, n, v, w in rows:
        f = out[b]
        if kind == "contacts":
            f.contacts = n
        elif kind == "customers":
            f.customers = n
        elif kind == "revenue":
            f.revenue[cur], f.paid_in[cur] = n, v
        else:
            f.orders += n
            f.period[cur] = f.period.get(cur, 0) + v
            f.refunds[cur] = f.refunds.get(cur, 0) + w
            f.monthly.setdefault(cur, {})[month] = v
    return out


def _report(rng: Range, f: Figures) -> Report:
    revenue, paid_in, period, refunds, contacts = dict(sorted(f.revenue.items())), f.paid_in, f.period, f.refunds, f.contacts
    extra = {
        "contacts": contacts, "customers": f.customers,
        "conversion_rate": round(f.customers / contacts, 4) if contacts else None,
        "revenue": revenue, "lead_value": money_per(revenue, contacts),
        "customers_per_currency": dict(sorted(paid_in.items())),
        "value_per_customer": money_per(revenue, paid_in),
        "orders": f.orders, "period_revenue": dict(sorted(period.items())), "refunds": dict(sorted(refunds.items())),
        **rng.as_params(),
    }
    rows = [{"key": cur, "revenue": {cur: revenue.get(cur, 0)}, "lead_value": {cur: extra["lead_value"].get(cur)},
             "value_per_customer": {cur: extra["value_per_customer"].get(cur)},
             "period_revenue": {cur: period.get(cur, 0)}, "refunds": {cur: refunds.get(cur, 0)},
             "contacts": contacts, "customers": paid_in.get(cur, 0),
             "conversion_rate": round(paid_in.get(cur, 0) / contacts, 4) if contacts else None}
            for cur in sorted(set(revenue) | set(period))]
    series = [{"name": f"revenue per month, UTC ({cur.upper()})", "currency": cur, "points": sorted(months.items())}
              for cur, months in sorted(f.monthly.items())]
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
