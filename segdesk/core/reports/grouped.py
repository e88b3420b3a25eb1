"""LTV and ROAS groups computed in SQL: one statement, a few hundred rows back instead of 50,000 contacts.

It gives what ``cohort.members`` + Python grouping gave (``cohort.py`` keeps
``members`` for the drill-down, and ``tests/core/test_reports_grouped.py``
checks both paths agree on a generated workspace), the same way:

- the cohort and its keys as ``cohort.py`` defines them (a contact with several
  tags is one row per tag; month keys from ``month_starts`` by the same bisection);
- times as integer milliseconds since 1970 (timestamps are stored to the ms),
  so "within N days" compares exactly as the float epoch seconds did;
- days to first purchase computed with the same float operations Python used
  ((t / 1000 - anchor / 1000) / 86400, IEEE doubles in both), and the median
  taken by ``statistics.median`` over each group's days (an aggregate function),
  so the figures are bit for bit the old ones.

It reads two per-contact sources, each a cache when fresh and the same rows
computed live otherwise: the facts (anchor and first touch, ``contact_facts.py``)
and the values (revenue per currency and LTV windows, ``contact_value.py``).
Three groupings over them, each sorting once: contacts per key (facts), money
per key and currency (values), customers and medians per key (values summed
per contact, which their primary key orders already).
"""

from __future__ import annotations

from statistics import median

from .cohort import NO_TAG
from .contact_facts import facts_source
from .converted import shared_rows
from .contact_value import ANCHOR, DAY_MS, LTV_DAYS, MS, VALUES_SQL, WINDOWS, value_table
from .data import order_params, orders_source
from .filters import cohort_clause
from .model import NOT_SET, UNKNOWN, Range, month_starts
from .tagged import tags_source
from .touches import first_touch_sql

KEY_SQL = {"source": "f.source", "medium": "f.medium", "campaign": f"coalesce(nullif(f.campaign, ''), '{NOT_SET}')",
           "source_medium": "f.source || ' / ' || f.medium",
           # The whole first touch, for matching spend (roas.py): source, medium, campaign joined by \x1f.
           "touch": "f.source || char(31) || f.medium || char(31) || coalesce(f.campaign, '')",
           # ... and its session's utm_content and utm_term (spend_match.py's ad group grain).
           "touch_ad": "f.source || char(31) || f.medium || char(31) || coalesce(f.campaign, '') || char(31) || "
                       "coalesce(f.content, '') || char(31) || coalesce(f.term, '')"}


# Range.contains: with no range every contact, else an anchor in [since, until).
IN_RANGE = ("((:since IS NULL AND :until IS NULL) OR "
            "({anchor} >= coalesce(:since, '') AND (:until IS NULL OR {anchor} < :until)))")


def _key_sql(conn, rng: Range, by: str, facts: str, where: str) -> tuple[str, str, dict]:
    """(key expression over the facts ``f``, extra joins, their parameters)."""
    if by == "tag":
        return f"coalesce(tg.tag, '{NO_TAG}')", f"LEFT JOIN {tags_source(conn)} tg ON tg.contact_id = f.id", {}
    if by == "cohort_month":
        lo, hi = conn.execute(f"SELECT min(f.anchor), max(f.anchor) FROM {facts} f WHERE {where}",
                              {"since": rng.since, "until": rng.until}).fetchone()
        months = month_starts(rng.zone, lo, hi) if lo else []
        # A dozen or so bounds: testing from the latest down is bisect_right(bounds, anchor) - 1.
        cases = " ".join(f"WHEN f.anchor >= :m{i} THEN :l{i}" for i in range(len(months)))
        params = {k: v for i, (start, label) in enumerate(reversed(months)) for k, v in ((f"m{i}", start), (f"l{i}", label))}
        return f"CASE WHEN f.anchor IS NULL THEN '{UNKNOWN}' {cases} END", "", params
    return f"CASE WHEN f.touched THEN {KEY_SQL[by]} ELSE '{UNKNOWN}' END", "", {}


# {v}: per contact and currency rev, paid_ms, w30 ... w365 (contact_value.py); {f}: the facts.
# Contacts per key: facts only, the same for a report and its converted twin (shared_rows).
CONTACTS_SQL = """
{ctes}
SELECT 0, {key} AS k, NULL, count(*), {matured}, NULL FROM {f} f {joins} WHERE {where} GROUP BY {contacts_by}
"""
SQL = """
{ctes}
SELECT 2, {key} AS k, v.currency, sum(v.rev), {sums}, count(v.rev > 0 OR NULL)
FROM {v} v JOIN {f} f ON f.id = v.contact_id {joins} WHERE {where} GROUP BY k, v.currency
UNION ALL
SELECT 1, {key} AS k, NULL, sum(p.paid), {nulls}, {median}
FROM (SELECT contact_id, max(rev > 0) AS paid, min(paid_ms) AS paid_ms FROM {v} GROUP BY contact_id) p
JOIN {f} f ON f.id = p.contact_id {joins} WHERE {where} GROUP BY k
"""
# Keys that are functions of these columns count contacts grouped by them, in the order of the facts'
# touch index (a scan, no sort: ~200 ms of sorting 250,000 contacts at 5M); the few rows one key
# gets are added up in Python.
_CHANNEL = "f.touched, f.source, f.medium, f.campaign"
TOUCH_COLUMNS = {**dict.fromkeys(("source", "medium", "campaign", "source_medium", "touch"), _CHANNEL),
                 "touch_ad": f"{_CHANNEL}, f.content, f.term"}
