"""Purchases sent as events: Segment's ``Order Completed`` and ``Order Refunded`` become orders and refunds.

A shop that reports purchases through its Segment library (the e-commerce
spec: ``properties.order_id``, ``total`` or ``revenue``, ``currency``,
``products``) needs no connector: the track event is the order. Orders
derived here have origin ``events`` and their id is the event's ``order_id``,
so the same purchase from a shop connector, a CSV file or a CRM that keeps
the shop's order id is one group of ``core.orders.GROUP_KEY`` and counts once;
a payment processor's charge joins it through the reconciliation
(``core/reconcile.py``).

Rules (docs/SPEC.md §4 records them):

- The amount is ``total`` when present, else ``revenue`` (``total`` is what the
  customer paid, which is what a processor's charge shows); an event with
  neither, or without ``order_id``, is not an order and is counted as ignored.
- ``currency`` defaults to USD as Segment's spec does; an unknown code is ignored.
  Amounts arrive as JSON numbers or strings and are rounded half-up to the
  currency's minor unit (a float such as 19.999999 is 20.00).
- The same ``order_id`` sent again (another messageId) updates the one order.
- ``Order Refunded`` with an amount refunds that much; without one it refunds
  what is left of the order. Its refund id is the event's messageId.
- The buyer is ``properties.email``, else the identify traits in ``context``,
  else a ``userId`` that is an email; otherwise the contact the event's device
  (or user id) belongs to at the event's time, looked up after the stitch and
  again on every refresh until known.

Events are read once, from the high-water mark ``event_orders.upto``, whatever
route brought them (``import events``, bulk loads, relay syncs).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import orjson

from .identity.identifiers import clean_key, normalise_email, user_id_node
from .money import ISO_CODES, MAX_MAJOR, exponent
from .store import read_setting

ORIGIN = "events"
COMPLETED, REFUNDED = "Order Completed", "Order Refunded"
UPTO = "event_orders.upto"
PENDING = "event_orders.pending"  # orders and refunds still waiting for a buyer or an order

ORDER_SQL = """
INSERT INTO orders(origin, order_id, email, amount, currency, created_at, product, status)
VALUES (?, ?, ?, ?, ?, ?, ?, 'paid')
ON CONFLICT(origin, order_id) DO UPDATE SET
    email = coalesce(excluded.email, orders.email), amount = excluded.amount, currency = excluded.currency,
    created_at = excluded.created_at, product = coalesce(excluded.product, orders.product)
WHERE coalesce(excluded.email, orders.email) IS NOT orders.email OR excluded.amount IS NOT orders.amount
   OR excluded.currency IS NOT orders.currency OR excluded.created_at IS NOT orders.created_at
   OR coalesce(excluded.product, orders.product) IS NOT orders.product
