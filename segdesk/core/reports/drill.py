"""Drill-down: the contacts and orders behind one row of any report.

``drill_down(conn, params, key)`` takes the parameters a report was built with
(``Report.parameters`` plus ``name``) and a row key, and lists what makes the
row: for attribution the orders that credited the key (with ``credit``, the
share the key got) and their contacts, or with key ``unattributed`` the orders
with no touchpoint; for LTV the contacts in the group and all their orders; for
ROAS the leads the row's spend bought (``spend_match.Matcher``) and their orders; for
the campaign table the row's leads (``campaigns.py``'s rule) and their orders; for the summary (key: a currency, or None) the cohort's contacts and
their orders in that currency.
"""

from __future__ import annotations

from dataclasses import replace

from ...errors import InvalidInput
from .attribution import DEFAULT_LOOKBACK, drill as attribution_drill
from .cohort import members
from .campaigns import row_key
from .data import order_rows, orders_source
from .filters import Filters, resolve
from .model import UNKNOWN, Range
from .roas import row_key as roas_key
from .spend_match import Matcher, first_touch_ads, spend_lines
from .touches import first_touch_sql

UNATTRIBUTED = "unattributed"


def _contacts(conn, ids, rng: Range) -> list[dict]:
    ids = sorted(set(ids))
    out = []
    ft = first_touch_sql(conn)
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        marks = ",".join("?" * len(chunk))
        for cid, email, first_seen, start, source, medium, campaign in conn.execute(
            f"SELECT c.id, c.email, c.first_seen, ft.start_ts, ft.source, ft.medium, ft.campaign FROM contacts c "
            f"LEFT JOIN ({ft}) ft ON ft.contact_id = c.id WHERE c.id IN ({marks})", chunk
        ):
            touch = {"time": start, "source": source, "medium": medium, "campaign": campaign} if start else None
            out.append({"id": cid, "email": email, "first_seen": first_seen, "first_touch": touch})
    revenue = _revenue(conn, ids, rng)
    for c in out:
        c["revenue"] = revenue.get(c["id"], {})
    out.sort(key=lambda c: (c["first_touch"] or {}).get("time") or c["first_seen"] or "")
    return out


def _revenue(conn, ids, rng: Range) -> dict[int, dict[str, int]]:
    out: dict[int, dict[str, int]] = {}
    for i in range(0, len(ids), 500):
        chunk = ids[i:i + 500]
        for cid, cur, v in conn.execute(
            f"SELECT contact_id, currency, sum(amount - refunded) FROM {orders_source(conn, rng)} "
            f"WHERE contact_id IN ({','.join('?' * len(chunk))}) GROUP BY 1, 2", chunk
        ):
            out.setdefault(cid, {})[cur] = v
    return out


def drill_down(conn, params: dict, key) -> dict:
    """{"contacts": [...], "orders": [...]} behind the row ``key`` of the report ``params["name"]``."""
    name = params.get("name") or params.get("report")
    rng = Range(params.get("since"), params.get("until"), params.get("timezone") or "UTC")
    chosen = Filters.of(params.get("filters"))
    if chosen:
        rng = replace(rng, scope=resolve(conn, chosen))
    if name == "attribution":
        model = params.get("model", "linear")
        given = params.get("lookback_days")
        lookback = DEFAULT_LOOKBACK if given in (None, "") else int(given)  # 0 is the order's day, not 90
        by = params.get("by", "source")
        shares = attribution_drill(conn, rng, model, lookback, by, None if key == UNATTRIBUTED else key)
        orders = order_rows(conn, shares)
        for o in orders:
            o["credit"] = round(shares[o["id"]], 6)
        contact_of = dict(conn.execute(
            f"SELECT id, contact_id FROM {orders_source(conn, rng)} WHERE id IN ({','.join('?' * len(shares))})",
            list(shares)).fetchall()) if shares else {}
        return {"contacts": _contacts(conn, [c for c in contact_of.values() if c], rng), "orders": orders}
    if name == "roas":  # the leads the row's spend bought, by the report's own matching rule
        by = params.get("by", "source")
        grain = "ad_group" if by == "ad_group" else "campaign"
        matcher = Matcher(conn, spend_lines(conn, rng, grain), grain)
        cohort = members(conn, rng, "source")
        ads = first_touch_ads(conn, cohort) if grain == "ad_group" else {}
        ms = []
        for m in cohort.values():
            line = matcher.line_of(*m.touch, *ads.get(m.contact_id, ("", ""))) if m.touch else None
            if line is not None and roas_key(by, line) == key:
                ms.append(m)
        return {"contacts": _contacts(conn, [m.contact_id for m in ms], rng),
                "orders": order_rows(conn, [o[0] for m in ms for o in m.orders])}
    if name == "campaigns":  # the row's leads by the table's own rule: the spend line that bought them, else their touch
        matcher = Matcher(conn, spend_lines(conn, rng))
        ms = []
        for m in members(conn, rng, "source").values():
            line = matcher.line_of(*m.touch) if m.touch else None
            found = UNKNOWN if m.touch is None else row_key(*((line[0], line[2]) if line else (m.touch[0], m.touch[2])))
            if found == key:
                ms.append(m)
        return {"contacts": _contacts(conn, [m.contact_id for m in ms], rng),
                "orders": order_rows(conn, [o[0] for m in ms for o in m.orders])}
    if name in ("ltv", "summary"):
        by = params.get("by", "source") if name != "summary" else "source"
        ms = [m for m in members(conn, rng, by).values()
              if name == "summary" or key in m.keys or (key is None and UNKNOWN in m.keys)]
        order_ids = [o[0] for m in ms for o in m.orders if name != "summary" or key is None or o[1] == key]
        if name == "summary" and key is not None:
            ms = [m for m in ms if any(o[1] == key for o in m.orders)]
        return {"contacts": _contacts(conn, [m.contact_id for m in ms], rng), "orders": order_rows(conn, order_ids)}
    raise InvalidInput(f"unknown report {name!r}")
