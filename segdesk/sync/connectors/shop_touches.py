"""A shop's own record of how a buyer arrived, as touches for buyers the pixel never saw.

Shopify (an order's ``customerJourneySummary``) and WooCommerce (order
attribution meta) remember the visit that led to an order: landing page,
referrer, UTM parameters. When the pixel saw that visitor, its page views are
the better record and these are left out (two records of one visit would be
two touches). When it did not, each visit becomes one synthetic server-side
page view, exactly as Segment's server libraries send them: ``userId`` the
buyer's email, no ``anonymousId``, the landing page in ``context.page``, the
UTM values in ``context.campaign`` and a deterministic ``messageId``
(``shopify:<order>:first``), so a re-sync stores nothing twice. Such page
views are the buyer's touches through the usual rules (docs/SPEC.md §4,
server-side page views: one pseudo device per user, sessions, channels).

"Never saw" is judged when the order is stored: the buyer's email was not
identified on any pixel device (an identify with that email, or a device span
of the buyer's contact). Sources sync in the order they were added, so add the
relay first; touches stored before the pixel met the buyer stay.
"""

from __future__ import annotations

from ...core.importing.event_rows import EventError, event_row
from ...core.importing.events import INSERT_SQL

SEEN_SQL = """
SELECT EXISTS (SELECT 1 FROM events WHERE type IN ('identify', 'alias') AND anonymous_id IS NOT NULL AND email = ?1)
    OR EXISTS (SELECT 1 FROM device_segments s JOIN contacts c ON c.id = s.contact_id
               JOIN contacts m ON m.email = ?1 AND coalesce(m.canonical_id, m.id) = coalesce(c.canonical_id, c.id)
               WHERE s.anonymous_id NOT LIKE 'userId:%')
"""


def pixel_saw(conn, email: str) -> bool:
    return bool(conn.execute(SEEN_SQL, (email,)).fetchone()[0])


def visit_event(message_id: str, email: str, when: str, url: str | None, referrer: str | None,
                campaign: dict) -> dict:
    page = {k: v for k, v in (("url", url), ("referrer", referrer)) if v}
    context = {"page": page}
    utm = {k: v for k, v in campaign.items() if isinstance(v, str) and v.strip()}
    if utm:
        context["campaign"] = utm
    return {"type": "page", "userId": email, "messageId": message_id, "timestamp": when, "context": context,
            "properties": dict(page)}


def store_touches(conn, origin: str, email: str | None, visits: list[dict]) -> int:
    """Store the visits as page views unless the pixel saw this buyer; returns how many were new."""
    if not email or not visits or pixel_saw(conn, email):
        return 0
    rows = []
    for ev in visits:
        try:
            rows.append(event_row(ev, origin))
        except EventError:
            continue  # a visit without a usable time: no touch rather than a wrong one
    return max(conn.executemany(INSERT_SQL, rows).rowcount, 0) if rows else 0
