"""Sessions and touchpoints (docs/SPEC.md §4), kept up to date incrementally.

A session is a run of one device's page views with gaps under 30 minutes; a
page view with a different non-direct channel starts a new one; a session's
channel is its first page view's. Every session is a touchpoint.

``update_sessions`` reads only events past a stored high-water mark: for each
device they touch it rebuilds from the last session that starts at or before
the earliest new event (a session boundary before that point depends only on
older events, which are immutable), so a sync never recomputes years of
history. Devices whose events were deleted (erase), or whose handover times
changed in a stitch (a second person identified on them), are rebuilt whole.
Contacts are not stored on sessions: reports map a session to a contact
through ``device_segments`` at query time, so identity changes cost nothing
here beyond refreshing ``contact_touches`` (``touches.py``).

Page views with a ``userId`` and no ``anonymousId`` (server-side Segment
``page`` calls) have no device; their sessions live under the pseudo device
``userId:<id>`` (``identifiers.user_device``), which the stitch ties to the user's
contact like any device, so they are touches of that contact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from bisect import bisect_right
from datetime import datetime
from itertools import chain
from typing import NamedTuple

from ..traffic.channels import DIRECT, NONE, Channel, query_of, with_email_link
from ..click_ids import credit_clicks, has_clicks
from ..importing.event_rows import page_fields, stored_event
from ..identity.identifiers import USER_DEVICE
from ..progress import Progress
from ..store import Workspace
from ..timeutil import UTC, format_ts
from .touches import mark_devices, rebuild_touches, refresh_touches

SESSION_GAP_S = 30 * 60
# Same window the journey uses for "this page view came from the email link".
EMAIL_LINK_WINDOW_S = 10
HIGH_WATER = "sessions.events_upto"
INSERT_SQL = ("INSERT INTO sessions(anonymous_id, start_ts, last_ts, first_event_id, pages, source, medium, "
              "campaign, term, content) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
PAGE_SQL = ("SELECT id, ts, ch_source, ch_medium, ch_campaign, ch_term, ch_content FROM events "
            "WHERE anonymous_id = ? AND type IN ('page', 'screen') AND (ts > ? OR (ts = ? AND id >= ?)) "
            "ORDER BY ts, id")
# A user's server-side page views (no anonymousId), by the events_user index.
USER_PAGE_SQL = ("SELECT id, ts, ch_source, ch_medium, ch_campaign, ch_term, ch_content FROM events "
                 "WHERE user_id = ? AND anonymous_id IS NULL AND type IN ('page', 'screen') "
                 "AND (ts > ? OR (ts = ? AND id >= ?)) ORDER BY ts, id")
HANDOVER_SQL = "SELECT start_ts FROM device_segments WHERE anonymous_id = ? AND start_ts != '' ORDER BY start_ts"
LINK_SQL = ("SELECT ts FROM events WHERE anonymous_id = ? AND type = 'identify' AND method = 'link' "
            "AND ts >= ? ORDER BY ts")


@dataclass
class SessionUpdate:
    """What an update touched: devices whose sessions were rebuilt, and the event mark reached."""

    devices: set[str] = field(default_factory=set)
    sessions_written: int = 0
    events_upto: int = 0
    full_rebuild: bool = False

    def as_dict(self) -> dict:
        return {"devices": len(self.devices), "sessions_written": self.sessions_written,
                "events_upto": self.events_upto, "full_rebuild": self.full_rebuild}


def _epoch(ts: str) -> float:
    return datetime.fromisoformat(ts).timestamp()


def _has_utm(conn, event_id: int) -> bool:
    """Whether the page view carried UTM parameters (URL or context.campaign): the one case
    where the email-link rule does not apply."""
    (raw,) = conn.execute("SELECT event_json(raw, message_id, anonymous_id, ts) FROM events WHERE id = ?", (event_id,)).fetchone()
    ev = stored_event(raw)
    if any(k.startswith("utm_") and v.strip() for k, v in query_of(page_fields(ev).url).items()):
        return True
    campaign = (ev.get("context") or {}).get("campaign")
    return isinstance(campaign, dict) and any(str(v).strip() for v in campaign.values() if v is not None)


class SessionRow(NamedTuple):
    """One session as the ``sessions`` table stores it (after its ``anonymous_id``)."""

    start_ts: str
    last_ts: str
    first_event_id: int
    pages: int
    source: str
    medium: str
    campaign: str | None
    term: str | None
    content: str | None


def sessionize(pages: list[tuple], link_times: list[float] = (), has_utm=lambda event_id: False,
               handovers: list[str] = ()) -> list[SessionRow]:
    """Pure: one device's page views ``(id, ts, source, medium, campaign, term, content)`` in
    (ts, id) order (rows of ``PAGE_SQL``) -> its sessions. ``link_times`` are epoch seconds of
    the device's email-link identifies; ``has_utm(event_id)`` is asked only for page views near one.
    ``handovers`` are the sorted times another person took the device over (its spans' starts):
    a session never runs across one, so the new person's activity is a session, a touch, of their own."""
    out: list[list] = []
    prev_t = None
    current = None
    span = 0
    for eid, ts, source, medium, campaign, term, content in pages:
        t = _epoch(ts)
        ch = Channel(source or DIRECT, medium or NONE, campaign, term, content)
        if link_times and any(abs(t - lt) <= EMAIL_LINK_WINDOW_S for lt in link_times) and not has_utm(eid):
            ch = with_email_link(ch)
        key = ch[:3]
        new = (current is None or t - prev_t >= SESSION_GAP_S
               or (ch.source != DIRECT and key != tuple(current[4:7])))
        if handovers:
            now_span = bisect_right(handovers, ts)
            new, span = new or now_span != span, now_span
        if new:
            current = [ts, ts, eid, 1, ch.source, ch.medium, ch.campaign, ch.term, ch.content]
            out.append(current)
        else:
            current[1] = ts
            current[3] += 1
        prev_t = t
    return [SessionRow._make(s) for s in out]


def _rebuild_device(conn, aid: str, from_ts: str, from_id: int) -> int:
    """Replace the device's sessions from (from_ts, from_id) on; returns sessions written."""
    conn.execute("DELETE FROM sessions WHERE anonymous_id = ? AND (start_ts > ? OR (start_ts = ? AND first_event_id >= ?))",
                 (aid, from_ts, from_ts, from_id))
    if aid.startswith(USER_DEVICE):
        pages = conn.execute(USER_PAGE_SQL, (aid[len(USER_DEVICE):], from_ts, from_ts, from_id)).fetchall()
    else:
        pages = conn.execute(PAGE_SQL, (aid, from_ts, from_ts, from_id)).fetchall()
    if not pages:
        return 0
    link_from = _utc_text(_epoch(pages[0][1]) - EMAIL_LINK_WINDOW_S - 1) if from_ts else ""
    if has_clicks(conn):  # a visit tagged only by a gclid takes its click's campaign (core/click_ids.py)
        pages = credit_clicks(conn, pages)
    links = [_epoch(r[0]) for r in conn.execute(LINK_SQL, (aid, link_from))]
    handovers = [r[0] for r in conn.execute(HANDOVER_SQL, (aid,))]
    rows = sessionize(pages, links, lambda eid: _has_utm(conn, eid), handovers)
    conn.executemany(INSERT_SQL, ((aid, *r) for r in rows))
    return len(rows)


def _utc_text(epoch: float) -> str:
    return format_ts(datetime.fromtimestamp(epoch, UTC))


def _affected(conn, upto: int) -> dict[str, str]:
    """Device -> earliest time new events (past ``upto``) can change its sessions."""
    out: dict[str, str] = {}
    for aid, is_link, ts in conn.execute(
        f"SELECT coalesce(anonymous_id, '{USER_DEVICE}' || user_id) AS device, type = 'identify', min(ts) "
        "FROM events WHERE id > ? AND (anonymous_id IS NOT NULL OR (user_id IS NOT NULL AND type IN ('page', 'screen'))) "
        "AND (type IN ('page', 'screen') OR (type = 'identify' AND method = 'link')) "
        "GROUP BY device, type = 'identify'", (upto,)
    ):
        if is_link:  # a link identify re-labels page views up to 10 s before it
            ts = _utc_text(_epoch(ts) - EMAIL_LINK_WINDOW_S)
        if aid not in out or ts < out[aid]:
            out[aid] = ts
    return out


def update_sessions(ws: Workspace, progress: Progress | None = None) -> SessionUpdate:
    """Bring sessions and the first-touch cache up to date with the events; cheap when nothing is new."""
    conn = ws.conn
    result = SessionUpdate()
    row = conn.execute("SELECT value FROM settings WHERE key = ?", (HIGH_WATER,)).fetchone()
    upto = int(row[0]) if row else 0
    max_id = conn.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0]
    result.events_upto = max_id
    erased = [r[0] for r in conn.execute("SELECT anonymous_id FROM sessions_dirty")]
    with conn:
        if row is None:
            result.full_rebuild = True
            result.devices, result.sessions_written = _rebuild_all(conn, progress)
            rebuild_touches(conn)
        else:
            if max_id > upto or erased:
                affected = _affected(conn, upto) if max_id > upto else {}
                for aid in erased:
                    affected[aid] = ""
                _rebuild_some(conn, affected, result, progress)
            mark_devices(conn, result.devices)
            refresh_touches(conn)
        conn.execute("DELETE FROM sessions_dirty")
        conn.execute("INSERT INTO settings(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                     (HIGH_WATER, str(max_id)))
    if progress:
        progress.update("Sessions up to date", 1.0, sessions=result.sessions_written)
    return result


def _rebuild_some(conn, affected: dict[str, str], result: SessionUpdate, progress) -> None:
    for i, (aid, ts) in enumerate(affected.items()):
        start = conn.execute(
            "SELECT start_ts, first_event_id FROM sessions WHERE anonymous_id = ? AND start_ts <= ? "
            "ORDER BY start_ts DESC, first_event_id DESC LIMIT 1", (aid, ts)).fetchone() if ts else None
        from_ts, from_id = start if start else ("", 0)
        result.sessions_written += _rebuild_device(conn, aid, from_ts, from_id)
        result.devices.add(aid)
        if progress and i % 1000 == 999:
            progress.update("Updating sessions", i / len(affected))
            progress.check()


def _rebuild_all(conn, progress) -> tuple[set[str], int]:
    """First build: every device, in one pass over the events index."""
    conn.execute("DELETE FROM sessions")
    links: dict[str, list[float]] = {}
    for aid, ts in conn.execute("SELECT anonymous_id, ts FROM events WHERE type = 'identify' AND method = 'link' "
                                "AND anonymous_id IS NOT NULL"):
        links.setdefault(aid, []).append(_epoch(ts))
    handovers: dict[str, list[str]] = {}
    for aid, ts in conn.execute("SELECT anonymous_id, start_ts FROM device_segments WHERE start_ts != '' "
                                "ORDER BY anonymous_id, start_ts"):
        handovers.setdefault(aid, []).append(ts)
    devices: set[str] = set()
    written = 0
    batch: list[tuple] = []
    aid_now, pages = None, []
    clicks = has_clicks(conn)

    def flush():
        nonlocal written
        if pages:
            rows = sessionize(pages, links.get(aid_now, ()), lambda eid: _has_utm(conn, eid),
                              handovers.get(aid_now, ()))
            batch.extend((aid_now, *r) for r in rows)
            written += len(rows)
            devices.add(aid_now)

    reader = chain(conn.execute(
        "SELECT anonymous_id, id, ts, ch_source, ch_medium, ch_campaign, ch_term, ch_content FROM events "
        "WHERE type IN ('page', 'screen') AND anonymous_id IS NOT NULL ORDER BY anonymous_id, ts, id"
    ), conn.execute(
        f"SELECT '{USER_DEVICE}' || user_id, id, ts, ch_source, ch_medium, ch_campaign, ch_term, ch_content "
        "FROM events WHERE type IN ('page', 'screen') AND anonymous_id IS NULL AND user_id IS NOT NULL "
        "ORDER BY user_id, ts, id"))
    for aid, *page in reader:
        if aid != aid_now:
            flush()
            aid_now, pages = aid, []
            if len(batch) > 20000:
                conn.executemany(INSERT_SQL, batch)
                batch = []
        pages.append(credit_clicks(conn, [page])[0] if clicks else page)
    flush()
    conn.executemany(INSERT_SQL, batch)
    if progress:
        progress.update("Built sessions", 0.9, sessions=written)
    return devices, written
