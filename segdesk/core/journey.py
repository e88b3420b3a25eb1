"""One contact's whole journey across devices, in the shape of CONTRACTS.md §3.

Events are found through the identity tables: each device span credited to
the contact selects that device's events in the span's time range, so a
backfill or an undo never rewrites an event.
"""

from __future__ import annotations

import sqlite3

from .channels import Channel, DIRECT, with_email_link
from .event_rows import page_fields, stored_event
from .identifiers import USER_DEVICE, normalise_email
from .orders import orders_of_contact
from .store import WorkspaceError
from .timeutil import parse_ts
from .useragent import device_name

EMAIL_LINK_WINDOW_S = 10
# Wire types as the journey's kinds (CONTRACTS.md §3).
KIND = {"page": "page", "screen": "page", "identify": "identify", "alias": "identify",
        "track": "track", "group": "track"}  # a link identify and its landing page view arrive together


def contact_of_email(conn, email: str) -> int:
    """The canonical contact id for an email; WorkspaceError when nobody has it."""
    normal = normalise_email(email)
    if normal is None:
        raise WorkspaceError(f"'{email}' is not an email address")
    row = conn.execute("SELECT coalesce(canonical_id, id) FROM contacts WHERE email = ?", (normal,)).fetchone()
    if row is None:
        raise WorkspaceError(f"no contact with email {normal}")
    return row[0]


def _money(orders: list[dict]) -> dict[str, int]:
    revenue: dict[str, int] = {}
    for o in orders:
        revenue[o["currency"]] = revenue.get(o["currency"], 0) + o["amount"] - o["refunded"]
    return revenue


def _link_times(conn, anonymous_id: str) -> list[float]:
    rows = conn.execute(
        "SELECT ts FROM events WHERE anonymous_id = ? AND type = 'identify' AND method = 'link'", (anonymous_id,)
    )
    return [parse_ts(r[0]).timestamp() for r in rows]


def _page_channel(row, link_times: list[float]) -> dict:
    ch = Channel(row["ch_source"] or DIRECT, row["ch_medium"] or "(none)", row["ch_campaign"])
    if link_times and ch.medium not in ("cpc", "email") and not row["ch_campaign"]:
        t = parse_ts(row["ts"]).timestamp()
        if any(abs(t - lt) <= EMAIL_LINK_WINDOW_S for lt in link_times):
            ch = with_email_link(ch)
    return {"source": ch.source, "medium": ch.medium, "campaign": ch.campaign}


def _name_device(dev: dict, agent: str | None) -> None:
    """The device's user agent (its latest event that has one) and a name for people."""
    if agent and "user_agent" not in dev:
        dev["user_agent"] = agent
        name = device_name(agent)
        if name:
            dev["name"] = name


def _link_contact(conn, row) -> int | None:
    """The contact an identify's email or contact id resolves to (None: nobody yet)."""
    node = f"email:{row['email']}" if row["email"] else f"cid:{row['contact_key']}" if row["contact_key"] else None
    found = conn.execute("SELECT contact_id FROM identity_nodes WHERE node = ?", (node,)).fetchone() if node else None
    return found[0] if found else None


