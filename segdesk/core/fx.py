"""The reporting currency and the daily rates that convert into it (docs/SPEC.md §4, "Converted figures").

Rates are stored as the ECB publishes them: units of a currency per one euro
on a day (``fx_rates``, migration 0012). An amount in X on day D becomes
``amount / rate(X, D) * rate(R, D)`` in the reporting currency R, in minor
units of each (``core.money.exponent``), rounded to R's minor unit per order.

Which rate a day uses: the latest day on or before it that has one, at most
``MAX_GAP_DAYS`` back (the ECB publishes on TARGET working days only, so a
Saturday order takes Friday's rate, and the report says so); on one day a
manual rate wins over the ECB's. No rate in that span is a missing rate: the
amount is left out of converted figures and the report names it. Nothing is
converted silently: every use is recorded in :class:`Usage`.
"""

from __future__ import annotations

import bisect
import locale
import os
from dataclasses import dataclass, field
from datetime import date, timedelta

from .money import exponent, normalise_currency
from .store import read_setting
from ..errors import InvalidInput

SETTING = "reporting_currency"
BASE = "eur"  # the ECB's rates are per euro
MAX_GAP_DAYS = 7  # the longest run of days without an ECB fixing is Easter (4 days); a week leaves room
ORIGIN_NAMES = {"ecb": "ECB euro reference rates", "manual": "manual rate table"}
ORIGINS = ("ecb", "manual")

# Territory -> currency for the locale default; euro-area members and the common others.
_EURO = "AT BE CY DE EE ES FI FR GR HR IE IT LT LU LV MT NL PT SI SK".split()
_TERRITORY = {**{t: "eur" for t in _EURO}, "US": "usd", "GB": "gbp", "CH": "chf", "CA": "cad", "AU": "aud",
              "NZ": "nzd", "JP": "jpy", "SE": "sek", "NO": "nok", "DK": "dkk", "PL": "pln", "CZ": "czk",
              "HU": "huf", "IN": "inr", "BR": "brl", "MX": "mxn", "ZA": "zar", "SG": "sgd", "HK": "hkd"}


def locale_currency() -> str:
    """The currency of this computer's locale (``LC_MONETARY``, ``LANG``...), else the euro (the rates' base)."""
    names = [os.environ.get(k) for k in ("LC_ALL", "LC_MONETARY", "LANG")]
    try:
        names.append(locale.getlocale()[0])
    except ValueError:
        pass
    for name in names:
        if name and "_" in name:
            territory = name.split("_", 1)[1][:2].upper()
            if territory in _TERRITORY:
                return _TERRITORY[territory]
    return BASE


def reporting_currency(conn) -> str:
    """The workspace's reporting currency: its setting, else the locale's."""
    return read_setting(conn, SETTING) or locale_currency()


def chosen_currency(conn) -> str | None:
    """The reporting currency only when the marketer chose one (reports then convert by default)."""
    return read_setting(conn, SETTING) or None


def check_currency(code: str) -> str:
    return normalise_currency(code)  # MoneyError (an InvalidInput) names a code that is not one


