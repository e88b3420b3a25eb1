"""A journey (CONTRACTS.md §3) as timeline entries, and the journey page's reads and writes (no Qt here).

A session is a run of one device's page views with gaps under 30 minutes; a
page view with a different non-direct channel starts a new one; its channel is
that of its first page view (CONTRACTS.md §4). Everything else (identify,
purchase, refund, subscription, tag, track) is an entry of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..core import people
from ..core.event_rows import page_fields, stored_event
from ..core.journey import contact_of_email, journey
from ..core.refresh import refresh_reports
from ..core.timeutil import parse_ts
from ..sync.relay_erase import erase_remote

SESSION_GAP_S = 30 * 60
METHODS = {"form": "opt-in form", "link": "email link", "manual": "manual (page code)",
           "server": "server", "merge": "manual merge", None: "identify"}


@dataclass
class Entry:
    time: str
    kind: str                 # session, page, identify, order, refund, subscription, tag, track
    what: str
    detail: str = ""
    device: str | None = None
    backfilled: bool = False  # anonymous history credited to the contact after the device was identified
    linking: bool = False     # the identify that tied its device to the contact
    children: list["Entry"] = field(default_factory=list)
    raw: dict = field(default_factory=dict)


def channel_text(ch: dict | None) -> str:
    if not ch:
        return "(direct) / (none)"
    parts = [ch.get("source") or "(direct)", ch.get("medium") or "(none)"]
    if ch.get("campaign"):
        parts.append(ch["campaign"])
    return " / ".join(parts)


def _direct(ch: dict | None) -> bool:
    return not ch or (ch.get("source") in (None, "(direct)") and ch.get("medium") in (None, "(none)"))


def _page_entry(e: dict) -> Entry:
    detail = e.get("title") or ""
    if e.get("url"):
        detail = f"{detail} — {e['url']}" if detail else e["url"]
    return Entry(e["time"], "page", "Page view", detail, e.get("anonymous_id"), bool(e.get("backfilled")), raw=e)


def _close_session(s: Entry) -> None:
    pages = s.children
    s.backfilled = all(p.backfilled for p in pages)
    landing = pages[0].raw.get("url") or ""
    n = len(pages)
    s.detail = f"{n} page view{'s' if n != 1 else ''}" + (f", landed on {landing}" if landing else "")


def build_timeline(data: dict, money) -> list[Entry]:
    """Entries in time order; ``money(amounts_dict) -> str`` formats amounts."""
    linked = {(d["anonymous_id"], d["linked_at"]) for d in data.get("devices", [])}
    entries: list[Entry] = []
    open_sessions: dict[str | None, tuple[Entry, float]] = {}
    for e in data.get("events", []):
        kind, device = e["kind"], e.get("anonymous_id")
        if kind == "page":
            t = parse_ts(e["time"]).timestamp()
            page = _page_entry(e)
            current = open_sessions.get(device)
            if current is not None:
                session, last_t = current
                ch, first_ch = e.get("channel"), session.raw.get("channel")
                new_channel = not _direct(ch) and channel_text(ch) != channel_text(first_ch)
                if t - last_t < SESSION_GAP_S and not new_channel:
                    session.children.append(page)
                    open_sessions[device] = (session, t)
                    continue
                _close_session(session)
            session = Entry(e["time"], "session", f"Session · {channel_text(e.get('channel'))}",
                            device=device, children=[page], raw={"channel": e.get("channel")})
            entries.append(session)
            open_sessions[device] = (session, t)
            continue
        entries.append(_other_entry(e, linked, money))
    for session, _t in open_sessions.values():
        _close_session(session)
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
    name = e.get("name") or kind
    return Entry(t or "", kind, f"Event: {name}", e.get("url") or "", device, bool(e.get("backfilled")), raw=e)


EVIDENCE_SQL = """
SELECT s.anonymous_id, s.start_ts, s.end_ts, s.linked_by, s.linked_at,
       e.type, e.method, e.raw, e.email, e.contact_key, e.user_id, e.ts
FROM device_segments s LEFT JOIN events e ON e.id = s.evidence_event_id
WHERE s.contact_id = ? ORDER BY s.linked_at
"""


def device_evidence(conn, email: str) -> dict[str, list[str]]:
    """For each device of the contact, one line per link saying what tied it and when."""
    cid = contact_of_email(conn, email)
    out: dict[str, list[str]] = {}
    for aid, start, end, linked_by, linked_at, etype, method, raw, ev_email, key, user_id, ts in conn.execute(
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


def load_journey(conn, email: str) -> dict:
    """Everything the view shows, in one read (runs on a reader thread)."""
    data = journey(conn, email)
    data["evidence"] = device_evidence(conn, email)
    return data


def with_reports(ws, result):
    """Bring sessions and counted orders up to date after an identity change; pass the result on."""
    refresh_reports(ws)
    return result


def erase_everywhere(ws, email: str) -> str:
    """Erase in the workspace, then at every relay; one line saying what happened."""
    result = with_reports(ws, people.erase(ws, email))
    line = f"Erased {result.email}: {result.events} events and {result.orders} orders deleted from this workspace"
    remote = erase_remote(ws, result.email)
    for name, n in remote.erased.items():
        line += f"; relay “{name}”: {n} buffered events erased"
    for name, reason in remote.failed.items():
        line += f"; relay “{name}” could not erase ({reason})"
    return line + "."