def journey(conn, email: str) -> dict:
    cid = contact_of_email(conn, email)
    conn_rf = conn.row_factory
    emails = [r[0] for r in conn.execute(
        "SELECT email FROM contacts WHERE canonical_id = ? ORDER BY id = ? DESC, email", (cid, cid))]
    keys = [r[0] for r in conn.execute(
        "SELECT node FROM identity_nodes WHERE contact_id = ? AND node NOT LIKE 'email:%' ORDER BY node", (cid,))]
    segments = conn.execute(
        "SELECT s.anonymous_id, s.start_ts, s.end_ts, s.linked_by, s.linked_at, d.shared "
        "FROM device_segments s LEFT JOIN devices d ON d.anonymous_id = s.anonymous_id "
        "WHERE s.contact_id = ? ORDER BY s.linked_at",
        (cid,),
    ).fetchall()

    devices: dict[str, dict] = {}
    events: list[dict] = []
    conn.row_factory = sqlite3.Row
    try:
        for aid, start, end, linked_by, linked_at, shared in segments:
            if aid.startswith(USER_DEVICE):
                continue  # server-side page views: listed below with the user's other device-less events
            dev = devices.setdefault(aid, {
                "anonymous_id": aid, "first_seen": None, "last_seen": None,
                "linked_by": linked_by, "linked_at": linked_at, "shared": bool(shared),
            })
            links = _link_times(conn, aid)
            rows = conn.execute(
                "SELECT id, type, ts, name, raw, ch_source, ch_medium, ch_campaign, method, email, contact_key "
                "FROM events WHERE anonymous_id = ? AND ts >= ? AND (? IS NULL OR ts < ?) ORDER BY ts, message_id",
                (aid, start, end, end),
            ).fetchall()
            agent = None  # the latest user agent in the span (a server-side identify carries none)
            for row in rows:
                ts = row["ts"]
                dev["first_seen"] = min(dev["first_seen"] or ts, ts)
                dev["last_seen"] = max(dev["last_seen"] or ts, ts)
                item = {"time": ts, "kind": KIND[row["type"]], "anonymous_id": aid}
                ev = stored_event(row["raw"])
                context = ev.get("context")
                if isinstance(context, dict) and isinstance(context.get("userAgent"), str):
                    agent = context["userAgent"] or agent
                url, _, title = page_fields(ev)
                if url:
                    item["url"] = url
                if row["type"] in ("page", "screen"):
                    item["channel"] = _page_channel(row, links)
                    if title:
                        item["title"] = title
                if row["type"] == "track" and row["name"]:
                    item["name"] = row["name"]
                if row["type"] == "identify":
                    item["method"] = row["method"]
                    if row["email"]:
                        item["email"] = row["email"]
                    if row["method"] == "link" and _link_contact(conn, row) not in (None, cid):
                        item["not_followed"] = {"device_contact": emails[0], "device_linked_by": linked_by}
                item["backfilled"] = ts < linked_at
                events.append(item)
            _name_device(dev, agent)
        user_ids = [k[5:] for k in keys if k.startswith("user:")]
        user_ids += [s[0][len(USER_DEVICE):] for s in segments if s[0].startswith(USER_DEVICE)]
        user_ids = sorted(set(user_ids))
        if user_ids:
            marks = ",".join("?" * len(user_ids))
            for row in conn.execute(
                f"SELECT type, ts, name, raw, ch_source, ch_medium, ch_campaign FROM events "
                f"WHERE anonymous_id IS NULL AND user_id IN ({marks})", user_ids,
            ):
                item = {"time": row["ts"], "kind": KIND[row["type"]], "anonymous_id": None}
                if row["name"]:
                    item["name"] = row["name"]
                if row["type"] in ("page", "screen"):
                    url, _, title = page_fields(stored_event(row["raw"]))
                    if url:
                        item["url"] = url
                    item["channel"] = _page_channel(row, [])
                    if title:
                        item["title"] = title
                events.append(item)
    finally:
        conn.row_factory = conn_rf

    orders = orders_of_contact(conn, cid)
    for o in orders:
        events.append({"time": o["created_at"], "kind": "order", "order_id": o["order_id"],
                       "amount": {o["currency"]: o["amount"]}, "source": o["origin"],
                       **({"product": o["product"]} if o["product"] else {})})
        for r in o["refunds"]:
            events.append({"time": r["created_at"], "kind": "refund", "order_id": o["order_id"],
                           "refund_id": r["refund_id"], "amount": {r["currency"]: r["amount"]}})
    marks = ",".join("?" * len(emails))
    for sub_id, status, plan, amount, currency, started, canceled in conn.execute(
        f"SELECT subscription_id, status, plan, amount, currency, started_at, canceled_at FROM subscriptions "
        f"WHERE email IN ({marks}) OR ('cus:' || customer_key) IN "
        f"(SELECT node FROM identity_nodes WHERE contact_id = ?)", (*emails, cid)
    ):
        item = {"time": started, "kind": "subscription", "subscription_id": sub_id, "status": status, "plan": plan}
        if amount is not None and currency:
            item["amount"] = {currency: amount}
        if canceled:
            item["canceled_at"] = canceled
        events.append(item)
    nodes = [f"email:{e}" for e in emails] + keys
    marks = ",".join("?" * len(nodes))
    for tag, added, origin in conn.execute(
        f"SELECT tag, added_at, origin FROM tags WHERE identifier IN ({marks}) ORDER BY added_at, tag", nodes
    ):
        events.append({"time": added, "kind": "tag", "tag": tag, "source": origin})
    events.sort(key=lambda e: (e["time"] or "", e["kind"] != "identify"))

    revenue = _money(orders)
    first_seen = conn.execute("SELECT first_seen FROM contacts WHERE id = ?", (cid,)).fetchone()[0]
    contact = {
        "email": emails[0],
        "contact_ids": [k[4:] for k in keys if k.startswith("cid:")],
        "first_seen": first_seen,
        "customer": any(v > 0 for v in revenue.values()),
        "revenue": revenue,
    }
    if len(emails) > 1:
        contact["emails"] = emails
    customer_ids = [k[4:] for k in keys if k.startswith("cus:")]
    if customer_ids:
        contact["customer_ids"] = customer_ids
    return {"contact": contact, "devices": list(devices.values()), "events": events}
