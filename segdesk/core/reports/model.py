"""What a report is: data that every front end renders (CLI table/JSON/CSV, the app, the PDF).

Money cells are maps currency -> minor units (docs/SPEC.md, conventions); averages and
fractional credits are floats in minor units rounded to 2 decimals. A series
is ``{"name", "currency", "points": [(x, y)]}``, one per currency, so charts
never add currencies.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ...errors import InvalidInput
from ..timeutil import UTC, format_ts, normalise_ts

TEXT, INT, FLOAT, MONEY, PERCENT = "text", "int", "float", "money", "percent"
SPARK = "sparkline"  # a list of numbers, oldest first, drawn as a small trend line (compare.py)
KEYS = ("source", "medium", "campaign", "source_medium")
NOT_SET = "(not set)"
UNKNOWN = "(unknown)"


@dataclass
class Column:
    key: str
    label: str
    kind: str = TEXT
    help: str = ""  # what the figure is, shown under the PDF's table, as the app's header tooltip and by the CLI


# What the per-person columns divide by (docs/SPEC.md §4), said the same way in every report.
LEAD_VALUE_HELP = "a currency's revenue divided by all contacts of the row"
PER_CUSTOMER_HELP = "a currency's revenue divided by the contacts who paid in that currency"
CUSTOMERS_HELP = "contacts who paid in any currency"


@dataclass
class Report:
    """``to_json()`` is exactly the CLI's ``--json`` (contract shape plus documented extras)."""

    name: str
    title: str
    parameters: dict
    columns: list[Column]
    rows: list[dict]
    series: list[dict] = field(default_factory=list)
    extra: dict = field(default_factory=dict)  # top-level JSON fields besides rows (total, unattributed...)
    notes: list[str] = field(default_factory=list)

    def __getattr__(self, name):  # report.total, report.unattributed: the extras, for renderers
        extra = self.__dict__.get("extra") or {}
        if name in extra:
            return extra[name]
        raise AttributeError(name)

    def to_json(self) -> dict:
        return {**self.extra, "rows": self.rows}


@dataclass(frozen=True)
class Range:
    """Report window as fixed-width UTC text, ``since`` inclusive, ``until`` exclusive; tz for display."""

    since: str | None = None
    until: str | None = None
    tz: str = "UTC"
    scope: object = field(default=None, compare=False)  # filters.Scope: the report's filters, resolved

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    def contains(self, ts: str | None) -> bool:
        if ts is None:
            return self.since is None and self.until is None
        return (self.since is None or ts >= self.since) and (self.until is None or ts < self.until)

    def as_params(self) -> dict:
        return {"since": self.since, "until": self.until, "timezone": self.tz}


def workspace_tz(conn) -> str:
    row = conn.execute("SELECT value FROM settings WHERE key = 'timezone'").fetchone()
    return (row[0] if row and row[0] else "UTC").strip()


def parse_range(conn, since: str | None = None, until: str | None = None, tz: str | None = None) -> Range:
    """A date alone is a whole day in the workspace's timezone: ``--until 2026-03-31`` includes that day."""
    tz = tz or workspace_tz(conn)
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(f"unknown timezone '{tz}' (an IANA name such as Europe/Berlin)") from None
    return Range(_bound(since, zone, 0), _bound(until, zone, 1), tz)


def _bound(value: str | None, zone: ZoneInfo, add_days: int) -> str | None:
    if not value:
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            d = date.fromisoformat(text) + timedelta(days=add_days)
            return format_ts(datetime(d.year, d.month, d.day, tzinfo=zone))
        if len(text) == 7:  # a month: 2026-03
            d = date.fromisoformat(text + "-01")
            if add_days:
                d = (d.replace(day=28) + timedelta(days=4)).replace(day=1)
            return format_ts(datetime(d.year, d.month, d.day, tzinfo=zone))
        return normalise_ts(text)
    except ValueError:
        raise InvalidInput(f"'{value}' is not a date (YYYY-MM-DD) or ISO 8601 time") from None


def month_starts(zone: ZoneInfo, first: str, last: str) -> list[tuple[str, str]]:
    """(UTC text of local month start, 'YYYY-MM') covering first..last: months by bisection, not per row."""
    start = datetime.fromisoformat(first).astimezone(zone)
    end = datetime.fromisoformat(last).astimezone(zone)
    y, m = start.year, start.month
    out = []
    while (y, m) <= (end.year, end.month):
        out.append((format_ts(datetime(y, m, 1, tzinfo=zone)), f"{y:04d}-{m:02d}"))
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def apportion(values: list[float], target: int) -> list[int]:
    """Integers close to ``values`` (floor, then largest remainders) that sum to exactly ``target``."""
    floors = [math.floor(v) for v in values]
    diff = target - sum(floors)
    if not values:
        return floors
    order = sorted(range(len(values)), key=lambda i: (floors[i] - values[i], i))  # largest remainder first
    step = 1 if diff > 0 else -1
    if diff < 0:
        order.reverse()
    i = 0
    while diff:
        floors[order[i % len(order)]] += step
        diff -= step
        i += 1
    return floors


def per(amount: int | float, n: int) -> float | None:
    """An average in minor units, 2 decimals; None when there is nothing to divide by."""
    return round(amount / n, 2) if n else None


def money_per(money: dict[str, int], n: int | dict[str, int]) -> dict[str, float]:
    out = {}
    for cur, v in sorted(money.items()):
        d = n.get(cur, 0) if isinstance(n, dict) else n
        if d:
            out[cur] = per(v, d)
    return out


def scoped_orders(base: str, rng) -> str:
    """``base`` (a table or subquery of report orders) narrowed to the range's filters."""
    scope = getattr(rng, "scope", None)
    if scope is None:
        return base
    where = []
    if scope.contacts is not None:
        where.append(f"s.contact_id IN ({scope.contacts})")
    if scope.product is not None:
        # An order of several products lists them ("Course; Workbook"): each of them is the order's product.
        where.append(f"s.id IN (SELECT id FROM orders WHERE product = {scope.product} COLLATE NOCASE "
                     f"OR instr('; ' || lower(product) || '; ', '; ' || lower({scope.product}) || '; ') > 0)")
    return f"(SELECT s.* FROM {base} s WHERE {' AND '.join(where)})" if where else base
