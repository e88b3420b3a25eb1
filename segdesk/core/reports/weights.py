"""Attribution's rules: which touches an order has (the lookback window) and what each one weighs.

One place for both readers of them: the live report (``attribution.py``) and the per-touch
weights cached at refresh (``shares.py``), so the two cannot drift apart. The journey's
per-order shares (``credits.py``) use the same window rule and :func:`weights`.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from ...errors import InvalidInput
from ..timeutil import format_ts
from .model import NOT_SET, Range

MODELS = ("first_touch", "last_touch", "last_non_direct", "linear", "time_decay", "position_based")
DEFAULT_LOOKBACK = 90
HALF_LIFE_DAYS = 7.0
TOUCH_KEY = {"source": "t.source", "medium": "t.medium", "campaign": f"coalesce(t.campaign, '{NOT_SET}')",
             "source_medium": "t.source || ' / ' || t.medium"}
# A touch's channel: every key a report groups by (TOUCH_KEY) is a function of it (:func:`key_of`).
CHANNEL = f"t.source, t.medium, coalesce(t.campaign, '{NOT_SET}')"
AGE = "julianday(o.created_at) - julianday(t.start_ts)"

# Every counted order with revenue, then its touchpoints in the window (NULL: none), in
# (order, session start) order: report_orders is read by id and contact_touches is clustered
# by (contact, start), so SQLite streams it without sorting.
TOUCHES_SQL = """
SELECT o.id, o.currency, o.amount - o.refunded, {columns}
FROM {orders} o
LEFT JOIN {touches} t ON t.contact_id = o.contact_id
     AND t.start_ts >= {since} AND t.start_ts <= o.created_at
WHERE o.amount - o.refunded > 0 AND {where}
ORDER BY o.id, t.start_ts, t.first_event_id
"""


def key_of(by: str):
    """The report key of a channel (source, medium, campaign) under ``by``, as TOUCH_KEY computes it."""
    return {"source": lambda ch: ch[0], "medium": lambda ch: ch[1], "campaign": lambda ch: ch[2],
            "source_medium": lambda ch: f"{ch[0]} / {ch[1]}"}[by]


@lru_cache(maxsize=4096)
def _day_start(ts: str, tz: str) -> str:
    """UTC text of local midnight of the day ``ts`` falls on, in ``tz``."""
    local = datetime.fromisoformat(ts).astimezone(ZoneInfo(tz))
    return format_ts(local.replace(hour=0, minute=0, second=0, microsecond=0))


def window(conn, rng: Range, lookback_days: int) -> tuple[str, dict]:
    """(SQL of the window's start for order ``o``, its parameters)."""
    if lookback_days < 0:
        raise InvalidInput("lookback days cannot be negative")
    if lookback_days == 0:
        conn.create_function("segdesk_day_start", 2, _day_start, deterministic=True)
        return "segdesk_day_start(o.created_at, :zone)", {"zone": rng.tz}
    return "strftime('%Y-%m-%dT%H:%M:%fZ', o.created_at, :lookback)", {"lookback": f"-{int(lookback_days)} days"}


def weights(model: str, non_direct: list, ages: list) -> list[float]:
    """Each touch's share of one order (touches in time order); they sum to 1."""
    n = len(non_direct)
    if model == "linear":
        return [1.0 / n] * n
    w = [0.0] * n
    if model == "first_touch":
        w[0] = 1.0
    elif model == "last_touch":
        w[-1] = 1.0
    elif model == "last_non_direct":
        last = max((i for i in range(n) if non_direct[i]), default=n - 1)
        w[last] = 1.0
    elif model == "position_based":
        if n <= 2:
            return [1.0 / n] * n
        w = [0.2 / (n - 2)] * n
        w[0] = w[-1] = 0.4
    elif model == "time_decay":
        newest = min(ages)  # relative ages keep 2^x from underflowing on long windows
        raw = [2.0 ** (-(a - newest) / HALF_LIFE_DAYS) for a in ages]
        total = sum(raw)
        return [r / total for r in raw]
    else:
        raise ValueError(f"unknown model {model!r}")
    return w
