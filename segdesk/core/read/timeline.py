"""A contact's journey as the app's journey page shows it: timeline entries and device evidence.

The read model below the journey page (the widget only paints it):
:func:`load_journey` reads the journey (``journey.py``, the shape of
``segdesk journey --json``) and, for each device, the evidence that tied it to
the contact; :func:`build_timeline` turns a journey into entries in time order.

Sessions come from the one sessionizer, :func:`reports.sessions.sessionize`,
fed each device's page views with the channel the journey gives them (the
email-link rule is already applied there), so a session breaks where the
reports' sessions break: a gap of 30 minutes or a new non-direct channel.
Everything else (identify, purchase, refund, subscription, tag, track) is an
entry of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..importing.event_rows import page_fields, stored_event
from .journey import contact_of_email, journey
from ..reports.credits import order_credits
from ..reports.sessions import sessionize
from ..traffic.useragent import device_type

# How a device was tied to its contact, in words (the ``method`` of an identify, or ``linked_by``).
METHODS = {"form": "opt-in form", "link": "email link", "manual": "manual (page code)",
           "server": "server", "merge": "manual merge", None: "identify"}


@dataclass
class Entry:
    time: str
    kind: str                 # session, page, identify, order, refund, subscription, tag, track, email_click, credit
    what: str
    detail: str = ""
    device: str | None = None
    backfilled: bool = False  # anonymous history credited to the contact after the device was identified
    linking: bool = False     # the identify that tied its device to the contact
    children: list["Entry"] = field(default_factory=list)
    raw: dict = field(default_factory=dict)


@dataclass
class JourneyPage:
    """Everything the journey page shows, read at once: the journey and each device's evidence lines."""

    journey: dict                        # journey.journey(): contact, devices, events
    evidence: dict[str, list[str]]       # anonymous id -> one line per link
    credits: dict = field(default_factory=dict)  # (origin, order id) -> touches with their share (credits.py)
    model: str = "linear"


def load_journey(conn, email: str, model: str = "linear", lookback_days: int | None = None) -> JourneyPage:
    """One read (the app runs it on a reader thread); NotFound when nobody has the email."""
    data = journey(conn, email)
    credits = order_credits(conn, contact_of_email(conn, email), model, lookback_days)
    return JourneyPage(data, device_evidence(conn, email), credits, model)


def device_labels(data: dict) -> dict[str, tuple[str | None, str]]:
    """anonymous id -> (phone | tablet | desktop | None, the name people know it by, else its id).

    Two devices with one name (two laptops with the same browser) are told apart as "name #1", "name #2"
    in the order the journey lists them."""
    devices = data.get("devices", [])
    names = [d.get("name") or d["anonymous_id"] for d in devices]
    seen: dict[str, int] = {}
    out = {}
    for d, name in zip(devices, names):
        if names.count(name) > 1:
            seen[name] = seen.get(name, 0) + 1
            name = f"{name} #{seen[name]}"
        out[d["anonymous_id"]] = (device_type(d.get("user_agent")), name)
    return out


def _credit_entries(order: dict, shares: list[dict] | None, model: str, labels: dict) -> list[Entry]:
    """Under a purchase: the touches that got its credit, the largest share first."""
    if shares is None:  # fully refunded: no revenue to share
        return []
    if not shares:
        return [Entry(order["time"], "credit", "No credit given",
                      f"no visit in the lookback window before this order: unattributed under {model}")]
    out = []
    for s in sorted(shares, key=lambda s: (-s["share"], s["time"])):
        ch = {"source": s["source"], "medium": s["medium"], "campaign": s["campaign"]}
        where = labels.get(s.get("device"), (None, s.get("device") or "a device"))[1]
        out.append(Entry(s["time"], "credit", f"{s['share'] * 100:.0f}% credit · {channel_text(ch)}",
                         f"{model.replace('_', ' ')} model · visit that started {s['time'][:16].replace('T', ' ')} "
                         f"on {where}", s.get("device"), raw={"share": s["share"], **ch}))
    return out


def channel_text(ch: dict | None) -> str:
    if not ch:
        return "(direct) / (none)"
    parts = [ch.get("source") or "(direct)", ch.get("medium") or "(none)"]
    if ch.get("campaign"):
        parts.append(ch["campaign"])
    return " / ".join(parts)


def _page_entry(e: dict) -> Entry:
    detail = e.get("title") or ""
    if e.get("url"):
        detail = f"{detail} — {e['url']}" if detail else e["url"]
    return Entry(e["time"], "page", "Page view", detail, e.get("anonymous_id"), bool(e.get("backfilled")), raw=e)


def _session_entry(first: dict, pages: list[Entry]) -> Entry:
    n = len(pages)
    landing = pages[0].raw.get("url") or ""
    detail = f"{n} page view{'s' if n != 1 else ''}" + (f", landed on {landing}" if landing else "")
    return Entry(first["time"], "session", f"Session · {channel_text(first.get('channel'))}", detail,
                 first.get("anonymous_id"), all(p.backfilled for p in pages), children=pages,
                 raw={"channel": first.get("channel")})


