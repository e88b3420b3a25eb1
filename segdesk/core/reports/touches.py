"""Touchpoints by contact, and each contact's first touch.

A session reaches a contact through ``device_segments`` by its start, anonymous
history included (the first segment starts at ''). ``contact_touches`` stores
that join, clustered by contact, so attribution reads an order's touches as
one range and the first touch is the first row of a contact. Clicks read from
email platforms' reports are touches too (``core/email_clicks.py``).

It stays honest whoever changes identity: triggers on ``device_segments``
(migration 0002) list the contacts whose segments changed in
``first_touch_dirty``, and the session update adds the contacts of devices
whose sessions it rebuilt. :func:`touches_source` gives readers the table when
nothing is dirty, else the table for clean contacts plus a live join for dirty
ones, so a report is right even before a refresh.

``report_first_touch`` (migration 0005) keeps each contact's first row of
``contact_touches``: grouping 170,000 touches per report cost ~90 ms at 50,000
contacts, reading 50,000 cached rows a few. It is rewritten for exactly the
contacts whose touches are, and read under the same dirty rule.
"""

from __future__ import annotations

from ..email_clicks import CLICK_TOUCHES
from .contact_value import mark_all

# Sessions of device spans, each with the contact it counts for.
CONTACT_SESSIONS = """
SELECT g.contact_id, s.start_ts, s.first_event_id, s.id AS session_id, s.source, s.medium, s.campaign
FROM device_segments g
JOIN sessions s ON s.anonymous_id = g.anonymous_id AND s.start_ts >= g.start_ts
     AND (g.end_ts IS NULL OR s.start_ts < g.end_ts)
"""
COLUMNS = "contact_id, start_ts, first_event_id, session_id, source, medium, campaign"
DIRTY = "(SELECT contact_id FROM first_touch_dirty)"


def live_touches(contacts: str = "") -> str:
    """Sessions and email-platform clicks (core/email_clicks.py) as touch rows, of ``contacts``
    (a subquery of contact ids) or of everyone."""
    sessions = f"{CONTACT_SESSIONS} WHERE g.contact_id IN {contacts}" if contacts else CONTACT_SESSIONS
    clicks = CLICK_TOUCHES.format(contacts=f"(m.canonical_id IN {contacts} OR (m.canonical_id IS NULL AND "
                                           f"m.id IN {contacts}))" if contacts else "1")
    return f"{sessions} UNION ALL {clicks}"


def touches_source(conn) -> str:
    """A table or subquery with ``COLUMNS``: every contact's touchpoints."""
    if conn.execute("SELECT 1 FROM first_touch_dirty LIMIT 1").fetchone() is None:
        return "contact_touches"
    return (f"(SELECT {COLUMNS} FROM contact_touches WHERE contact_id NOT IN {DIRTY} UNION ALL "
            f"{live_touches(DIRTY)})")


# The earliest touch per contact: SQLite takes the bare columns from the min row, and
# scanning contact_touches in key order breaks start_ts ties by first_event_id.
FIRST_TOUCH = ("SELECT contact_id, min(start_ts) AS start_ts, first_event_id, session_id, source, medium, campaign "
               "FROM {touches} {where} GROUP BY contact_id")


def first_touch_sql(conn) -> str:
    """A subquery: each contact's earliest touch (``COLUMNS``), from the cache for clean contacts."""
    if conn.execute("SELECT 1 FROM first_touch_dirty LIMIT 1").fetchone() is None:
        return f"SELECT {COLUMNS} FROM report_first_touch"
    live = FIRST_TOUCH.format(touches=f"({live_touches(DIRTY)})", where="")
    return f"SELECT {COLUMNS} FROM report_first_touch WHERE contact_id NOT IN {DIRTY} UNION ALL {live}"


def mark_devices(conn, devices) -> None:
    """The contacts of these devices' segments need their touches recomputed."""
    conn.executemany(
        "INSERT OR IGNORE INTO first_touch_dirty(contact_id) "
        "SELECT contact_id FROM device_segments WHERE anonymous_id = ?",
        ((aid,) for aid in devices),
    )


def refresh_touches(conn) -> int:
    """Recompute the dirty contacts' touches; returns how many contacts were refreshed."""
    n = conn.execute("SELECT count(*) FROM first_touch_dirty").fetchone()[0]
    if n:
        conn.execute(f"DELETE FROM contact_touches WHERE contact_id IN {DIRTY}")
        conn.execute(f"INSERT OR REPLACE INTO contact_touches ({COLUMNS}) {live_touches(DIRTY)}")
        conn.execute(f"DELETE FROM report_first_touch WHERE contact_id IN {DIRTY}")
        conn.execute(f"INSERT INTO report_first_touch ({COLUMNS}) "
                     + FIRST_TOUCH.format(touches="contact_touches", where=f"WHERE contact_id IN {DIRTY}"))
        conn.execute("DELETE FROM first_touch_dirty")
    return n


def rebuild_touches(conn) -> None:
    conn.execute("DELETE FROM contact_touches")
    conn.execute(f"INSERT OR REPLACE INTO contact_touches ({COLUMNS}) {live_touches()}")
    conn.execute("DELETE FROM report_first_touch")
    conn.execute(f"INSERT INTO report_first_touch ({COLUMNS}) " + FIRST_TOUCH.format(touches="contact_touches", where=""))
    conn.execute("DELETE FROM first_touch_dirty")
    mark_all(conn)  # every anchor may have moved; no contact was listed as dirty
    # and every order's touches with their weights (shares.py, which needs this module: SQL, not an import)
    conn.execute("UPDATE report_attribution_state SET dirty = 1 WHERE dirty = 0")
