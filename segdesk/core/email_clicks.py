"""Clicks in an email platform's report (Mailchimp, Klaviyo) as touches of the contact who clicked.

A click is stored once in ``email_clicks`` (migration 0011), keyed by the
source's origin and an id that is the same every time the report is read
again, so re-syncing neither loses nor repeats one. It becomes a touchpoint of
the clicker's contact: source = the platform (``mailchimp``, ``klaviyo``),
medium ``email``, campaign = the email campaign's name. ``contact_touches``
holds it beside the contact's sessions (``reports/touches.py`` unions
:data:`CLICK_TOUCHES` in), so attribution, first touch and the journey use it
like any other touch. Its ``first_event_id`` and ``session_id`` are the
click's rowid negated: never an event id, and stable.

**One click, one touch.** The same click usually also lands on the site and the
pixel records a page view whose session is already a touch (medium ``email``,
from UTM parameters or the email-link rule). The platform's click is then
dropped: it counts only when the contact has no ``email`` session of the same
campaign (or of no campaign) starting from :data:`DEDUPE_BEFORE` before the
click to :data:`DEDUPE_AFTER` after it. The landing page view follows the
platform's tracked redirect within seconds; the slack covers the visitor's
device clock (pixel times come from the browser) and a slow landing page, and
stays short enough that a second click of the same email an hour later is a
touch of its own. A click whose visit the pixel never saw (blocked script,
another site, an app) is kept: that is what the platform's report adds.

Triggers mark the clicker's contact in ``first_touch_dirty`` when a click is
stored or removed and when an email with clicks changes contact (a merge), so
the next refresh recomputes exactly those touches.
"""

from __future__ import annotations

DEDUPE_BEFORE = "-5 minutes"
DEDUPE_AFTER = "+10 minutes"
_TS = "'%Y-%m-%dT%H:%M:%fZ'"  # strftime giving the workspace's timestamp text (…:SS.mmmZ)

# The clicks as touch rows (reports/touches.py COLUMNS), minus those the pixel saw as a visit;
# {contacts}: the contacts wanted (a subquery), read through the canonical-id index.
CLICK_TOUCHES = f"""
SELECT coalesce(m.canonical_id, m.id) AS contact_id, c.ts AS start_ts, -c.rowid AS first_event_id,
       -c.rowid AS session_id, c.platform AS source, 'email' AS medium, c.campaign AS campaign
FROM contacts m JOIN email_clicks c ON c.email = m.email
WHERE {{contacts}} AND NOT EXISTS (
    SELECT 1 FROM device_segments g
    JOIN sessions s ON s.anonymous_id = g.anonymous_id AND s.start_ts >= g.start_ts
         AND (g.end_ts IS NULL OR s.start_ts < g.end_ts)
    WHERE g.contact_id = coalesce(m.canonical_id, m.id) AND lower(s.medium) = 'email'
      AND (s.campaign IS NULL OR s.campaign = c.campaign)
      AND s.start_ts >= strftime({_TS}, c.ts, '{DEDUPE_BEFORE}')
      AND s.start_ts <= strftime({_TS}, c.ts, '{DEDUPE_AFTER}'))
"""
CLICK_SQL = """
INSERT INTO email_clicks(origin, click_id, email, ts, platform, campaign, url) VALUES (?, ?, ?, ?, ?, ?, ?)
ON CONFLICT(origin, click_id) DO UPDATE SET campaign = excluded.campaign
WHERE excluded.campaign IS NOT email_clicks.campaign
"""


def store_clicks(conn, rows) -> int:
    """rows: (origin, click_id, email, ts, platform, campaign, url); returns rows inserted or changed.

    Platform and campaign are stored as channel values are (channels.py: trimmed, lower case), so a
    click's touch groups with the sessions its campaign's links bring."""
    rows = [(o, k, e, t, _channel(p), _channel(c), u) for o, k, e, t, p, c, u in rows]
    return max(conn.executemany(CLICK_SQL, rows).rowcount, 0)


def _channel(value: str | None) -> str | None:
    return (value or "").strip().lower() or None


def click_events(conn, emails: list[str]) -> list[dict]:
    """The journey's items for the contact's clicks (``kind`` ``email_click``)."""
    marks = ",".join("?" * len(emails))
    return [{"time": ts, "kind": "email_click", "platform": platform, "campaign": campaign, "url": url,
             "channel": {"source": platform, "medium": "email", "campaign": campaign}}
            for ts, platform, campaign, url in conn.execute(
                f"SELECT ts, platform, campaign, url FROM email_clicks WHERE email IN ({marks}) ORDER BY ts, rowid",
                emails)]


def create_tables(db) -> None:
    """Migration 0011 (core/schema/): the clicks, and the triggers that keep their touches fresh."""
    db.executescript(
        """
        CREATE TABLE email_clicks (
            origin TEXT NOT NULL,
            click_id TEXT NOT NULL,
            email TEXT NOT NULL,
            ts TEXT NOT NULL,
            platform TEXT NOT NULL,
            campaign TEXT,
            url TEXT,
            PRIMARY KEY (origin, click_id)
        );
        CREATE INDEX email_clicks_email ON email_clicks(email, ts);
        CREATE TRIGGER email_clicks_insert_touch AFTER INSERT ON email_clicks BEGIN
            INSERT OR IGNORE INTO first_touch_dirty(contact_id)
            SELECT coalesce(canonical_id, id) FROM contacts WHERE email = NEW.email;
        END;
        CREATE TRIGGER email_clicks_update_touch AFTER UPDATE ON email_clicks BEGIN
            INSERT OR IGNORE INTO first_touch_dirty(contact_id)
            SELECT coalesce(canonical_id, id) FROM contacts WHERE email = NEW.email;
        END;
        CREATE TRIGGER email_clicks_delete_touch AFTER DELETE ON email_clicks BEGIN
            INSERT OR IGNORE INTO first_touch_dirty(contact_id)
            SELECT coalesce(canonical_id, id) FROM contacts WHERE email = OLD.email;
        END;
        CREATE TRIGGER contacts_insert_click_touch AFTER INSERT ON contacts
        WHEN EXISTS (SELECT 1 FROM email_clicks WHERE email = NEW.email) BEGIN
            INSERT OR IGNORE INTO first_touch_dirty(contact_id) VALUES (coalesce(NEW.canonical_id, NEW.id));
        END;
        CREATE TRIGGER contacts_update_click_touch AFTER UPDATE OF canonical_id ON contacts
        WHEN EXISTS (SELECT 1 FROM email_clicks WHERE email = NEW.email) BEGIN
            INSERT OR IGNORE INTO first_touch_dirty(contact_id) VALUES (coalesce(OLD.canonical_id, OLD.id));
            INSERT OR IGNORE INTO first_touch_dirty(contact_id) VALUES (coalesce(NEW.canonical_id, NEW.id));
        END;
        """
    )
