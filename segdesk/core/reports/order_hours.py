"""Counted orders per currency and UTC hour (``report_order_hours``, migration 0022).

The summary's period figures (orders, net revenue and refunds per currency and
month of the range) and the dashboard's trend (net revenue per local day) only
need the counted orders summed by the hour they were created in: an hour is
the finest step a range's bound takes (a local midnight is a whole UTC hour in
every timezone but a few with half-hour offsets) and the finest a day of a
timezone's takes. A year of orders is at most ~8,800 hours per currency,
however many orders: grouping those is what grows with time, not with sales.

Read only when it answers exactly: fresh, no filter narrowing orders, each bound
of the range on a whole hour; otherwise callers group ``data.orders_source``
live, as they always did. Rows with ``target`` '' hold the original currencies
(stale with the counted orders); rows with a currency as ``target`` hold the
orders converted into the reporting currency as a converted build converts them
(``converted.py``), stale with the orders or any rate; the refresh rebuilds both.
"""

from __future__ import annotations

from ..fx import reporting_currency
from ..orders import source_of_truth
from .converted import converting, converting_to
from .data import orders_source
from .filters import quote

WHOLE_HOUR = ":00:00.000Z"
# The canonical order time (timeutil.format_ts): an hour's orders then compare with a range's bounds as the hour does.
CANONICAL = "length(created_at) = 24 AND substr(created_at, 11, 1) = 'T' AND substr(created_at, 24) = 'Z'"
FRESH, STALE, UNUSABLE = 0, 1, 2


def on_the_hour(bound: str | None) -> bool:
    return bound is None or (len(bound) == 24 and bound.endswith(WHOLE_HOUR))


def hours_source(conn, ranges) -> str | None:
    """A subquery of (hour, currency, orders, net, refunded) summing the orders ``data.orders_source``
    gives for these ranges (same filters), or None when the cache cannot answer: stale, filtered,
    a bound inside an hour, or converting into another currency than the cached one."""
    if any(getattr(r, "scope", None) is not None or not (on_the_hour(r.since) and on_the_hour(r.until))
           for r in ranges):
        return None
    dirty, fx_dirty, fx_currency = conn.execute(
        "SELECT dirty, fx_dirty, fx_currency FROM report_hours_state").fetchone()
    target = converting_to()
    if (dirty if target is None else (fx_dirty if fx_currency == target else STALE)) != FRESH:
        return None
    return (f"(SELECT hour, currency, orders, net, refunded FROM report_order_hours "
            f"WHERE target = {quote(target or '')})")


def hour_bound(bound: str | None) -> str | None:
    """The hour text an order time's first 13 characters compare with, for a bound on a whole hour."""
    return None if bound is None else bound[:13]


def refresh_order_hours(conn) -> bool:
    """Rebuild what is stale (after the counted orders, and any converted-orders cache, are refreshed);
    True when anything was rebuilt. With stale counted orders it waits: readers go live meanwhile."""
    if conn.execute("SELECT dirty FROM report_orders_state").fetchone()[0]:
        return False
    dirty, fx_dirty, fx_currency = conn.execute(
        "SELECT dirty, fx_dirty, fx_currency FROM report_hours_state").fetchone()
    target = reporting_currency(conn)
    rebuilt = False
    if dirty == STALE:
        state = _build(conn, "", orders_source(conn))
        conn.execute("UPDATE report_hours_state SET dirty = ?", (state,))
        rebuilt = True
    if fx_dirty == STALE or fx_currency != target:
        with converting(conn, target):
            state = _build(conn, target, orders_source(conn))
        conn.execute("UPDATE report_hours_state SET fx_dirty = ?, fx_currency = ?", (state, target))
        rebuilt = True
    return rebuilt


def _build(conn, target: str, source: str) -> int:
    params = {"truth": source_of_truth(conn), "target": target}
    conn.execute("DELETE FROM report_order_hours WHERE target = :target", params)
    if conn.execute(f"SELECT EXISTS (SELECT 1 FROM {source} WHERE NOT ({CANONICAL}))", params).fetchone()[0]:
        return UNUSABLE  # a hand-written order time (tests, old imports): its hour would not bound it
    conn.execute(f"INSERT INTO report_order_hours (target, hour, currency, orders, net, refunded) "
                 f"SELECT :target, substr(created_at, 1, 13), currency, count(*), sum(amount - refunded), "
                 f"sum(refunded) FROM {source} GROUP BY 2, 3", params)
    return FRESH
