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

Rounding: each (channel, currency) credit is summed in doubles touch by touch in
(order, touch) order, and a key's credit is the sum of its channels' in channel
order (a channel is source, medium and campaign: every key is made of them), so
the live pass and the weights cached at refresh (``shares.py``, the default
lookback) add the very same doubles; the error stays far below 0.0001 minor
units at any realistic volume. Then the rows of a currency are
rounded to 0.01 minor units with the largest-remainder rule so that they add
up to the attributed revenue (an integer) exactly; ``unattributed`` is an
integer, so rows + unattributed == total to the cent. Credited order counts
are rounded the same way to 0.01 and add up to the attributed orders.
"""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar

from .converted import converting_to
from .data import order_params, orders_source, range_where
from .model import FLOAT, MONEY, TEXT, Column, Range, Report, apportion
from .shares import cached_sums
from .touches import touches_source
from .weights import (AGE, CHANNEL, DEFAULT_LOOKBACK, MODELS, TOUCH_KEY, TOUCHES_SQL, _day_start, key_of,  # noqa: F401
                      weights, window)

_ONE_PASS: ContextVar[dict | None] = ContextVar("segdesk_attribution_one_pass", default=None)

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
        key = (rng, rng.scope, lookback_days)
        if key not in stash:
            stash[key] = _channel_sums(conn, rng, MODELS, lookback_days)
        return _by_key(stash[key][model], by)
    cached = cached_sums(conn, rng, (model,), lookback_days)
    if cached is not None:
        return _by_key(cached[model], by)
    if model in PICK:
        return _picked(conn, rng, model, lookback_days, by)
    return _by_key(_shared(conn, rng, (model,), lookback_days)[model], by)


def _channel_sums(conn, rng: Range, models, lookback_days: int) -> dict:
    """{model: sums per channel} from the cached weights when they answer, else from the touches."""
    cached = cached_sums(conn, rng, models, lookback_days)
    return cached if cached is not None else _shared(conn, rng, models, lookback_days)


def _by_key(sums, by: str):
    """Channel sums (``_shared``) as ``_credits`` returns them: each key's credit is the sum of its channels'
    in channel order, so it does not depend on where the channel sums came from (live or cached)."""
    chan_credit, chan_orders, attributed, attributed_orders, total = sums
    credit: dict[str, dict[str, float]] = {}
    orders: dict[str, float] = {}
    key = key_of(by)
    for ch in sorted(chan_credit):
        k = key(ch)
        row = credit.setdefault(k, {})
        for cur, v in chan_credit[ch].items():
            row[cur] = row.get(cur, 0.0) + v
        orders[k] = orders.get(k, 0.0) + chan_orders[ch]
    return credit, orders, attributed, attributed_orders, total


def _shared(conn, rng: Range, models, lookback_days: int) -> dict:
    """{model: (credit {channel: {cur: float}}, credited orders {channel: float}, attributed {cur: int},
    attributed orders, total {cur: int})} for ``models``, from one read of every order's touches.

    A channel is (source, medium, campaign): every report key is one of its parts or two joined,
    so one pass serves every ``by``. Each channel's credit is summed touch by touch in (order, touch)
    order, the order ``shares.py`` reads its cached weights in, so both give the same doubles.
    The loop over every touch is the cost (170,000 rows at 1M events): it reuses the weights of n
    touches where they depend on n alone. Only touches with weight > 0 count, as in the cache."""
    sums = {m: ({}, {}) for m in models}  # model -> (credit, credited orders)
    attributed: dict[str, int] = {}
    attributed_orders = 0
    total: dict[str, int] = {}
    decay = "time_decay" in models
    since, wparams = window(conn, rng, lookback_days)
    sql = TOUCHES_SQL.format(columns=f"t.contact_id, {CHANNEL}, {AGE if decay else '0'}",
                             since=since, orders=orders_source(conn, rng), touches=touches_source(conn),
                             where=range_where("o"))
    # Per model: whether its weights depend on the order's own touches, else its weights by n.
    plans = [(m, m in ("time_decay", "last_non_direct"), credit, orders, {}) for m, (credit, orders) in sums.items()]
    current, cur, net, chans, ages = None, None, 0, [], []

    def add():
        nonlocal attributed_orders
        total[cur] = total.get(cur, 0) + net
        if not chans:
            return
        attributed[cur] = attributed.get(cur, 0) + net
        attributed_orders += 1
        n = len(chans)
        for model, own, credit, orders, by_n in plans:
            if own:
                ws = weights(model, [ch[0] != "(direct)" for ch in chans], ages)
            else:
                ws = by_n.get(n)
                if ws is None:
                    ws = by_n[n] = weights(model, chans, ages)
            for ch, w in zip(chans, ws):
                if w > 0:
                    row = credit.setdefault(ch, {})
                    row[cur] = row.get(cur, 0.0) + net * w
                    orders[ch] = orders.get(ch, 0.0) + w

    for oid, c, v, touched, source, medium, campaign, age in conn.execute(sql, {**order_params(conn, rng), **wparams}):
        if oid != current:
            if current is not None:
                add()
            current, cur, net, chans, ages = oid, c, v, [], []
        if touched is not None:  # NULL: the order has no touchpoint in the window
            chans.append((source, medium, campaign))
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
