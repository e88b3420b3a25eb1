"""Crediting ad clicks that carry a click id but no UTM campaign (Google's gclid).

A visit from a Google ad with auto-tagging arrives as ``?gclid=...`` alone:
its channel is google / cpc (channels.py) with no campaign. The Google Ads
sync stores which campaign and ad group each gclid came from in
``click_ids``; when sessions are built, such a page view takes the click's
campaign (its name, lower-case, as touches keep campaigns) and its ad group
as the session's content, the place utm_content would name the ad. A page
view with a UTM campaign keeps it: what the marketer tagged wins.

The lookup is a table the sessions step consults, not a rewrite of events:
events stay as they arrived, and a later sync that learns more clicks marks
the devices concerned for a rebuild (sessions_dirty).
"""

from __future__ import annotations

from .traffic.channels import query_of
from .importing.event_rows import page_fields, stored_event

PARAM = "gclid"


def has_clicks(conn) -> bool:
    return conn.execute("SELECT EXISTS(SELECT 1 FROM click_ids)").fetchone()[0] == 1


def credit_clicks(conn, pages: list) -> list:
    """Page rows ``(id, ts, source, medium, campaign, term, content)`` with known clicks credited."""
    out = []
    for row in pages:
        eid, ts, source, medium, campaign, term, content = row
        if campaign is None and source == "google" and medium == "cpc":
            found = _click_of(conn, eid)
            if found is not None:
                row = (eid, ts, source, medium, found[0], term, found[1] or content)
        out.append(row)
    return out


def _click_of(conn, event_id: int) -> tuple[str, str] | None:
    (raw,) = conn.execute("SELECT event_json(raw, message_id, anonymous_id, ts) FROM events WHERE id = ?", (event_id,)).fetchone()
    ev = stored_event(raw)
    click = query_of(page_fields(ev).url).get(PARAM) or (ev.get("properties") or {}).get(PARAM)
    if not click:
        return None
    row = conn.execute("SELECT lower(campaign), lower(ad_group) FROM click_ids WHERE click_id = ?",
                       (str(click),)).fetchone()
    return (row[0], row[1] or None) if row and row[0] else None
