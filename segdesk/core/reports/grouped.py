"""LTV and ROAS groups computed in SQL: one statement, a few hundred rows back instead of 50,000 contacts.

It gives what ``cohort.members`` + Python grouping gave (``cohort.py`` keeps
``members`` for the drill-down, and ``tests/core/test_reports_grouped.py``
checks both paths agree on a generated workspace), the same way:

- the cohort and its keys as ``cohort.py`` defines them (a contact with several
  tags is one row per tag; month keys from ``month_starts`` by the same bisection);
- times as integer milliseconds since 1970 (timestamps are stored to the ms),
  so "within N days" compares exactly as the float epoch seconds did;
- days to first purchase computed with the same float operations Python used
  ((t / 1000 - anchor / 1000) / 86400, IEEE doubles in both), and only the one
  or two middle values per group leave SQL: Python takes the median of those
  and rounds, so the figures are bit for bit the old ones.
"""

from __future__ import annotations

from .cohort import NO_TAG
from .contact_value import ANCHOR, DAY_MS, LTV_DAYS, MS, value_table
from .data import order_params, orders_source
from .filters import cohort_clause
from .model import NOT_SET, UNKNOWN, Range, month_starts
from .tagged import tags_source
from .touches import first_touch_sql

KEY_SQL = {"source": "ft.source", "medium": "ft.medium", "campaign": f"coalesce(nullif(ft.campaign, ''), '{NOT_SET}')",
           "source_medium": "ft.source || ' / ' || ft.medium",
           # The whole first touch, for matching spend (roas.py): source, medium, campaign joined by \x1f.
           "touch": "ft.source || char(31) || ft.medium || char(31) || coalesce(ft.campaign, '')"}


# Range.contains: with no range every contact, else an anchor in [since, until).
IN_RANGE = (f"((:since IS NULL AND :until IS NULL) OR "
            f"({ANCHOR} >= coalesce(:since, '') AND (:until IS NULL OR {ANCHOR} < :until)))")
COHORT = f"FROM contacts c LEFT JOIN ({{ft}}) ft ON ft.contact_id = c.id {{joins}} WHERE c.canonical_id = c.id AND {IN_RANGE}"


def _key_sql(conn, rng: Range, by: str, ft: str) -> tuple[str, str, dict]:
    """(key expression, extra joins, its parameters) for the cohort CTE."""
    if by == "tag":
        return f"coalesce(tg.tag, '{NO_TAG}')", f"LEFT JOIN {tags_source(conn)} tg ON tg.contact_id = c.id", {}
    if by == "cohort_month":
        lo, hi = conn.execute(f"SELECT min({ANCHOR}), max({ANCHOR}) " + COHORT.format(ft=ft, joins="") + cohort_clause(rng),
                              {"since": rng.since, "until": rng.until}).fetchone()
        months = month_starts(rng.zone, lo, hi) if lo else []
        # A dozen or so bounds: testing from the latest down is bisect_right(bounds, anchor) - 1.
        cases = " ".join(f"WHEN {ANCHOR} >= :m{i} THEN :l{i}" for i in range(len(months)))
        params = {k: v for i, (start, label) in enumerate(reversed(months)) for k, v in ((f"m{i}", start), (f"l{i}", label))}
        return f"CASE WHEN {ANCHOR} IS NULL THEN '{UNKNOWN}' {cases} END", "", params
    if by == "touch_ad":  # the whole first touch and its session's utm_content and utm_term (spend_match.py)
        return (f"CASE WHEN ft.contact_id IS NULL THEN '{UNKNOWN}' ELSE {KEY_SQL['touch']} || char(31) || "
                "coalesce(fs.content, '') || char(31) || coalesce(fs.term, '') END",
                "LEFT JOIN sessions fs ON fs.id = ft.session_id", {})
    return f"CASE WHEN ft.contact_id IS NULL THEN '{UNKNOWN}' ELSE {KEY_SQL[by]} END", "", {}