def sessions_of(events: list[dict]) -> dict[int, list[int]]:
    """Index of each session's first page view -> indexes of its page views, by the one sessionizer."""
    per_device: dict[str | None, list[int]] = {}
    for i, e in enumerate(events):
        if e["kind"] == "page":
            per_device.setdefault(e.get("anonymous_id"), []).append(i)
    out: dict[int, list[int]] = {}
    for indexes in per_device.values():
        pages = []
        for i in indexes:  # the journey lists a device's page views in time order
            ch = events[i].get("channel") or {}
            pages.append((i, events[i]["time"], ch.get("source"), ch.get("medium"), ch.get("campaign"), None, None))
        at = 0
        for session in sessionize(pages):
            count = session[3]
            out[indexes[at]] = indexes[at:at + count]
            at += count
    return out


def build_timeline(data: dict, money, credits: dict | None = None, model: str = "linear") -> list[Entry]:
    """A journey's entries in time order; ``money(amounts_dict) -> str`` formats amounts.

    With ``credits`` (``JourneyPage.credits``) each purchase lists, as its children, the touches
    that got its credit under ``model``."""
    labels = device_labels(data)
    linked = {(d["anonymous_id"], d["linked_at"]) for d in data.get("devices", [])}
    events = data.get("events", [])
    sessions = sessions_of(events)
    entries: list[Entry] = []
    for i, e in enumerate(events):
        if e["kind"] != "page":
            entry = _other_entry(e, linked, money)
            if e["kind"] == "order" and credits is not None:
                entry.children = _credit_entries(e, credits.get((e.get("source"), e.get("order_id"))), model, labels)
            entries.append(entry)
        elif i in sessions:  # a session stands where its first page view is; the others are its children
            entries.append(_session_entry(e, [_page_entry(events[k]) for k in sessions[i]]))
    return entries


def _other_entry(e: dict, linked: set, money) -> Entry:
    kind, device, t = e["kind"], e.get("anonymous_id"), e["time"]
    if kind == "identify":
        method = e.get("method")
        linking = (device, t) in linked
        how = METHODS.get(method, method)
        what = f"Identified by {how}" if linking else f"Identify ({how})"
        detail = e.get("email") or ""
        if e.get("not_followed"):  # a forwarded email on someone else's device: evidence, not followed
            what = "Email link not followed"
            detail = (f"link for {detail or 'a contact id'} on a device identified as "
                      f"{e['not_followed']['device_contact']}, not followed")
        if e.get("url"):
            detail = f"{detail} on {e['url']}" if detail else e["url"]
        return Entry(t, kind, what, detail, device, bool(e.get("backfilled")), linking, raw=e)
    if kind == "order":
        parts = [e.get("product") or "", money(e.get("amount")), f"order {e.get('order_id')}"]
        if e.get("source"):
            parts.append(f"from {e['source']}")
        return Entry(t, kind, "Purchase", " · ".join(p for p in parts if p), raw=e)
    if kind == "refund":
        return Entry(t, kind, "Refund", f"{money(e.get('amount'))} of order {e.get('order_id')}", raw=e)
    if kind == "subscription":
        parts = [e.get("plan") or "", e.get("status") or "", money(e.get("amount")) if e.get("amount") else ""]
        if e.get("canceled_at"):
            parts.append(f"canceled {e['canceled_at'][:10]}")
        return Entry(t, kind, "Subscription", " · ".join(p for p in parts if p), raw=e)
    if kind == "tag":
        return Entry(t, kind, f"Tagged “{e.get('tag')}”", f"from {e.get('source')}" if e.get("source") else "", raw=e)
    if kind == "email_click":  # from the email platform's report (core/email_clicks.py)
        parts = [e.get("campaign") or "", e.get("url") or "", f"from {e.get('platform')}"]
        return Entry(t, kind, "Email click", " · ".join(p for p in parts if p), raw=e)
    name = e.get("name") or kind
    return Entry(t or "", kind, f"Event: {name}", e.get("url") or "", device, bool(e.get("backfilled")), raw=e)


EVIDENCE_SQL = """
SELECT s.anonymous_id, s.start_ts, s.end_ts, s.linked_by, s.linked_at,
       e.type, e.method, event_json(e.raw, e.message_id, e.anonymous_id, e.ts), e.email, e.contact_key, e.user_id, e.ts
FROM device_segments s LEFT JOIN events e ON e.id = s.evidence_event_id
WHERE s.contact_id = ? ORDER BY s.linked_at
"""


def device_evidence(conn, email: str) -> dict[str, list[str]]:
    """For each device of the contact, one line per link saying what tied it and when."""
    cid = contact_of_email(conn, email)
    out: dict[str, list[str]] = {}
    for aid, start, end, linked_by, _at, etype, method, raw, ev_email, key, user_id, _ts in conn.execute(
        EVIDENCE_SQL, (cid,)
    ):
        if linked_by == "merge":
            line = "joined by a manual merge"
        elif etype:
            who = ev_email or (f"contact id {key}" if key else None) or (f"user {user_id}" if user_id else "")
            line = f"{etype} by {METHODS.get(method, method or linked_by)}" + (f" as {who}" if who else "")
            url = page_fields(stored_event(raw))[0]
            if url:
                line += f" on {url}"
        else:
            line = f"linked by {METHODS.get(linked_by, linked_by)}"
        if start:
            line += f" (span from {start[:16].replace('T', ' ')}"
            line += f" to {end[:16].replace('T', ' ')})" if end else " on)"
        elif end:
            line += f" (until {end[:16].replace('T', ' ')}, then another person)"
        out.setdefault(aid, []).append(line)
    return out
