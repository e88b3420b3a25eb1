"""Each counted order's touches in the default lookback window with their weights, cached at refresh.

Live, an attribution report reads every counted order's touches in its window (~166,000 rows at
1M events) and weighs them in Python: ~300 ms. The window of the default lookback (90 days) and
the weights do not depend on the report (its range, key, model or currency only pick and sum), so
the refresh stores them once, per touch:

``report_attribution_touches`` (migration 0021): (channel, order id, touch's place ``seq`` in the
order's window, the order's touch count ``n``, its time_decay weight, whether it is the
last-non-direct pick), clustered by (channel, order id, seq); an order without a touch in its
window has one row of channel 0, so the same scan gives the totals. linear (1/n), position_based and
the single-touch weights follow from ``n`` and ``seq`` in SQL, by the same double operations
``weights.weights`` makes. A report is then one scan of it joined to ``data.orders_source``
(range, filters and conversion apply there), summed per channel in SQLite: in that key order
each channel's doubles are added in (order, touch) order, exactly as ``attribution._shared``
adds them live, so the sums are the same to the bit (SQLite's ``sum`` adds doubles one by one;
:func:`_plain_sums` checks that this SQLite does; SQLite 3.43+ compensates its sums, so there the
doubles are added by ``segdesk_fsum``, a Python aggregate adding them one by one in the same order).
``report_attribution_channels`` names the channels; ``report_attribution_orders`` is the
snapshot of counted orders (contact, time) the touches were computed for.

Never read stale: the cache answers only when the counted orders and the touches are clean and it
is itself up to date (:func:`fresh`). The refresh (:func:`refresh_shares`, after counted orders and
touches) recomputes the orders of contacts whose touches changed (``report_attribution_dirty``,
filled by a trigger on ``first_touch_dirty``) and, when counted orders were rebuilt, the orders
whose contact, time or presence differ from the snapshot; a touch rebuild from nothing recomputes
everything.
"""

from __future__ import annotations

import sqlite3
from functools import lru_cache

import orjson

from .converted import converting_to
from .data import order_params, orders_source, range_where
from .model import Range
from .weights import AGE, CHANNEL, DEFAULT_LOOKBACK, TOUCHES_SQL, weights

CACHED_LOOKBACK = DEFAULT_LOOKBACK
# Each model's weight of touch t as SQL (None: 1) and the condition for a touch to count (None: every touch;
# linear, position_based and time_decay weigh every touch > 0). The constants are bound as parameters (the
# same doubles as Python's literals), the divisions are the ones weights() makes.
WEIGHT = {"first_touch": (None, "t.seq = 0"), "last_touch": (None, "t.seq = t.n - 1"),
          "last_non_direct": (None, "t.lnd"), "linear": ("(1.0 / t.n)", None),
          "position_based": ("(CASE WHEN t.n <= 2 THEN 1.0 / t.n WHEN t.seq = 0 OR t.seq = t.n - 1 THEN :p40 "
                             "ELSE :p20 / (t.n - 2) END)", None),
          "time_decay": ("t.decay", "t.decay > 0")}
# The cache's currencies when it answers, else NULL.
FRESH = ("SELECT currencies FROM report_attribution_state WHERE dirty = 0 AND orders_changed = 0 "
         "AND (SELECT dirty FROM report_orders_state) = 0 AND NOT EXISTS (SELECT 1 FROM first_touch_dirty) "
         "AND NOT EXISTS (SELECT 1 FROM report_attribution_dirty)")

CURRENCIES = "SELECT json_group_array(currency) FROM (SELECT DISTINCT currency FROM report_orders ORDER BY currency)"


@lru_cache(maxsize=None)
def _plain_sums(version: str) -> bool:
    """Whether this SQLite's sum() adds doubles one by one as Python does (3.43+ compensates: then the
    cached sums could differ from the live ones in the last bit, so reports go live)."""
    with sqlite3.connect(":memory:") as probe:
        return probe.execute("SELECT sum(column1) FROM (VALUES (1e16), (1.0), (-1e16))").fetchone()[0] == 0.0


class _PlainSum:
    """``segdesk_fsum(x)``: doubles added one by one from 0.0, as SQLite's sum() did before 3.43 and as
    ``attribution._shared`` adds them (NULL for no non-NULL value)."""

    def __init__(self):
        self.total = None

    def step(self, value):
        if value is not None:
            self.total = (0.0 if self.total is None else self.total) + value

    def finalize(self):
        return self.total


