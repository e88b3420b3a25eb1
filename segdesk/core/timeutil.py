"""Timestamps as fixed-width ISO 8601 UTC text: ``2026-01-31T12:00:00.000Z``.

A fixed width makes text order equal time order, so SQLite compares and
indexes times as plain strings.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

# The relay shares the stored form and the clock-skew rule (collector_relay/clock.py).
from segdesk.collector_relay.clock import canonical as is_canonical  # noqa: F401  (re-exported)

UTC = timezone.utc
FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


def format_ts(dt: datetime) -> str:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def parse_ts(value: str) -> datetime:
    """Parse ISO 8601 (with Z, an offset, or naive meaning UTC; a date alone is midnight UTC)."""
    if not isinstance(value, str):
        raise ValueError("timestamp is not a string")
    text = value.strip()
    if text.endswith(("z", "Z")):
        text = text[:-1] + "+00:00"
    dt = datetime.fromisoformat(text)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def normalise_ts(value: str) -> str:
    """Fast path for the common canonical forms; anything else goes through datetime."""
    if is_canonical(value):
        return value
    n = len(value)
    if n == 20 and value[19] == "Z" and value[10] == "T":
        return value[:19] + ".000Z"
    return format_ts(parse_ts(value))


def shift(ts: str, delta: timedelta) -> str:
    return format_ts(parse_ts(ts) + delta)


def now_ts() -> str:
    return format_ts(datetime.now(UTC))


def to_contract(ts: str | None) -> str | None:
    """Contract form: ISO UTC with a Z (milliseconds kept)."""
    return ts
