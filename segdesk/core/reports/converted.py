"""Converted figures beside the originals: the same report, built again on converted orders and spend.

Inside :func:`converting`, ``data.orders_source`` and ``roas.spend_source`` hand
every report the counted orders and the ad spend with each amount converted
into the reporting currency at its own day's rate (``core/fx.py``), rounded to
the reporting currency's minor unit per order, and without the amounts that
have no rate. Building a report there gives its figures in one currency by
the very rules the per-currency figures follow (LTV windows, per-customer
division, attribution rounding, spend matching): nothing is re-implemented.

:func:`add_converted` puts them beside the originals, never instead: each row
gains ``<column>_converted`` for its money columns (and ROAS), the report's
money extras go under ``converted``, which also says the currency, the rate
sources and days used, the days that took an earlier day's rate, and the
currencies and days without a rate, and holds the report's own chart series
built on the converted data (``series``: LTV curves, ROAS bars).
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from contextvars import ContextVar

from ..fx import ORIGIN_NAMES, Rates
from ..orders import source_of_truth
from .model import Column

# The Rates in use and the day factors found per orders source (memo), or None when not converting.
_ACTIVE: ContextVar = ContextVar("segdesk_converting", default=None)
CONVERTED_KEYS = ("revenue", "spend", "value_per_contact", "value_per_customer", "lead_value", "credit", "roas",
                  "cost_per_lead", "cost_per_customer", "ltv_at_days", "period_revenue", "refunds",
                  "uncompared_revenue", "ltv_30", "ltv_90", "ltv_365", "payback_days")


ORDER_COLUMNS = "id, contact_id, currency, amount, refunded, created_at"  # data.REPORT_ORDER_COLUMNS


# Within one build_report: rows that do not depend on the currency, computed once for a report and
# its converted twin (shared_rows), keyed by statement and parameters.
_TWINS: ContextVar = ContextVar("segdesk_twin_rows", default=None)


@contextmanager
def twins():
    """A report and its converted twin built inside share what :func:`shared_rows` computes."""
    token = _TWINS.set({})
    try:
        yield
    finally:
        _TWINS.reset(token)


def shared_rows(conn, sql: str, params: dict) -> list:
    """``conn.execute(sql, params).fetchall()``, once per :func:`twins` block for rows that no
    conversion changes (contacts per key: the original build computes them, the twin reuses them)."""
    memo = _TWINS.get()
    if memo is None:
        return conn.execute(sql, params).fetchall()
    key = (sql, tuple(sorted(params.items())))
    if key not in memo:
        memo[key] = conn.execute(sql, params).fetchall()
    return memo[key]


def converting_to() -> str | None:
    active = _ACTIVE.get()
    return active[0].target if active is not None else None


@contextmanager
def converting(conn, currency: str):
    """Reports built inside read converted orders and spend; yields the :class:`Rates` (its ``usage``)."""
    rates = Rates(conn, currency)
    conn.create_function("segdesk_fx", 3, rates.convert)  # per connection; re-registered by each use
    token = _ACTIVE.set((rates, {}))
    try:
        yield rates
    finally:
        _ACTIVE.reset(token)


def half_even(x: str) -> str:
    """SQL rounding the double ``x`` to an integer as Python's ``round`` does (ties to even; SQLite's
    ``round`` takes ties away from zero). ``x - CAST(x AS INTEGER)`` is exact for any double."""
    t = f"CAST({x} AS INTEGER)"
    return (f"({t} + CASE WHEN {x} - {t} > 0.5 THEN 1 WHEN {x} - {t} < -0.5 THEN -1 "
            f"WHEN abs({x} - {t}) = 0.5 THEN {t} % 2 ELSE 0 END)")


def distinct_days(base: str) -> str:
    return f"SELECT DISTINCT currency, substr(created_at, 1, 10) FROM {base} WHERE created_at <> ''"


def order_days(base: str) -> str:
    """The distinct (currency, UTC day) of ``base``'s orders: the cached list for all counted orders
    (``report_order_days``, rebuilt with ``report_orders``, so valid whenever ``base`` is that table)."""
    return "SELECT currency, day FROM report_order_days" if base == "report_orders" else distinct_days(base)


def day_factors(conn, base: str, rates) -> str | None:
    """JSON {"<currency> <day>": factor} for every currency and UTC day of ``base``'s orders that has a
    rate, each looked up once (so recorded in the usage as the order-by-order path records it), or
    None when SQLite reads a factor back as another double than Python's."""
    days = conn.execute(order_days(base), {"truth": source_of_truth(conn)}).fetchall()
    factors = {f"{cur} {day}": f for cur, day in days if (f := rates.factor(cur, day)) is not None}
    text = json.dumps(factors)  # repr of each float: the shortest text that reads back as it
    if dict(conn.execute("SELECT key, value FROM json_each(?)", (text,))) != factors:
        return None
    return text