def _float_sum(conn) -> str:
    """The SQL aggregate that adds this cache's doubles as the live pass does, on this SQLite."""
    if _plain_sums(sqlite3.sqlite_version):
        return "sum"
    conn.create_aggregate("segdesk_fsum", 1, _PlainSum)  # per connection (readers included)
    return "segdesk_fsum"


def fresh(conn) -> bool:
    return conn.execute(FRESH).fetchone() is not None


def cached_sums(conn, rng: Range, models, lookback_days: int) -> dict | None:
    """``attribution._shared``'s answer from the cache, or None when the cache cannot give it."""
    if lookback_days != CACHED_LOOKBACK:
        return None
    known = conn.execute(FRESH).fetchone()
    if known is None:
        return None
    orders = orders_source(conn, rng)
    target = converting_to()
    # The currencies of the counted orders (a superset of the range's): one column of sums each.
    currencies = [target] if target else orjson.loads(known[0])
    params = {**order_params(conn, rng), "p40": 0.4, "p20": 0.2,
              **{f"c{i}": c for i, c in enumerate(currencies)}}
    net = "(o.amount - o.refunded)"
    # Revenue and orders: each order's first touch (seq 0; channel 0 for an order without touches) stands for it.
    cols = ["count(*) FILTER (WHERE t.seq = 0)"]
    cols += [f"sum({net}) FILTER (WHERE t.seq = 0 AND o.currency = :c{i})" for i in range(len(currencies))]
    fsum = _float_sum(conn)
    for m in models:
        w, cond = WEIGHT[m]
        # Weighted: doubles, added as the live pass adds them; single-touch: whole amounts (exact in any sum).
        value, add = (f"{net} * {w}", fsum) if w else (net, "sum")
        also = f" AND {cond}" if cond else ""
        cols += [f"{add}({value}) FILTER (WHERE o.currency = :c{i}{also})" for i in range(len(currencies))]
        cols.append((f"{fsum}({w})" if w else "count(*)") + (f" FILTER (WHERE {cond})" if cond else ""))
    # CROSS JOIN: the touches are the outer loop, read in key order, so GROUP BY needs no sorting and
    # each channel's rows arrive in (order, seq) order (tests/core/test_attribution_cache.py checks the plan).
    sql = (f"SELECT t.channel, {', '.join(cols)} FROM report_attribution_touches t CROSS JOIN {orders} o "
           f"ON o.id = t.order_id WHERE {net} > 0 AND {range_where('o')} GROUP BY t.channel")
    channels = {i: (s, m, c) for i, s, m, c in conn.execute("SELECT id, source, medium, campaign "
                                                            "FROM report_attribution_channels")}
    sums = {m: ({}, {}) for m in models}
    total: dict[str, int] = {}
    attributed: dict[str, int] = {}
    attributed_orders = 0
    k = len(currencies)
    for row in conn.execute(sql, params):
        for cur, v in zip(currencies, row[2:2 + k]):
            if v is not None:
                total[cur] = total.get(cur, 0) + v
                if row[0]:
                    attributed[cur] = attributed.get(cur, 0) + v
        if not row[0]:  # the orders without a touch in the window
            continue
        attributed_orders += row[1]
        ch = channels[row[0]]
        for j, m in enumerate(models):
            part = row[2 + k + j * (k + 1):2 + k + (j + 1) * (k + 1)]
            if not part[-1]:  # no touch of this channel has weight under this model
                continue
            credit, counted = sums[m]
            credit[ch] = {cur: float(v) for cur, v in zip(currencies, part[:-1]) if v is not None}
            counted[ch] = float(part[-1])
    return {m: (credit, counted, attributed, attributed_orders, total) for m, (credit, counted) in sums.items()}


