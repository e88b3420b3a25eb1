"""The dashboard's trend: revenue and ad spend per day, week or month, in the reporting currency.

Revenue is every counted order's net amount in the period it was created (the
summary's ``period_revenue``, the period's cash view); spend is ``spend_rows``'s
daily spend (CSV and ad platforms alike). Both are converted into the reporting
currency at their own day's rate (``converted.py``); amounts without a rate are
left out and the notes say which. Periods are days of the workspace timezone,
grouped by day for a range up to ``DAILY_UP_TO`` days, by week (keyed by its
Monday) up to ``WEEKLY_UP_TO`` days, else by month. A first or last period cut
by the range, or still running, is named as partial.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from .converted import converting, rate_notes, spend_source
from .data import order_params, orders_source, range_where
from .model import Range, parse_range
from .order_hours import hour_bound, hours_source

DAILY_UP_TO = 45
WEEKLY_UP_TO = 550


def _period(day: date, unit: str) -> date:
    if unit == "day":
        return day
    if unit == "week":
        return day - timedelta(days=day.weekday())
    return day.replace(day=1)


def _next(start: date, unit: str) -> date:
    if unit == "day":
        return start + timedelta(days=1)
    if unit == "week":
        return start + timedelta(days=7)
    return (start.replace(day=28) + timedelta(days=4)).replace(day=1)


def _key(start: date, unit: str) -> str:
    return start.isoformat()[:7] if unit == "month" else start.isoformat()


def _name(start: date, unit: str) -> str:
    return {"day": start.isoformat(), "week": f"the week of {start.isoformat()}", "month": start.isoformat()[:7]}[unit]


def revenue_and_spend(conn, currency: str, since: str | None = None, until: str | None = None,
                      today: date | None = None) -> dict:
    """{"unit", "currency", "series": [revenue, spend], "notes"}: the series ready for a time chart
    (points ``(period key, minor units)``, every period of the span present, zeros included)."""
    rng = parse_range(conn, since, until)
    with converting(conn, currency) as rates:
        revenue = _revenue_days(conn, rng)
        spend = _spend_days(conn, rng)
    cur = rates.target
    days = sorted(set(revenue) | set(spend))
    first = date.fromisoformat(_local_day(rng.since, rng)) if rng.since else (days[0] if days else None)
    end = date.fromisoformat(_local_day(rng.until, rng)) if rng.until else (days[-1] + timedelta(days=1) if days else None)
    if first is None or end is None or end <= first:
        return {"unit": "day", "currency": cur, "series": [], "notes": []}
    span = (end - first).days
    unit = "day" if span <= DAILY_UP_TO else "week" if span <= WEEKLY_UP_TO else "month"
    starts = []
    p = _period(first, unit)
    while p < end:
        starts.append(p)
        p = _next(p, unit)
    totals = {"revenue": dict.fromkeys(starts, 0), "spend": dict.fromkeys(starts, 0)}
    for name, by_day in (("revenue", revenue), ("spend", spend)):
        for day, amount in by_day.items():
            start = _period(day, unit)
            if start in totals[name]:
                totals[name][start] += amount
    series = [{"name": f"{label} ({cur.upper()})", "key": name, "currency": cur,
               "points": [(_key(s, unit), totals[name][s]) for s in starts]}
              for name, label in (("revenue", "Revenue"), ("spend", "Ad spend"))]
    if not any(v for s in series for _, v in s["points"]):
        series = []
    today = today or datetime.now(rng.zone).date()
    notes = []
    for s in dict.fromkeys((starts[0], starts[-1])) if series else ():
        if s <= today < _next(s, unit):
            notes.append(f"{_name(s, unit)} is still running: its figures are partial.")
        elif (rng.since and s < first) or (rng.until and _next(s, unit) > end):
            notes.append(f"{_name(s, unit)} is only partly in the range: its figures are partial.")
    return {"unit": unit, "currency": cur, "series": series, "notes": notes + rate_notes(cur, rates.usage)}


def _local_day(ts: str, rng: Range) -> str:
    return datetime.fromisoformat(ts).astimezone(rng.zone).date().isoformat()


def _revenue_days(conn, rng: Range) -> dict[date, int]:
    """Net converted revenue per local day: per UTC hour in SQL (``order_hours.py`` when it answers), hours
    placed on local days here (an hour is the finest step a timezone's offset takes)."""
    out: dict[date, int] = {}
    source = orders_source(conn, rng)  # also what records the conversion's rate usage (the notes)
    hours = hours_source(conn, [rng])
    if hours is not None:
        sql = (f"SELECT hour, sum(net) FROM {hours} WHERE (:since IS NULL OR hour >= :since) "
               f"AND (:until IS NULL OR hour < :until) GROUP BY 1")
        params = {"since": hour_bound(rng.since), "until": hour_bound(rng.until)}
    else:
        sql = (f"SELECT substr(created_at, 1, 13), sum(amount - refunded) FROM {source} o "
               f"WHERE {range_where('o')} GROUP BY 1")
        params = order_params(conn, rng)
    for hour, net in conn.execute(sql, params):
        day = datetime.fromisoformat(f"{hour}:00:00+00:00").astimezone(rng.zone).date()
        out[day] = out.get(day, 0) + (net or 0)
    return out


def _spend_days(conn, rng: Range) -> dict[date, int]:
    since = _local_day(rng.since, rng) if rng.since else None
    until = _local_day(rng.until, rng) if rng.until else None
    return {date.fromisoformat(day): total for day, total in conn.execute(
        f"SELECT date, sum(spend) FROM {spend_source()} WHERE (:since IS NULL OR date >= :since) "
        "AND (:until IS NULL OR date < :until) GROUP BY 1", {"since": since, "until": until})}
