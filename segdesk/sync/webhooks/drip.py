"""Drip's webhook events: email clicks as touches, tags applied and removed.

Drip posts one event per request, ``{"event", "data": {"account_id",
"subscriber": {...}, "properties": {...}}, "occurred_at"}``
(https://developer.drip.com/#webhook-events). Read here:

- ``subscriber.clicked_email``: an email-click touch of the subscriber, through
  the Drip connector's own :func:`~..connectors.drip.click_rows` (source
  ``drip``, medium ``email``, campaign the email's subject), de-duplicated
  against the pixel's page view of the same click by core/email_clicks.py.
  This is the only way Drip's clicks leave Drip: its REST API lists none.
- ``subscriber.applied_tag`` / ``subscriber.removed_tag`` (``properties.tag``):
  the one tag changed on the subscriber, on the key the Drip connector uses
  (``drip:<subscriber id>``) under the delivery's origin, which is the
  connector's origin when the hook source has the REST source's name
  (``drip``): the next REST sync then sees the same rows and changes nothing.

Every other event (opens, campaign subscriptions, ...) is kept as ``ignored``.
"""

from __future__ import annotations

from ..connectors.crm import Person, store_people, store_tags
from ..connectors.drip import CLICKED, click_rows
from ..records import email_of, iso_ts, untag_one
from ...core.email_clicks import store_clicks
from .delivery import Unreadable

TAGGED, UNTAGGED = "subscriber.applied_tag", "subscriber.removed_tag"


def apply(ctx, conn, delivery) -> bool:
    payload = delivery.json()
    event = payload.get("event")
    if event not in (CLICKED, TAGGED, UNTAGGED):
        return False
    data = payload.get("data")
    if not isinstance(data, dict):
        raise Unreadable(f"Drip {event.split('.')[-1]} without its data object")
    if event == CLICKED:
        rows = click_rows(ctx.origin, [payload])
        if not rows:
            raise Unreadable("Drip clicked_email without the subscriber's email or occurred_at")
        ctx.add_changed(email_clicks=store_clicks(conn, rows))
        return True
    subscriber = data.get("subscriber") if isinstance(data.get("subscriber"), dict) else {}
    properties = data.get("properties") if isinstance(data.get("properties"), dict) else {}
    tag = str(properties.get("tag") or "").strip()
    if not subscriber.get("id") or not tag:
        raise Unreadable(f"Drip {event.split('.')[-1]} without the subscriber's id or the tag")
    key, when = f"drip:{subscriber['id']}", iso_ts(payload.get("occurred_at")) or delivery.received_at
    # The subscriber as the connector stores one, so the tag's key leads to a contact before any REST sync.
    store_people(ctx, conn, [Person(key, email_of(subscriber.get("email")), subscriber.get("first_name") or None,
                                    subscriber.get("last_name") or None, iso_ts(subscriber.get("created_at")),
                                    None)])
    if event == TAGGED:
        store_tags(ctx, conn, [(key, tag, when)])
    else:
        ctx.add_changed(tags=untag_one(conn, ctx.origin, f"cid:{key}", tag))
    return True