def _recompute(conn, where: str) -> None:
    """Write the touches and the snapshot of the counted orders ``where`` selects (alias ``o``)."""
    channels = {(s, m, c): i for i, s, m, c in conn.execute("SELECT id, source, medium, campaign "
                                                            "FROM report_attribution_channels")}
    sql = TOUCHES_SQL.format(columns=f"o.contact_id, o.created_at, t.contact_id, {CHANNEL}, {AGE}",
                             since="strftime('%Y-%m-%dT%H:%M:%fZ', o.created_at, :lookback)",
                             orders="report_orders", touches="contact_touches", where=where)
    touches, snapshot = [], []

    def add(oid, contact, created, chans, ages):
        n = len(chans)
        snapshot.append((oid, contact, created))
        if not n:  # channel 0: the order counts in the totals, unattributed
            touches.append((0, oid, 0, 0, 0.0, 0))
            return
        decay = weights("time_decay", chans, ages)
        last = weights("last_non_direct", [ch[0] != "(direct)" for ch in chans], ages).index(1.0)
        for seq, ch in enumerate(chans):
            cid = channels.get(ch)
            if cid is None:
                cid = channels[ch] = conn.execute("INSERT INTO report_attribution_channels (source, medium, campaign) "
                                                  "VALUES (?, ?, ?)", ch).lastrowid
            touches.append((cid, oid, seq, n, decay[seq], int(seq == last)))

    current = None
    for oid, _cur, _net, contact, created, touched, source, medium, campaign, age in conn.execute(
            sql, {"lookback": f"-{CACHED_LOOKBACK} days"}):
        if oid != current:
            if current is not None:
                add(*order)
            current, order = oid, (oid, contact, created, [], [])
        if touched is not None:
            order[3].append((source, medium, campaign))
            order[4].append(age)
    if current is not None:
        add(*order)
    conn.executemany("INSERT INTO report_attribution_touches (channel, order_id, seq, n, decay, lnd) "
                     "VALUES (?, ?, ?, ?, ?, ?)", touches)
    conn.executemany("INSERT INTO report_attribution_orders (id, contact_id, created_at) VALUES (?, ?, ?)",
                     snapshot)


def refresh_shares(conn) -> int:
    """Bring the cache up to date after the counted orders and touches are; returns the orders recomputed
    (-1: all of them). With stale orders or touches it does nothing: readers go live meanwhile."""
    if conn.execute("SELECT (SELECT dirty FROM report_orders_state) OR EXISTS (SELECT 1 FROM first_touch_dirty)"
                    ).fetchone()[0]:
        return 0
    dirty, orders_changed = conn.execute("SELECT dirty, orders_changed FROM report_attribution_state").fetchone()
    if dirty:
        conn.execute("DELETE FROM report_attribution_touches")
        conn.execute("DELETE FROM report_attribution_orders")
        _recompute(conn, "1")
        conn.execute("DELETE FROM report_attribution_dirty")
        conn.execute(f"UPDATE report_attribution_state SET dirty = 0, orders_changed = 0, currencies = ({CURRENCIES})")
        return -1
    if not orders_changed and conn.execute("SELECT 1 FROM report_attribution_dirty LIMIT 1").fetchone() is None:
        return 0
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS attribution_redo (id INTEGER PRIMARY KEY)")
    conn.execute("DELETE FROM temp.attribution_redo")
    if orders_changed:  # orders new, gone, moved to another contact or in time since the snapshot (joins by id)
        conn.execute("INSERT OR IGNORE INTO temp.attribution_redo (id) "
                     "SELECT o.id FROM report_orders o LEFT JOIN report_attribution_orders a ON a.id = o.id "
                     "WHERE o.amount - o.refunded > 0 AND (a.id IS NULL OR a.contact_id IS NOT o.contact_id "
                     "OR a.created_at <> o.created_at) UNION ALL "
                     "SELECT a.id FROM report_attribution_orders a LEFT JOIN report_orders o ON o.id = a.id "
                     "AND o.amount - o.refunded > 0 WHERE o.id IS NULL")
    conn.execute("INSERT OR IGNORE INTO temp.attribution_redo (id) SELECT id FROM report_orders "
                 "WHERE contact_id IN (SELECT contact_id FROM report_attribution_dirty)")
    n = conn.execute("SELECT count(*) FROM temp.attribution_redo").fetchone()[0]
    if n:
        redo = "(SELECT id FROM temp.attribution_redo)"
        conn.execute(f"DELETE FROM report_attribution_touches WHERE order_id IN {redo}")
        conn.execute(f"DELETE FROM report_attribution_orders WHERE id IN {redo}")
        _recompute(conn, f"o.id IN {redo}")
    conn.execute("DELETE FROM report_attribution_dirty")
    if orders_changed:
        conn.execute(f"UPDATE report_attribution_state SET orders_changed = 0, currencies = ({CURRENCIES})")
    return n

