"""Reports: sessions, attribution, LTV and cohorts, summary, ROAS, drill-down. No Qt, no HTTP.

The API the app, the CLI and the PDF share (keep it stable):

``build_report(conn, name, **params) -> Report``
    ``name`` is ``attribution`` (``model``, ``lookback_days`` = 90, ``by``),
    ``ltv`` (``by``: source, medium, campaign, source_medium, tag,
    cohort_month), ``summary`` or ``roas`` (``by``: source, campaign); every
    report also takes ``since`` / ``until`` (a date ``YYYY-MM-DD`` is a whole
    day in the workspace timezone, ``until`` inclusive; a month ``YYYY-MM``; or
    an ISO time) and ``timezone`` (IANA name; default the workspace setting
    ``timezone``, else UTC), and ``currency`` (an ISO code: converted figures
    beside the originals, ``converted.py``). ``conn`` may be a read-only connection
    (``Workspace.reader()``): building never writes.

``filters`` (a dict or ``filters.Filters``: tag, product, source, campaign,
    country, device) narrows any report (``filters.py``).

``Report`` (``model.py``): ``name``, ``title``, ``parameters`` (normalised,
    what ``drill_down`` takes back, plus ``name``), ``columns`` (``key``,
    ``label``, ``kind``: text, int, float, money, percent), ``rows`` (dicts;
    money as {currency: minor units}), ``series`` ({name, currency, points:
    [(x, y)]}, one per currency), ``extra`` (top-level JSON fields such as
    ``total`` / ``unattributed``, also readable as attributes), ``notes``
    (e.g. events not yet in sessions); ``to_json()`` is the CLI's ``--json``.

``drill_down(conn, params, key) -> {"contacts": [...], "orders": [...]}``
    the people and orders behind one row (``drill.py``).

``update_sessions(ws, progress=None)`` brings sessions, touchpoints and the
    counted-orders cache up to date (writer connection); ``core.refresh.
    refresh_after_import`` runs it after the stitch.
"""

from __future__ import annotations

from dataclasses import replace

from ...errors import InvalidInput
from ..fx import check_currency
from .attribution import DEFAULT_LOOKBACK, MODELS, attribution
from .campaigns import campaigns
from .converted import add_converted, converting, twins
from .cohort import BY as LTV_BY
from .data import sessions_behind
from .drill import drill_down
from .filters import FILTERS, Filters, resolve
from .ltv import ltv
from .model import KEYS, Column, Range, Report, parse_range
from .roas import BY as ROAS_BY, roas
from .summary import summary

REPORTS = ("campaigns", "summary", "attribution", "ltv", "roas")

__all__ = ["build_report", "drill_down", "Report", "Column", "REPORTS", "MODELS", "KEYS", "LTV_BY", "ROAS_BY", "FILTERS", "Filters",
           "update_sessions"]


def _choice(value, allowed, what):
    if value not in allowed:
        raise InvalidInput(f"unknown {what} {value!r} (one of: {', '.join(allowed)})")
    return value


def build_report(conn, name: str, *, since: str | None = None, until: str | None = None,
                 timezone: str | None = None, currency: str | None = None, filters=None, **params) -> Report:
    rng = parse_range(conn, since, until, timezone)
    chosen = Filters.of(filters)
    if chosen:
        rng = replace(rng, scope=resolve(conn, chosen))
    with twins():  # the converted twin reuses what no conversion changes (contacts per key)
        report = _build(conn, name, rng, params)
        twin = None
        if currency:
            target = check_currency(currency)
            with converting(conn, target) as rates:
                twin = _build(conn, name, rng, params)
    report.parameters["name"] = name
    if chosen:  # what drill_down and a saved view take back; the JSON says what narrowed it
        report.parameters["filters"] = chosen.as_dict()
        report.extra["filters"] = chosen.as_dict()
        report.title = f"{report.title} ({chosen.text()})"
    if twin is not None:  # converted figures beside the originals (converted.py), never instead
        add_converted(report, twin, target, rates.usage)
        report.parameters["currency"] = target
    behind = sessions_behind(conn)
    if behind:
        report.notes.append(f"{behind} events are not in sessions yet; refresh to include them")
    return report


def _build(conn, name: str, rng, params: dict) -> Report:
    if name == "attribution":
        # Not `x or default`: 0 is a real lookback (the order's own day), only "not given" takes 90.
        given = params.get("lookback_days")
        lookback = DEFAULT_LOOKBACK if given in (None, "") else int(given)
        if lookback < 0:
            raise InvalidInput("lookback days cannot be negative")
        return attribution(conn, rng, _choice(params.get("model") or "linear", MODELS, "model"), lookback,
                           _choice(params.get("by") or "source", KEYS, "key"))
    if name == "ltv":
        return ltv(conn, rng, _choice(params.get("by") or "source", LTV_BY, "key"))
    if name == "summary":
        return summary(conn, rng)
    if name == "roas":
        return roas(conn, rng, _choice(params.get("by") or "source", ROAS_BY, "key"))
    if name == "campaigns":
        return campaigns(conn, rng)
    raise InvalidInput(f"unknown report {name!r} (one of: {', '.join(REPORTS)})")


def update_sessions(ws, progress=None):
    from .sessions import update_sessions as run

    return run(ws, progress)
