"""One contact's whole journey across devices, in the shape of docs/SPEC.md §3.

Events are found through the identity tables: each device span credited to
the contact selects that device's events in the span's time range, so a
backfill or an undo never rewrites an event.
"""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager

from ..traffic.channels import Channel, DIRECT, with_email_link
from ...errors import InvalidInput, NotFound
from ..importing.event_rows import page_fields, stored_event
from ..email_clicks import click_events
from ..identity.identifiers import USER_DEVICE, normalise_email
from ..orders import orders_of_contact
from ..timeutil import parse_ts
from ..traffic.useragent import device_name

EMAIL_LINK_WINDOW_S = 10
# Wire types as the journey's kinds (docs/SPEC.md §3).
KIND = {"page": "page", "screen": "page", "identify": "identify", "alias": "identify",
        "track": "track", "group": "track"}  # a link identify and its landing page view arrive together


def contact_of_email(conn, email: str) -> int:
    """The canonical contact id for an email; NotFound when nobody has it."""
    normal = normalise_email(email)
    if normal is None:
        raise InvalidInput(f"'{email}' is not an email address")
    row = conn.execute("SELECT coalesce(canonical_id, id) FROM contacts WHERE email = ?", (normal,)).fetchone()
    if row is None:
        raise NotFound(f"no contact with email {normal}")
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


@contextmanager
def _named_rows(conn):
    """Rows read by column name inside the block; the connection's own row factory after it."""
    before = conn.row_factory
    conn.row_factory = sqlite3.Row
    try:
        yield
    finally:
        conn.row_factory = before


def _link_contact(conn, row) -> int | None:
    """The contact an identify's email or contact id resolves to (None: nobody yet)."""
    node = f"email:{row['email']}" if row["email"] else f"cid:{row['contact_key']}" if row["contact_key"] else None
    found = conn.execute("SELECT contact_id FROM identity_nodes WHERE node = ?", (node,)).fetchone() if node else None
    return found[0] if found else None


def journey(conn, email: str) -> dict:
    cid = contact_of_email(conn, email)
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

    # Appended in this order, then sorted stably by time: ties keep it.
    with _named_rows(conn):
        devices, events = _device_events(conn, segments, cid, emails[0])
        events += _user_id_events(conn, keys, segments)
    orders = orders_of_contact(conn, cid)
    events += _order_events(orders)
    events += _subscription_events(conn, cid, emails)
    events += _tag_events(conn, [f"email:{e}" for e in emails] + keys)
    events += click_events(conn, emails)
    events.sort(key=lambda e: (e["time"] or "", e["kind"] != "identify"))
    return {"contact": _contact(conn, cid, emails, keys, orders), "devices": list(devices.values()),
            "events": events}


def _device_events(conn, segments, cid: int, device_contact: str) -> tuple[dict[str, dict], list[dict]]:
    """Each device credited to the contact, and its events inside the spans credited.

    A link identify there for someone else was not followed (a forwarded email): it is
    marked with ``device_contact``, the email of the person the device stays with."""
    devices: dict[str, dict] = {}
    events: list[dict] = []
    for aid, start, end, linked_by, linked_at, shared in segments:
        if aid.startswith(USER_DEVICE):
            continue  # server-side page views: listed with the user's other device-less events
        dev = devices.setdefault(aid, {
            "anonymous_id": aid, "first_seen": None, "last_seen": None,
            "linked_by": linked_by, "linked_at": linked_at, "shared": bool(shared),
        })
        links = _link_times(conn, aid)
        rows = conn.execute(
            "SELECT id, type, ts, name, event_json(raw, message_id, anonymous_id, ts) AS raw, ch_source, ch_medium, ch_campaign, method, email, contact_key "
            "FROM events WHERE anonymous_id = ? AND ts >= ? AND (? IS NULL OR ts < ?) ORDER BY ts, message_text(message_id)",
            (aid, start, end, end),
        ).fetchall()
        agent = None  # the latest user agent in the span (a server-side identify carries none)
        for row in rows:
            ts = row["ts"]
            dev["first_seen"] = min(dev["first_seen"] or ts, ts)
            dev["last_seen"] = max(dev["last_seen"] or ts, ts)
            item, agent = _device_event(row, aid, links, agent)
            if row["type"] == "identify" and row["method"] == "link" and _link_contact(conn, row) not in (None, cid):
                item["not_followed"] = {"device_contact": device_contact, "device_linked_by": linked_by}
            item["backfilled"] = ts < linked_at
            events.append(item)
        _name_device(dev, agent)
    return devices, events


