"""Every origin of data in a workspace, whether a configured source brought it or not.

Rows carry the ``origin`` that wrote them: a sync source (``stripe``,
``relay:main``), a command-line import (``csv`` unless named), the demo
(``demo``, ``demo-shop``...). The Sources page lists them all, so data that
no configured source explains (a CSV imported once, the demo's shop) is
still visible with what it holds and when it last changed.
"""

from __future__ import annotations

from typing import NamedTuple

# table -> (what the user calls its rows, the column that dates them)
TABLES = {
    "events": ("events", "ts"),
    "contact_keys": ("contacts", "updated_at"),
    "orders": ("orders", "created_at"),
    "ad_spend": ("spend rows", "date"),
}
NAMES = {"demo": "Demo site visits", "demo-shop": "Demo shop (orders)", "demo-crm": "Demo CRM (contacts)",
         "demo-ads": "Demo ad spend", "csv": "CSV import"}


class OriginCounts(NamedTuple):
    origin: str
    counts: dict[str, int]  # "events" / "contacts" / "orders" / "spend rows" -> rows from this origin
    latest: str | None      # the newest dated row from this origin


def data_origins(conn) -> list[OriginCounts]:
    """Origins with their row counts, busiest first. Scans each table once (a reader thread's work)."""
    found: dict[str, tuple[dict[str, int], str | None]] = {}
    for table, (noun, dated) in TABLES.items():
        for origin, n, latest in conn.execute(f"SELECT origin, count(*), max({dated}) FROM {table} GROUP BY origin"):
            counts, newest = found.setdefault(origin, ({}, None))
            counts[noun] = n
            if latest and (newest is None or str(latest) > newest):
                found[origin] = (counts, str(latest))
    rows = [OriginCounts(origin, counts, latest) for origin, (counts, latest) in found.items()]
    rows.sort(key=lambda r: (-sum(r.counts.values()), r.origin))
    return rows


def origin_name(origin: str) -> str:
    """What the Sources page calls an origin no configured source owns."""
    if origin in NAMES:
        return NAMES[origin]
    kind, _, name = origin.partition(":")
    return f"{kind.upper() if kind == 'csv' else kind.capitalize()} import “{name}”" if name else origin
