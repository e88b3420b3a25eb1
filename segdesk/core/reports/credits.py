"""One contact's orders and the touches that got their credit, under one attribution model.

What the journey shows beside each purchase: the same touchpoints (the
contact's sessions in the lookback window, ``touches.py``), window rule and
weights (``attribution.window`` / ``weights``) as the attribution report, so a
purchase's shares here are exactly what that order adds to the report's rows.
"""

from __future__ import annotations

from datetime import timedelta

from ...errors import InvalidInput
from ..timeutil import format_ts, parse_ts
from .weights import DEFAULT_LOOKBACK, MODELS, _day_start, weights
from .data import order_params, orders_source
from .model import Range, workspace_tz
from .touches import touches_source


def order_credits(conn, contact_id: int, model: str = "linear", lookback_days: int | None = None,
                  timezone: str | None = None) -> dict[tuple[str, str], list[dict]]:
    """(origin, order id) -> [{"time", "session_id", "source", "medium", "campaign", "device", "share"}] for each counted
    order with revenue of the contact; [] when no touch falls in the window (unattributed).

    ``share`` is the order's fraction the touch got (they add up to 1); touches with no share are left out.
    """
    if model not in MODELS:
        raise InvalidInput(f"unknown model {model!r} (one of: {', '.join(MODELS)})")
    lookback = DEFAULT_LOOKBACK if lookback_days in (None, "") else int(lookback_days)
    if lookback < 0:
        raise InvalidInput("lookback days cannot be negative")
    tz = timezone or workspace_tz(conn)
    touches = conn.execute(
        f"SELECT t.start_ts, t.session_id, t.source, t.medium, t.campaign, s.anonymous_id "
        f"FROM {touches_source(conn)} t LEFT JOIN sessions s ON s.id = t.session_id WHERE t.contact_id = ? "
        f"ORDER BY t.start_ts, t.first_event_id", (contact_id,)).fetchall()
    orders = conn.execute(
        f"SELECT o.origin, o.order_id, r.created_at FROM {orders_source(conn)} r JOIN orders o ON o.id = r.id "
        f"WHERE r.contact_id = :cid AND r.amount - r.refunded > 0 ORDER BY r.created_at, r.id",
        {**order_params(conn, Range()), "cid": contact_id}).fetchall()
    out = {}
    for origin, order_id, created in orders:
        start = _day_start(created, tz) if lookback == 0 else format_ts(parse_ts(created) - timedelta(days=lookback))
        inside = [t for t in touches if start <= t[0] <= created]
        if not inside:
            out[(origin, order_id)] = []
            continue
        at = parse_ts(created)
        ages = [(at - parse_ts(t[0])).total_seconds() / 86400 for t in inside]
        shares = weights(model, [t[2] != "(direct)" for t in inside], ages)
        out[(origin, order_id)] = [
            {"time": t[0], "session_id": t[1], "source": t[2], "medium": t[3], "campaign": t[4], "device": t[5],
             "share": round(w, 6)}
            for t, w in zip(inside, shares) if w > 0]
    return out