def _device_event(row, aid: str, links: list[float], agent: str | None) -> tuple[dict, str | None]:
    """One stored event as a journey item, and the device's user agent as of it."""
    item = {"time": row["ts"], "kind": KIND[row["type"]], "anonymous_id": aid}
    ev = stored_event(row["raw"])
    context = ev.get("context")
    if isinstance(context, dict) and isinstance(context.get("userAgent"), str):
        agent = context["userAgent"] or agent
    page = page_fields(ev)
    if page.url:
        item["url"] = page.url
    if row["type"] in ("page", "screen"):
        item["channel"] = _page_channel(row, links)
        if page.title:
            item["title"] = page.title
    if row["type"] == "track" and row["name"]:
        item["name"] = row["name"]
    if row["type"] == "identify":
        item["method"] = row["method"]
        if row["email"]:
            item["email"] = row["email"]
    return item, agent


def _user_id_events(conn, keys: list[str], segments) -> list[dict]:
    """Events sent with the contact's user id and no device (server-side libraries).

    Their page views keep their channel: the stitch gives each such user a pseudo
    device (``USER_DEVICE`` + user id), so they are touches like any device's."""
    user_ids = [k[5:] for k in keys if k.startswith("user:")]
    user_ids += [s[0][len(USER_DEVICE):] for s in segments if s[0].startswith(USER_DEVICE)]
    user_ids = sorted(set(user_ids))
    if not user_ids:
        return []
    events = []
    marks = ",".join("?" * len(user_ids))
    for row in conn.execute(
        f"SELECT type, ts, name, event_json(raw, message_id, anonymous_id, ts) AS raw, ch_source, ch_medium, ch_campaign FROM events "
        f"WHERE anonymous_id IS NULL AND user_id IN ({marks})",
        user_ids,
    ):
        item = {"time": row["ts"], "kind": KIND[row["type"]], "anonymous_id": None}
        if row["name"]:
            item["name"] = row["name"]
        if row["type"] in ("page", "screen"):
            page = page_fields(stored_event(row["raw"]))
            if page.url:
                item["url"] = page.url
            item["channel"] = _page_channel(row, [])
            if page.title:
                item["title"] = page.title
        events.append(item)
    return events


def _order_events(orders: list[dict]) -> list[dict]:
    events = []
    for o in orders:
        events.append({"time": o["created_at"], "kind": "order", "order_id": o["order_id"],
                       "amount": {o["currency"]: o["amount"]}, "source": o["origin"],
                       **({"product": o["product"]} if o["product"] else {})})
        for r in o["refunds"]:
            events.append({"time": r["created_at"], "kind": "refund", "order_id": o["order_id"],
                           "refund_id": r["refund_id"], "amount": {r["currency"]: r["amount"]}})
    return events


def _subscription_events(conn, cid: int, emails: list[str]) -> list[dict]:
    """Subscriptions under any of the contact's emails or payment customer ids."""
    events = []
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
    return events


def _tag_events(conn, nodes: list[str]) -> list[dict]:
    marks = ",".join("?" * len(nodes))
    return [{"time": added, "kind": "tag", "tag": tag, "source": origin} for tag, added, origin in conn.execute(
        f"SELECT tag, added_at, origin FROM tags WHERE identifier IN ({marks}) ORDER BY added_at, tag", nodes)]


def _contact(conn, cid: int, emails: list[str], keys: list[str], orders: list[dict]) -> dict:
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
    return contact