SQL = """
WITH m AS MATERIALIZED (
    SELECT c.id AS cid, {key} AS key, {a_ms} AS a_ms {cohort}
),
-- One row per contact and currency: its revenue, first paid order and revenue inside each window.
pc AS MATERIALIZED ({pc})
SELECT 0, key, NULL, count(*), {matured} FROM m GROUP BY key
UNION ALL SELECT 1, key, NULL, count(DISTINCT cid), {nulls} FROM pc WHERE rev > 0 GROUP BY key
UNION ALL SELECT 2, key, cur, sum(rev), {sums} FROM pc GROUP BY key, cur
UNION ALL SELECT 4, key, cur, count(*), {nulls} FROM pc WHERE rev > 0 GROUP BY key, cur
{medians}
"""
LIVE_PC = """
    SELECT key, cid, a_ms, cur, sum(net) AS rev, min(t_ms) FILTER (WHERE net > 0) AS paid_ms, {within} FROM (
        SELECT m.key, m.cid, m.a_ms, r.currency AS cur, r.amount - r.refunded AS net, {t_ms} AS t_ms
        FROM m JOIN {orders} r ON r.contact_id = m.cid)
    GROUP BY key, cid, cur
"""
# The same rows from the per-contact cache (contact_value.py): only maturity depends on the report.
CACHED_PC = """
    SELECT m.key, m.cid, m.a_ms, v.currency AS cur, v.rev, v.paid_ms, {within}
    FROM m JOIN {table} v ON v.contact_id = m.cid
"""
# The middle one (odd count) or two (even) of each group's days to first purchase.
MEDIANS = """
UNION ALL SELECT 3, key, NULL, days, {nulls} FROM (
    SELECT key, days, row_number() OVER (PARTITION BY key ORDER BY days) AS i, count(*) OVER (PARTITION BY key) AS n
    FROM (SELECT key, max(0.0, (min(paid_ms) / 1000.0 - a_ms / 1000.0) / 86400.0) AS days FROM pc GROUP BY key, cid)
    WHERE days IS NOT NULL)
WHERE i IN ((n + 1) / 2, n / 2 + 1)
"""

def groups(conn, rng: Range, by: str, end: str | None = None, ltv: bool = True,
           medians: bool = True) -> dict[str, dict]:
    """key -> {contacts, customers, customers_per_currency {cur: n}, revenue {cur: net},
    ltv {days: [matured contacts, {cur: net}]}, middle [days]}.

    ``customers`` paid something in any currency; ``customers_per_currency`` are
    the contacts whose net revenue in that currency is positive (a "per customer"
    figure of a currency divides by these).

    ``end`` is the data's "now" (``cohort.as_of``); without it no LTV window has matured.
    ``medians=False`` leaves ``middle`` empty (a third of the statement's time, for callers that
    show no median).
    """
    ft = first_touch_sql(conn)
    key, joins, key_params = _key_sql(conn, rng, by, ft)
    nulls = ", ".join(["NULL"] * len(LTV_DAYS))
    end_ms = conn.execute(f"SELECT {MS.format(t='?')}", (end,)).fetchone()[0] if end and ltv else None
    # A contact counts for N days once anchor + N days <= end; its orders up to anchor + N days.
    matured = ", ".join(f"count(a_ms + {d * DAY_MS} <= :end_ms OR NULL)" for d in LTV_DAYS) if ltv else nulls
    sums = ", ".join(f"sum(w{d})" for d in LTV_DAYS) if ltv else nulls
    table = value_table(conn, rng)
    if table is not None:
        within = (", ".join(f"CASE WHEN m.a_ms + {d * DAY_MS} <= :end_ms THEN v.w{d} END AS w{d}" for d in LTV_DAYS)
                  if ltv else nulls)
        pc = CACHED_PC.format(within=within, table=table)
    else:
        within = (", ".join(f"sum(CASE WHEN a_ms + {d * DAY_MS} <= :end_ms AND t_ms <= a_ms + {d * DAY_MS} "
                            f"THEN net END) AS w{d}" for d in LTV_DAYS) if ltv else nulls)
        pc = LIVE_PC.format(within=within, t_ms=MS.format(t="r.created_at"), orders=orders_source(conn, rng))
    sql = SQL.format(key=key, a_ms=MS.format(t=ANCHOR), cohort=COHORT.format(ft=ft, joins=joins) + cohort_clause(rng),
                     pc=pc, matured=matured, nulls=nulls, sums=sums, medians=MEDIANS.format(nulls=nulls) if ltv and medians else "")
    params = {**order_params(conn, rng), **key_params, "end_ms": end_ms}
    out: dict[str, dict] = {}
    for part, k, cur, value, *days in conn.execute(sql, params):
        g = out.setdefault(k, {"contacts": 0, "customers": 0, "customers_per_currency": {}, "revenue": {}, "middle": [],
                               "ltv": {d: [0, {}] for d in LTV_DAYS}})
        if part == 0:
            g["contacts"] = value
            for d, n in zip(LTV_DAYS, days):
                g["ltv"][d][0] = n or 0
        elif part == 1:
            g["customers"] = value
        elif part == 2:
            g["revenue"][cur] = value
            for d, v in zip(LTV_DAYS, days):
                if v is not None:  # an order inside the window, even one netting 0, lists the currency
                    g["ltv"][d][1][cur] = v
        elif part == 4:
            g["customers_per_currency"][cur] = value
        else:
            g["middle"].append(value)
    return out

