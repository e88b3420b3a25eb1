"""Saved views: a report, its parameters and filters under a name (migration 0013).

A view is what ``segdesk report --view NAME``, ``segdesk export pdf --view NAME``
and the app's Views menu open: ``report`` (summary, ltv, attribution, roas),
``params`` (by, model, lookback_days, since, until, timezone, compare) and
``filters`` (``reports.filters.FILTERS``). Everything is checked before it is
stored, so a view that saved always opens. Saving a name again replaces it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson

from .reports.filters import Filters
from ..errors import InvalidInput, NotFound
from .timeutil import now_ts

REPORTS = ("summary", "ltv", "attribution", "roas")
PARAMS = ("by", "model", "lookback_days", "since", "until", "timezone", "compare")
COMPARE = ("previous", "year")
MAX_NAME = 80


@dataclass
class SavedView:
    name: str
    report: str
    params: dict = field(default_factory=dict)
    filters: dict = field(default_factory=dict)
    saved_at: str = ""

    def as_dict(self) -> dict:
        return {"name": self.name, "report": self.report, "params": self.params, "filters": self.filters,
                "saved_at": self.saved_at}


def _clean_name(name: str) -> str:
    text = " ".join(str(name or "").split())
    if not text:
        raise InvalidInput("a view needs a name")
    if len(text) > MAX_NAME:
        raise InvalidInput(f"a view's name is at most {MAX_NAME} characters")
    return text


def check(conn, report: str, params: dict, filters: dict) -> tuple[dict, dict]:
    """The view's parameters and filters as stored; InvalidInput naming the first bad one.

    The report is built once (on this connection, which may be read-only) so a
    view that saves always opens: a wrong key, model or date fails here, not later.
    """
    from .reports import build_report

    if report not in REPORTS:
        raise InvalidInput(f"unknown report {report!r} (one of: {', '.join(REPORTS)})")
    unknown = sorted(set(params) - set(PARAMS))
    if unknown:
        raise InvalidInput(f"unknown view parameter {unknown[0]!r} (one of: {', '.join(PARAMS)})")
    kept = {k: v for k, v in params.items() if v not in (None, "")}
    if kept.get("compare") not in (None, *COMPARE):
        raise InvalidInput(f"compare is one of: {', '.join(COMPARE)}")
    chosen = Filters.of(filters).as_dict()
    if report == "summary" and "by" in kept:
        raise InvalidInput("the summary report has no grouping (--by)")
    if report != "attribution" and ("model" in kept or "lookback_days" in kept):
        raise InvalidInput("a model and a lookback are for the attribution report")
    # "all" (every model side by side) is checked with the default model: the rest is the same.
    build_params = {k: v for k, v in kept.items() if k != "compare" and not (k == "model" and v == "all")}
    build_report(conn, report, filters=chosen, **build_params)  # InvalidInput naming what is wrong
    return kept, chosen


def save_view(conn, name: str, report: str, params: dict | None = None, filters: dict | None = None) -> bool:
    """Store the view (writer connection); True when it replaced one of the same name."""
    name = _clean_name(name)
    kept, chosen = check(conn, report, dict(params or {}), dict(filters or {}))
    with conn:
        replaced = conn.execute("DELETE FROM saved_views WHERE name = ?", (name,)).rowcount > 0
        conn.execute("INSERT INTO saved_views(name, report, params, filters, saved_at) VALUES (?, ?, ?, ?, ?)",
                     (name, report, orjson.dumps(kept).decode(), orjson.dumps(chosen).decode(), now_ts()))
    return replaced


def _row(row) -> SavedView:
    name, report, params, filters, saved_at = row
    return SavedView(name, report, orjson.loads(params), orjson.loads(filters), saved_at)


def get_view(conn, name: str) -> SavedView:
    row = conn.execute("SELECT name, report, params, filters, saved_at FROM saved_views WHERE name = ?",
                       (_clean_name(name),)).fetchone()
    if row is None:
        known = [v.name for v in list_views(conn)]
        hint = f" (saved: {', '.join(known)})" if known else " (none saved yet: segdesk views save NAME ...)"
        raise NotFound(f"no saved view named {name!r}{hint}")
    return _row(row)


def list_views(conn) -> list[SavedView]:
    return [_row(r) for r in conn.execute(
        "SELECT name, report, params, filters, saved_at FROM saved_views ORDER BY name COLLATE NOCASE")]


def delete_view(conn, name: str) -> None:
    with conn:
        if conn.execute("DELETE FROM saved_views WHERE name = ?", (_clean_name(name),)).rowcount == 0:
            raise NotFound(f"no saved view named {name!r}")