def set_reporting_currency(conn, code: str) -> str:
    cur = check_currency(code)
    with conn:
        conn.execute("INSERT INTO settings(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                     (SETTING, cur))
    return cur


def check_day(text: str) -> str:
    try:
        return date.fromisoformat(text.strip()).isoformat()
    except ValueError:
        raise InvalidInput(f"'{text}' is not a date (YYYY-MM-DD)") from None


def check_rate(text) -> float:
    try:
        rate = float(text)
    except (TypeError, ValueError):
        raise InvalidInput(f"'{text}' is not a rate (units of the currency per one euro, e.g. 1.0842)") from None
    if not rate > 0 or rate != rate or rate == float("inf"):
        raise InvalidInput(f"a rate must be a positive number, not '{text}'")
    return rate


def store_rates(conn, rows, origin: str) -> int:
    """Upsert (currency, day, rate) rows of one origin; returns how many were new or changed."""
    # rowcount, not total_changes: the report caches' triggers on fx_rates write rows of their own.
    return conn.executemany(
        "INSERT INTO fx_rates(currency, day, origin, rate) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(currency, day, origin) DO UPDATE SET rate = excluded.rate WHERE rate <> excluded.rate",
        ((cur, day, origin, rate) for cur, day, rate in rows)).rowcount


def set_manual_rates(conn, rows) -> int:
    """The manual table: rows (DAY, CURRENCY, RATE as text), all checked before any is stored."""
    clean = []
    for n, (day, cur, rate) in enumerate(rows, 1):
        try:
            clean.append((check_currency(cur), check_day(day), check_rate(rate)))
        except InvalidInput as exc:
            raise InvalidInput(f"rate {n}: {exc}") from None
    if any(cur == BASE and rate != 1.0 for cur, _, rate in clean):
        raise InvalidInput("rates are per one euro: the euro's own rate is always 1")
    with conn:
        return store_rates(conn, clean, "manual")


def list_rates(conn, currency: str | None = None) -> list[dict]:
    sql = "SELECT day, currency, rate, origin FROM fx_rates"
    params: tuple = ()
    if currency:
        sql += " WHERE currency = ?"
        params = (check_currency(currency),)
    return [{"day": d, "currency": c, "rate": r, "origin": o}
            for d, c, r, o in conn.execute(sql + " ORDER BY day, currency, origin", params)]


@dataclass
class Usage:
    """What a conversion used: per currency the rate days and origins, fallbacks and misses."""

    rate_days: dict[str, set] = field(default_factory=dict)  # currency -> {(rate day, origin)}
    fallback: dict[str, set] = field(default_factory=dict)  # currency -> {days that took an earlier day's rate}
    missing: dict[str, set] = field(default_factory=dict)  # currency -> {days without a rate}

    def as_dict(self) -> dict:
        out = {}
        for cur in sorted(set(self.rate_days) | set(self.missing)):
            used = sorted(self.rate_days.get(cur, ()))
            entry = {"origins": sorted({o for _, o in used})}
            if used:
                entry.update(first_rate_day=used[0][0], last_rate_day=used[-1][0])
            if self.fallback.get(cur):
                entry["days_on_earlier_rate"] = len(self.fallback[cur])
            if self.missing.get(cur):
                days = sorted(self.missing[cur])
                entry.update(missing_days=len(days), first_missing_day=days[0], last_missing_day=days[-1])
            out[cur] = entry
        return out


class Rates:
    """Every stored rate in memory, looked up by (currency, day) with the fallback rule above."""

    def __init__(self, conn, target: str) -> None:
        self.target = check_currency(target)
        by_cur: dict[str, dict[str, tuple[float, str]]] = {}
        for cur, day, origin, rate in conn.execute("SELECT currency, day, origin, rate FROM fx_rates"):
            current = by_cur.setdefault(cur, {}).get(day)
            if current is None or origin == "manual":  # manual wins on its day
                by_cur[cur][day] = (rate, origin)
        self._days = {cur: sorted(days) for cur, days in by_cur.items()}
        self._rates = by_cur
        self.usage = Usage()
        self._cache: dict[tuple[str, str], float | None] = {}

    def rate(self, cur: str, day: str) -> tuple[float, str, str] | None:
        """(rate per euro, the day it is of, origin) for ``cur`` on ``day``, or None when missing."""
        if cur == BASE:
            return 1.0, day, "ecb"
        days = self._days.get(cur)
        if not days:
            return None
        i = bisect.bisect_right(days, day) - 1
        if i < 0:
            return None
        found = days[i]
        if (date.fromisoformat(day) - date.fromisoformat(found)) > timedelta(days=MAX_GAP_DAYS):
            return None
        rate, origin = self._rates[cur][found]
        return rate, found, origin

    def factor(self, cur: str, day: str) -> float | None:
        """Minor units of the target per minor unit of ``cur`` on ``day``; records what it used."""
        key = (cur, day)
        if key in self._cache:
            return self._cache[key]
        value = None
        if cur == self.target:
            value = 1.0
        else:
            src, dst = self.rate(cur, day), self.rate(self.target, day)
            for code, found in ((cur, src), (self.target, dst)):
                if found is None:
                    self.usage.missing.setdefault(code, set()).add(day)
                elif code != BASE and src and dst:  # a rate counts as used only when the amount converted
                    self.usage.rate_days.setdefault(code, set()).add((found[1], found[2]))
                    if found[1] != day:
                        self.usage.fallback.setdefault(code, set()).add(day)
            if src and dst:
                value = dst[0] / src[0] * 10 ** (exponent(self.target) - exponent(cur))
        self._cache[key] = value
        return value

    def convert(self, cur: str, ts: str | None, minor) -> int | None:
        """``minor`` units of ``cur`` at time ``ts`` (its UTC day) in minor units of the target, or None."""
        if minor is None or not ts:
            return None
        f = self.factor(cur, ts[:10])
        return None if f is None else round(minor * f)