"""
REFUND_SQL = """
INSERT INTO refunds(origin, refund_id, order_id, amount, currency, created_at) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT(origin, refund_id) DO NOTHING
"""


@dataclass
class EventOrders:
    orders: int = 0
    refunds: int = 0
    ignored: int = 0
    waiting: int = 0

    def as_dict(self) -> dict:
        return {"orders": self.orders, "refunds": self.refunds, "ignored": self.ignored, "waiting": self.waiting}


def _setting(conn, key: str, default):
    value = read_setting(conn, key)
    return orjson.loads(value) if value is not None else default


def _put(conn, key: str, value) -> None:
    conn.execute("INSERT INTO settings(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                 (key, orjson.dumps(value).decode()))


def minor_units(value, currency: str) -> int | None:
    """A JSON number or numeric string in major units as the currency's minor unit; None when unusable."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    if not amount.is_finite() or abs(amount) > MAX_MAJOR:
        return None
    return int(amount.scaleb(exponent(currency)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _buyer(ev: dict, props: dict, user_id) -> str | None:
    context = ev.get("context") if isinstance(ev.get("context"), dict) else {}
    traits = context.get("traits") if isinstance(context.get("traits"), dict) else {}
    for candidate in (props.get("email"), traits.get("email"), user_id):
        email = normalise_email(candidate)
        if email:
            return email
    return None


def _products(props: dict) -> str | None:
    names = []
    for item in props.get("products") or []:
        if isinstance(item, dict):
            name = clean_key(item.get("name")) or clean_key(item.get("sku")) or clean_key(item.get("product_id"))
            if name and name not in names:
                names.append(name)
    return "; ".join(names)[:500] or None


def _currency(props: dict) -> str | None:
    raw = props.get("currency")
    if raw is None:
        return "usd"  # Segment's spec: revenue without a currency is in US dollars
    code = raw.strip().lower() if isinstance(raw, str) else None
    return code if code in ISO_CODES else None


def _amount(props: dict, currency: str) -> int | None:
    for key in ("total", "revenue"):
        if props.get(key) is not None:
            return minor_units(props[key], currency)
    return None


def derive_event_orders(conn) -> EventOrders:
    """Orders and refunds from the order events stored since the last call (inside one transaction)."""
    result = EventOrders()
    upto = _setting(conn, UPTO, 0)
    pending = _setting(conn, PENDING, {"orders": [], "refunds": []})
    top = conn.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0]
    if top == upto and not pending["refunds"]:
        return result
    with conn:
        rows = conn.execute(
            "SELECT id, message_text(message_id), anonymous_id, user_id, ts, name, event_json(raw, message_id, anonymous_id, ts) FROM events "
            "WHERE id > ? AND type = 'track' AND name IN (?, ?) ORDER BY id", (upto, COMPLETED, REFUNDED))
        refunds = list(pending["refunds"])
        for eid, mid, aid, uid, ts, name, raw in rows.fetchall():
            ev = orjson.loads(raw)
            props = ev.get("properties") if isinstance(ev.get("properties"), dict) else {}
            order_id, currency = clean_key(props.get("order_id")), _currency(props)
            if order_id is None or (currency is None and props.get("currency") is not None):
                result.ignored += 1
                continue
            if name == REFUNDED:
                raw_amount = next((props[k] for k in ("total", "revenue") if props.get(k) is not None), None)
                refunds.append([mid, order_id, raw_amount, currency if props.get("currency") is not None else None,
                                ts])
                continue
            amount = _amount(props, currency)
            if amount is None or amount < 0:
                result.ignored += 1
                continue
            email = _buyer(ev, props, uid)
            result.orders += conn.execute(ORDER_SQL, (ORIGIN, order_id, email, amount, currency, ts,
                                                      _products(props))).rowcount
            if email is None:
                pending["orders"].append([order_id, aid, uid, ts])
        pending["refunds"] = []
        for mid, order_id, amount, currency, ts in refunds:
            done = _refund(conn, mid, order_id, amount, currency, ts)
            if done is None:
                pending["refunds"].append([mid, order_id, amount, currency, ts])
            else:
                result.refunds += done
        # The newest id, as sessions keep theirs: after an erase of the newest events it goes down,
        # because SQLite gives the next event the id after the highest one left.
        _put(conn, UPTO, top)
        _put(conn, PENDING, pending)
    result.waiting = len(pending["orders"]) + len(pending["refunds"])
    return result


def _refund(conn, message_id: str, order_id: str, raw_amount, currency, ts: str) -> int | None:
    """Store one refund event; None while its order (for a full refund, or the currency) is unknown.

    ``raw_amount`` is the event's own figure in major units (None: a full refund)."""
    order = conn.execute("SELECT amount, currency FROM orders WHERE origin = ? AND order_id = ?",
                         (ORIGIN, order_id)).fetchone()
    if order is None:
        # The purchase came by another route (a shop connector keeps the same order id).
        order = conn.execute("SELECT amount, currency FROM orders WHERE order_id = ? ORDER BY id LIMIT 1",
                             (order_id,)).fetchone()
    if order is None and (raw_amount is None or currency is None):
        return None
    currency = currency or order[1]
    if raw_amount is None:
        refunded = conn.execute("SELECT coalesce(sum(amount), 0) FROM refunds WHERE origin = ? AND order_id = ?",
                                (ORIGIN, order_id)).fetchone()[0]
        amount = max(order[0] - refunded, 0)
    else:
        amount = minor_units(raw_amount, currency)
        if amount is None:
            return 0  # not an amount: ignored rather than waiting forever
        amount = abs(amount)
    return conn.execute(REFUND_SQL, (ORIGIN, message_id, order_id, amount, currency, ts)).rowcount


SEGMENT_CONTACT_SQL = """
SELECT c.email FROM device_segments s JOIN contacts c ON c.id = s.contact_id
WHERE s.anonymous_id = ? AND s.start_ts <= ? AND (s.end_ts IS NULL OR s.end_ts > ?)
ORDER BY s.start_ts DESC LIMIT 1
"""


def waiting(conn) -> int:
    """Event orders without a buyer yet, and refund events without their order."""
    pending = _setting(conn, PENDING, {"orders": [], "refunds": []})
    return len(pending["orders"]) + len(pending["refunds"])


def resolve_buyers(conn) -> int:
    """After the stitch: event orders without an email take that of their device's (or user id's) contact."""
    pending = _setting(conn, PENDING, {"orders": [], "refunds": []})
    if not pending["orders"]:
        return 0
    found, waiting = 0, []
    with conn:
        for order_id, aid, uid, ts in pending["orders"]:
            row = conn.execute(SEGMENT_CONTACT_SQL, (aid, ts, ts)).fetchone() if aid else None
            if row is None and uid:
                row = conn.execute("SELECT c.email FROM identity_nodes n JOIN contacts c ON c.id = n.contact_id "
                                   "WHERE n.node = ?", (user_id_node(uid),)).fetchone()
            if row is None:
                waiting.append([order_id, aid, uid, ts])
                continue
            found += conn.execute("UPDATE orders SET email = ? WHERE origin = ? AND order_id = ? AND email IS NULL",
                                  (row[0], ORIGIN, order_id)).rowcount
        pending["orders"] = waiting
        _put(conn, PENDING, pending)
    return found
