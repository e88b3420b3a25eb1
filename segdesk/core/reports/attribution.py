"""Attribution: each order's revenue shared among the contact's touchpoints (docs/SPEC.md §4).

Touchpoints are the contact's sessions that start in the lookback window
``[order time - N days, order time]``; N = 0 is the order's own calendar day
(midnight in the report's timezone up to the order), so "0 days back" keeps
its plain meaning instead of an empty instant. Weights per order sum to 1: first_touch,
last_touch and last_non_direct give 1 to one touch (last_non_direct: the last
non-direct one, the last direct one only when all are direct); linear 1/n;
position_based 40/40 with 20 split among the middle (one touch 1, two 0.5
each); time_decay 2^(-age/7 days) normalised, age = order time - session start.
Orders with no touchpoint in the window are ``unattributed``; an order fully
refunded has no revenue to share and is not counted.

Rounding: each (key, currency) credit is summed in doubles (error far below
0.0001 minor units at any realistic volume), then the rows of a currency are
rounded to 0.01 minor units with the largest-remainder rule so that they add
up to the attributed revenue (an integer) exactly; ``unattributed`` is an
integer, so rows + unattributed == total to the cent. Credited order counts
are rounded the same way to 0.01 and add up to the attributed orders.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from ..timeutil import format_ts
from ...errors import InvalidInput
from .converted import converting_to
from .data import order_params, orders_source, range_where
from .model import FLOAT, MONEY, NOT_SET, TEXT, Column, Range, Report, apportion
from .touches import touches_source

MODELS = ("first_touch", "last_touch", "last_non_direct", "linear", "time_decay", "position_based")
DEFAULT_LOOKBACK = 90
HALF_LIFE_DAYS = 7.0
_ONE_PASS: ContextVar[dict | None] = ContextVar("segdesk_attribution_one_pass", default=None)
TOUCH_KEY = {"source": "t.source", "medium": "t.medium", "campaign": f"coalesce(t.campaign, '{NOT_SET}')",
             "source_medium": "t.source || ' / ' || t.medium"}

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


# Single-touch models give one touch weight 1: credits are then integer sums, exact in any
# order, so SQL picks the touch (one seek into the contact's clustered range) and sums per
# key and currency; Python sees a dozen rows instead of 170,000 touches.
PICK = {"first_touch": "t.start_ts, t.first_event_id", "last_touch": "t.start_ts DESC, t.first_event_id DESC",
        "last_non_direct": "t.source <> '(direct)' DESC, t.start_ts DESC, t.first_event_id DESC"}
PICKED_SQL = """
SELECT key, currency, sum(net), count(*) FROM (
    SELECT o.currency, o.amount - o.refunded AS net,
           (SELECT {key} FROM {touches} t WHERE t.contact_id = o.contact_id
            AND t.start_ts >= {since} AND t.start_ts <= o.created_at
            ORDER BY {pick} LIMIT 1) AS key
    FROM {orders} o WHERE o.amount - o.refunded > 0 AND {where})
