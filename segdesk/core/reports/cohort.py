"""Contacts with their first touch, report keys and counted orders: what LTV, summary and ROAS group.

A contact's anchor is its first touch (earliest session, any device) or, for a
contact never seen on the site (CRM or shop only), its first_seen; ``--since``
/ ``--until`` select contacts by anchor (a cohort). Keys come from the first
touch; contacts without one are ``(unknown)``. Revenue is every counted order
of the contact, net of refunds, in its own currency.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import datetime

from .data import order_params, orders_source
from .filters import cohort_clause
from .model import NOT_SET, UNKNOWN, Range, month_starts
from .touches import first_touch_sql

BY = ("source", "medium", "campaign", "source_medium", "tag", "cohort_month")
NO_TAG = "(no tag)"


@dataclass
class Member:
    contact_id: int
    anchor: str | None
    touch: tuple | None  # (source, medium, campaign) of the first touch
    keys: list[str] = field(default_factory=list)
    orders: list[tuple] = field(default_factory=list)  # (order row id, currency, net, created_at)

    def revenue(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for _id, cur, net, _t in self.orders:
            out[cur] = out.get(cur, 0) + net
        return out

    def is_customer(self) -> bool:
        return any(v > 0 for v in self.revenue().values())


def epoch(ts: str) -> float:
    return datetime.fromisoformat(ts).timestamp()


def touch_key(by: str, touch: tuple | None) -> str:
    if touch is None:
        return UNKNOWN
    source, medium, campaign = touch
    return {"source": source, "medium": medium, "campaign": campaign or NOT_SET,
            "source_medium": f"{source} / {medium}"}[by]


def members(conn, rng: Range, by: str) -> dict[int, Member]:
    """The cohort's canonical contacts, keyed, with their orders."""
    out: dict[int, Member] = {}
    for cid, first_seen, start, source, medium, campaign in conn.execute(
        f"SELECT c.id, c.first_seen, ft.start_ts, ft.source, ft.medium, ft.campaign FROM contacts c "
        f"LEFT JOIN ({first_touch_sql(conn)}) ft ON ft.contact_id = c.id WHERE c.canonical_id = c.id" + cohort_clause(rng)
    ):
        anchor = start or first_seen
        if (rng.since or rng.until) and not rng.contains(anchor):
            continue
        out[cid] = Member(cid, anchor, (source, medium, campaign) if start else None)
    _assign_keys(conn, rng, by, out)
    params = order_params(conn, rng)
    for oid, cid, cur, net, created in conn.execute(
        f"SELECT id, contact_id, currency, amount - refunded, created_at FROM {orders_source(conn, rng)} "
        f"WHERE contact_id IS NOT NULL", params
    ):
        m = out.get(cid)
        if m is not None:
            m.orders.append((oid, cur, net, created))
    return out


def _assign_keys(conn, rng: Range, by: str, out: dict[int, Member]) -> None:
    if by == "tag":
        for cid, tag in conn.execute("SELECT DISTINCT n.contact_id, t.tag FROM tags t "
                                     "JOIN identity_nodes n ON n.node = t.identifier WHERE n.contact_id IS NOT NULL"):
            if cid in out:
                out[cid].keys.append(tag)
        for m in out.values():
            m.keys = sorted(m.keys) or [NO_TAG]
    elif by == "cohort_month":
        anchors = [m.anchor for m in out.values() if m.anchor]
        months = month_starts(rng.zone, min(anchors), max(anchors)) if anchors else []
        bounds = [b for b, _ in months]
        for m in out.values():
            m.keys = [months[bisect_right(bounds, m.anchor) - 1][1] if m.anchor else UNKNOWN]
    else:
        for m in out.values():
            m.keys = [touch_key(by, m.touch)]


LIVE_AS_OF = ("SELECT max(t) FROM (SELECT max(last_seen) AS t FROM devices "
              "UNION ALL SELECT max(created_at) FROM orders)")
# report_clock (migration 0023) holds it while no order was written and no event deleted or added since.
CACHED_AS_OF = ("SELECT as_of FROM report_clock WHERE dirty = 0 "
                "AND events_upto = (SELECT coalesce(max(id), 0) FROM events)")


def as_of(conn) -> str | None:
    """The data's "now" for maturity: the latest activity in the workspace.

    Never the range's end: ``--since/--until`` choose which contacts are in a
    cohort, while its revenue counts every later order, so a window "has passed"
    by the data's clock; otherwise a filter would change a cohort's curve.
    """
    row = conn.execute(CACHED_AS_OF).fetchone()
    return row[0] if row is not None else conn.execute(LIVE_AS_OF).fetchone()[0]


def refresh_as_of(conn) -> bool:
    """Store the data's "now" when it may have moved; True when it was recomputed."""
    if conn.execute(CACHED_AS_OF).fetchone() is not None:
        return False
    conn.execute("UPDATE report_clock SET as_of = (" + LIVE_AS_OF + "), dirty = 0, "
                 "events_upto = (SELECT coalesce(max(id), 0) FROM events)")
    return True