def cached_target(conn) -> str | None:
    """The currency ``report_orders_fx`` and ``report_contact_value_fx`` hold, or None while they are stale."""
    dirty, currency = conn.execute("SELECT dirty, currency FROM report_fx_state").fetchone()
    return None if dirty else currency


def cached_orders(conn, base: str, cached: str) -> str:
    """``cached`` (``report_orders_fx``, narrowed as ``base`` is) for a build converting into its currency.

    The build's rate usage (``Rates.usage``: days, earlier-day fallbacks, missing rates) is recorded
    as :func:`converted_orders` records it for ``base``: each currency and day of its orders looked up
    once, unconvertible ones included, so the notes are the live path's."""
    rates, memo = _ACTIVE.get()
    if ("days", base) not in memo:
        for cur, day in conn.execute(order_days(base)):
            rates.factor(cur, day)
        memo["days", base] = True
    return cached


def converted_orders(conn, base: str) -> str:
    """``base`` (REPORT_ORDER_COLUMNS) with amounts in the reporting currency, unconvertible orders left out.

    Each order's amounts are ``round(minor * factor)`` of its currency and day, as ``Rates.convert``
    gives them: the factors are looked up once per day in Python and joined in SQL (a Python call
    per order cost ~180 ms at 80,000 orders); the order-by-order path stays for a SQLite that would
    not read the factors back exactly."""
    rates, memo = _ACTIVE.get()
    cur = rates.target
    # One build reads the same orders several times (a report's queries, a comparison's periods):
    # their days and rates do not change within it.
    if base not in memo:
        memo[base] = day_factors(conn, base, rates)
    factors = memo[base]
    # LIMIT keeps SQLite from flattening these into the report's joins: it converts each order
    # once into a materialised table instead of once per row of a join (bench/RESULTS.md).
    if factors is None:
        return (f"(SELECT id, contact_id, '{cur}' AS currency, amount, refunded, created_at FROM ("
                f"SELECT id, contact_id, segdesk_fx(currency, created_at, amount) AS amount, "
                f"segdesk_fx(currency, created_at, refunded) AS refunded, created_at FROM {base}) "
                f"WHERE amount IS NOT NULL LIMIT -1)")
    literal = "'" + factors.replace("'", "''") + "'"
    # CROSS JOIN keeps the orders the outer loop (their own order, as before); the factors are a
    # materialised table SQLite indexes on the fly for the key lookup.
    return (f"(SELECT b.id, b.contact_id, '{cur}' AS currency, {half_even('b.amount * f.value')} AS amount, "
            f"{half_even('b.refunded * f.value')} AS refunded, b.created_at FROM {base} b "
            f"CROSS JOIN (SELECT key, value FROM json_each({literal}) LIMIT -1) f "
            f"ON f.key = b.currency || ' ' || substr(b.created_at, 1, 10) LIMIT -1)")


def refresh_converted_orders(conn, currency: str) -> None:
    """``report_orders_fx``: the counted orders converted into ``currency`` exactly as a converted build
    converts them (:func:`converted_orders`: each order at its day's rate, unconvertible ones left out).
    Needs clean counted orders; ``contact_value.refresh_converted`` marks the cache fresh."""
    with converting(conn, currency):
        conn.execute("DELETE FROM report_orders_fx")
        conn.execute(f"INSERT INTO report_orders_fx ({ORDER_COLUMNS}) SELECT {ORDER_COLUMNS} "
                     f"FROM {converted_orders(conn, 'report_orders')}")