GROUP BY key, currency
"""


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


def order_touches(conn, rng: Range, model: str, lookback_days: int, by: str):
    """Yields (order row id, currency, net, [(key, weight)]) per counted order; [] when unattributed."""
    age = "julianday(o.created_at) - julianday(t.start_ts)" if model == "time_decay" else "0"
    since, wparams = window(conn, rng, lookback_days)
    sql = TOUCHES_SQL.format(columns=f"t.start_ts, {TOUCH_KEY[by]}, t.source <> '(direct)', {age}", since=since,
                             orders=orders_source(conn, rng), touches=touches_source(conn), where=range_where("o"))
    params = {**order_params(conn, rng), **wparams}
    def shares(keys, flags, ages):
        return [(k, w) for k, w in zip(keys, weights(model, flags, ages)) if w > 0] if keys else []

    current, keys, flags, ages = None, [], [], []
    for oid, cur, net, touched, key, non_direct, age in conn.execute(sql, params):
        if current is None or oid != current[0]:
            if current is not None:
                yield (*current, shares(keys, flags, ages))
            current, keys, flags, ages = (oid, cur, net), [], [], []
        if touched is not None:  # NULL: the order has no touchpoint in the window
            keys.append(key)
            flags.append(non_direct)
            ages.append(age)
    if current is not None:
        yield (*current, shares(keys, flags, ages))


def _picked(conn, rng: Range, model: str, lookback_days: int, by: str):
    """What the loop in ``_credits`` adds up, for the single-touch models, summed in SQL."""
    credit: dict[str, dict[str, float]] = {}
    orders: dict[str, float] = {}
    attributed: dict[str, int] = {}
    attributed_orders = 0
    total: dict[str, int] = {}
    since, wparams = window(conn, rng, lookback_days)
    sql = PICKED_SQL.format(key=TOUCH_KEY[by], touches=touches_source(conn), pick=PICK[model], since=since,
                            orders=orders_source(conn, rng), where=range_where("o"))
    for key, cur, net, n in conn.execute(sql, {**order_params(conn, rng), **wparams}):
        total[cur] = total.get(cur, 0) + net
        if key is None:  # no touchpoint in the window
            continue
        attributed[cur] = attributed.get(cur, 0) + net
        attributed_orders += n
        credit.setdefault(key, {})[cur] = float(net)
        orders[key] = orders.get(key, 0.0) + n
    return credit, orders, attributed, attributed_orders, total


def _credits(conn, rng: Range, model: str, lookback_days: int, by: str):
    """(credit {key: {cur: float}}, credited orders {key: float}, attributed {cur: int}, attributed orders,
    total {cur: int}): each order's net revenue shared by the model's weights."""
    stash = _ONE_PASS.get()
    # Models side by side: every model from one pass over the touches. Not for converted figures:
    # each converted build records the rates it used (converted.py), which a shared pass would skip.
    if stash is not None and not converting_to():
        key = (rng, rng.scope, lookback_days, by)
        if key not in stash:
            stash[key] = _shared(conn, rng, MODELS, lookback_days, by)
        return stash[key][model]
    if model in PICK:
        return _picked(conn, rng, model, lookback_days, by)
    return _shared(conn, rng, (model,), lookback_days, by)[model]


def _shared(conn, rng: Range, models, lookback_days: int, by: str) -> dict:
    """{model: what ``_credits`` returns} for ``models``, from one read of every order's touches.

    The loop over every touch is the cost (170,000 rows at 1M events): it reads only the
    columns the models need, reuses the weights of n touches where they depend on n alone,
    and adds up in the same order as order_touches + weights, so the floats are the same.
    A single-touch model adds whole amounts, exact in any order: the same sums ``_picked`` makes."""
    sums = {m: ({}, {}) for m in models}  # model -> (credit, credited orders)
    attributed: dict[str, int] = {}
    attributed_orders = 0
    total: dict[str, int] = {}
    decay = "time_decay" in models
    direct = "last_non_direct" in models
    age = "julianday(o.created_at) - julianday(t.start_ts)" if decay else "0"
    since, wparams = window(conn, rng, lookback_days)
    # Last non-direct needs each touch's direct flag: it leads the key ("1google"), so a single model's
    # pass reads no column more than before (a column costs ~5% of it).
    key = f"(t.source <> '(direct)') || {TOUCH_KEY[by]}" if direct else TOUCH_KEY[by]
    sql = TOUCHES_SQL.format(columns=f"CASE WHEN t.contact_id IS NOT NULL THEN {key} END, {age}",
                             since=since, orders=orders_source(conn, rng), touches=touches_source(conn),
                             where=range_where("o"))
    # Per model: whether its weights depend on the order's own touches, else its weights by n.
    plans = [(m, m in ("time_decay", "last_non_direct"), credit, orders, {}) for m, (credit, orders) in sums.items()]
    current, cur, net, keys, ages, flags = None, None, 0, [], [], []

    def add():
        nonlocal attributed_orders
        total[cur] = total.get(cur, 0) + net
        if not keys:
            return
        attributed[cur] = attributed.get(cur, 0) + net
        attributed_orders += 1
        n = len(keys)
        for model, own, credit, orders, by_n in plans:
            if own:
                ws = weights(model, flags if direct else keys, ages)
            else:
                ws = by_n.get(n)
                if ws is None:
                    ws = by_n[n] = weights(model, keys, ages)
            for key, w in zip(keys, ws):
                if w > 0:
                    row = credit.setdefault(key, {})
                    row[cur] = row.get(cur, 0.0) + net * w
                    orders[key] = orders.get(key, 0.0) + w

    for oid, c, v, key, age in conn.execute(sql, {**order_params(conn, rng), **wparams}):
        if oid != current:
            if current is not None:
                add()
            current, cur, net, keys, ages, flags = oid, c, v, [], [], []
        if key is not None:  # NULL: the order has no touchpoint in the window
            if direct:
                flags.append(key[0] == "1")
                key = key[1:]
            keys.append(key)
            ages.append(age)
    if current is not None:
        add()
    return {m: (credit, orders, attributed, attributed_orders, total) for m, (credit, orders) in sums.items()}


@contextmanager
def one_pass():
    """Attribution reports built inside share one pass over the touches among the models (side by side)."""
    token = _ONE_PASS.set({})
    try:
        yield
    finally:
        _ONE_PASS.reset(token)


def attribution(conn, rng: Range, model: str = "linear", lookback_days: int = DEFAULT_LOOKBACK,
                by: str = "source") -> Report:
    credit, orders, attributed, attributed_orders, total = _credits(conn, rng, model, lookback_days, by)
    keys = sorted(credit)
    rounded: dict[str, dict[str, float]] = {k: {} for k in keys}
    for cur in sorted(total):
        ks = [k for k in keys if cur in credit[k]]
        for k, h in zip(ks, apportion([credit[k][cur] * 100 for k in ks], attributed.get(cur, 0) * 100)):
            rounded[k][cur] = h / 100
    order_shares = apportion([orders[k] * 100 for k in keys], attributed_orders * 100)
    rows = [{"key": k, "credit": dict(sorted(rounded[k].items())), "orders": h / 100}
            for k, h in zip(keys, order_shares)]
    rows.sort(key=lambda r: (-sum(r["credit"].values()), r["key"]))
    unattributed = {cur: total[cur] - attributed.get(cur, 0) for cur in sorted(total)}
    extra = {"model": model, "lookback_days": int(lookback_days), "by": by,
             "total": dict(sorted(total.items())), "unattributed": unattributed}
    series = [{"name": f"credit ({cur.upper()})", "currency": cur,
               "points": [(r["key"], r["credit"][cur]) for r in rows if cur in r["credit"]]} for cur in sorted(total)]
    label = by.replace("_", " / ")
    return Report(
        name="attribution", title=f"Attribution: {model.replace('_', ' ')} by {label}",
        parameters={"model": model, "lookback_days": int(lookback_days), "by": by, **rng.as_params()},
        columns=[Column("key", label.capitalize(), TEXT), Column("credit", "Credit", MONEY),
                 Column("orders", "Orders", FLOAT)],
        rows=rows, series=series, extra=extra)


def drill(conn, rng: Range, model: str, lookback_days: int, by: str, key: str | None) -> dict[int, float]:
    """Order row id -> the weight ``key`` got from it (``key`` None: the unattributed orders, weight 1)."""
    out = {}
    for oid, _cur, _net, shares in order_touches(conn, rng, model, lookback_days, by):
        if key is None:
            if not shares:
                out[oid] = 1.0
            continue
        w = sum(s for k, s in shares if k == key)
        if w > 0:
            out[oid] = w
    return out