# A contact's days to its first paid order, never negative (an order before the first visit counts 0).
DAYS = "max(0.0, (p.paid_ms / 1000.0 - f.a_ms / 1000.0) / 86400.0)"


class _Median:
    """``segdesk_median(x)``: statistics.median of a group's non-NULL values (NULL for none)."""

    def __init__(self):
        self.values = []

    def step(self, value):
        if value is not None:
            self.values.append(value)

    def finalize(self):
        return median(self.values) if self.values else None


def groups(conn, rng: Range, by: str, end: str | None = None, ltv: bool = True,
           medians: bool = True) -> dict[str, dict]:
    """key -> {contacts, customers, customers_per_currency {cur: n}, revenue {cur: net},
    ltv {days: [matured contacts, {cur: net}]}, middle [median days to first purchase, when any]}.

    ``customers`` paid something in any currency; ``customers_per_currency`` are
    the contacts whose net revenue in that currency is positive (a "per customer"
    figure of a currency divides by these).

    ``end`` is the data's "now" (``cohort.as_of``); without it no LTV window has matured.
    ``medians=False`` leaves ``middle`` empty (for callers that show no median).
    """
    facts = facts_source(conn)
    where = IN_RANGE.format(anchor="f.anchor") + cohort_clause(rng, "f")
    key, joins, key_params = _key_sql(conn, rng, by, facts, where)
    nulls = ", ".join(["NULL"] * len(LTV_DAYS))
    end_ms = conn.execute(f"SELECT {MS.format(t='?')}", (end,)).fetchone()[0] if end and ltv else None
    # A contact counts for N days once anchor + N days <= end; its orders up to anchor + N days.
    matured = ", ".join(f"count(f.a_ms + {d * DAY_MS} <= :end_ms OR NULL)" for d in LTV_DAYS) if ltv else nulls
    sums = (", ".join(f"sum(CASE WHEN f.a_ms + {d * DAY_MS} <= :end_ms THEN v.w{d} END)" for d in LTV_DAYS)
            if ltv else nulls)
    ctes, values = "", value_table(conn, rng)
    if values is None:  # the same rows computed from the (filtered, converted) counted orders
        live = VALUES_SQL.format(ft=first_touch_sql(conn), orders=orders_source(conn, rng),
                                 where=f"AND {IN_RANGE.format(anchor=ANCHOR)}" + cohort_clause(rng))
        ctes = f"WITH v AS MATERIALIZED (SELECT cid AS contact_id, cur AS currency, rev, paid_ms, {WINDOWS} FROM ({live}))"
        values = "v"
    facts_cte = ""
    if facts != "report_contact_facts":
        facts_cte = f"WITH lf AS MATERIALIZED {facts}"
        ctes = (f"{ctes}, " if ctes else "WITH ") + f"lf AS MATERIALIZED {facts}"
        facts = "lf"
    if ltv and medians:
        conn.create_aggregate("segdesk_median", 1, _Median)  # per connection: a reader made elsewhere lacks it
    # Contacts per whole first touch: grouped by the columns the facts' touch index orders (a scan, no
    # sort); two column tuples giving one key (a NULL and an empty campaign) are added up below.
    contacts_by = TOUCH_COLUMNS[by] if by in TOUCH_COLUMNS and facts == "report_contact_facts" else "k"
    sql = SQL.format(ctes=ctes, key=key, f=facts, v=values, joins=joins, where=where, matured=matured, sums=sums,
                     contacts_by=contacts_by,
                     nulls=nulls, median=f"segdesk_median({DAYS})" if ltv and medians else "NULL")
    counted = CONTACTS_SQL.format(ctes=facts_cte, key=key, f=facts, joins=joins, where=where, matured=matured,
                                  contacts_by=contacts_by)
    params = {**order_params(conn, rng), **key_params, "end_ms": end_ms}
    # Only the named parameters a statement uses: sqlite3 refuses none, but the memo's key must not vary.
    rows = shared_rows(conn, counted, {k: v for k, v in params.items() if f":{k}" in counted})
    out: dict[str, dict] = {}
    for part, k, cur, value, *days, extra in rows + conn.execute(sql, params).fetchall():
        g = out.setdefault(k, {"contacts": 0, "customers": 0, "customers_per_currency": {}, "revenue": {}, "middle": [],
                               "ltv": {d: [0, {}] for d in LTV_DAYS}})
        if part == 0:
            g["contacts"] += value
            for d, n in zip(LTV_DAYS, days):
                g["ltv"][d][0] += n or 0
        elif part == 1:
            g["customers"] = value
            if extra is not None:
                g["middle"].append(extra)
        else:
            g["revenue"][cur] = value
            if extra:  # contacts with positive net revenue in this currency, listed only when there are some
                g["customers_per_currency"][cur] = extra
            for d, v in zip(LTV_DAYS, days):
                if v is not None:  # an order inside the window, even one netting 0, lists the currency
                    g["ltv"][d][1][cur] = v
    return out