def spend_source(table: str = "spend_rows") -> str:
    """Ad spend (``spend_rows``: CSV and ad-platform spend in one shape), converted when converting
    (a day's spend at that day's rate)."""
    cur = converting_to()
    if cur is None:
        return table
    return (f"(SELECT date, source, medium, campaign, ad_group, '{cur}' AS currency, spend FROM ("
            f"SELECT date, source, medium, campaign, ad_group, segdesk_fx(currency, date, spend) AS spend "
            f"FROM {table}) "
            f"WHERE spend IS NOT NULL)")


def add_converted(report, converted, currency: str, usage) -> None:
    """Put ``converted`` (the report built on converted data) beside ``report``'s own figures."""
    by_key = {r.get("key"): r for r in converted.rows}
    money_cols = [c.key for c in report.columns if c.key in CONVERTED_KEYS or c.kind == "money"]
    # Summary rows are currencies: their converted sum is the report's, under "converted" only.
    pairs = [] if report.name == "summary" else [(row, by_key.get(row.get("key"))) for row in report.rows]
    if isinstance(report.extra.get("total"), dict) and "key" in report.extra["total"]:  # a totals row
        pairs.append((report.extra["total"], converted.extra.get("total")))
    for row, twin in pairs:
        for key in money_cols + [k for k in CONVERTED_KEYS if k in row and k not in money_cols]:
            if key in row:
                row[f"{key}_converted"] = twin.get(key, {}) if twin else {}
    info = {"currency": currency, **{k: v for k, v in converted.extra.items()
                                     if isinstance(v, dict) and k not in ("by",)},
            "rates": usage.as_dict(), "sources": sorted({ORIGIN_NAMES[o] for u in usage.as_dict().values()
                                                           for o in u["origins"]})}
    if converted.series:  # the report's chart in the reporting currency (LTV curves, ROAS bars): chart_view.py
        info["series"] = converted.series
    if report.name == "summary":  # one row per currency: the converted report's single row is the total
        info.update({k: v for k, v in (converted.rows[0] if converted.rows else {}).items()
                     if isinstance(v, dict)})
    report.extra["converted"] = info
    if pairs:  # each converted column right after its original, for tables (CLI text and CSV, the app, the PDF)
        columns = []
        for col in report.columns:
            columns.append(col)
            if col.key in money_cols:
                columns.append(Column(f"{col.key}_converted", f"{col.label} in {currency.upper()}", col.kind,
                                      f"converted at each order's (or spend day's) rate; {col.help}".rstrip("; ")))
        report.columns = columns
    report.notes.extend(rate_notes(currency, usage))


def rate_notes(currency: str, usage) -> list[str]:
    """What the conversion used and lacked, in words (the CLI's notes, the app's and the PDF's lines)."""
    out = []
    used = usage.as_dict()
    sources = sorted({ORIGIN_NAMES[o] for u in used.values() for o in u["origins"]})
    if sources:
        out.append(f"converted to {currency.upper()} at each order's day with the {' and '.join(sources)}")
    for cur, u in used.items():
        if u.get("days_on_earlier_rate"):
            out.append(f"{_days(u['days_on_earlier_rate'])} had no {cur.upper()} rate of its own (weekends, holidays):"
                       f" the latest earlier rate was used")
        if u.get("missing_days"):
            span = (u["first_missing_day"] if u["missing_days"] == 1
                    else f"{u['first_missing_day']} to {u['last_missing_day']}")
            out.append(f"no {cur.upper()} rate for {_days(u['missing_days'])} ({span}): those amounts are left out of the {currency.upper()} figures "
                       f"(segdesk rates set DAY {cur.upper()} RATE, or sync the ECB rates)")
    return out


def _days(n: int) -> str:
    return "1 day" if n == 1 else f"{n:,} days"
