"""Drip (REST API v2): subscribers with their tags; email clicks from Drip's webhook events.

Every call is ``https://api.getdrip.com/v2/<account_id>/...`` with the API
token as the HTTP Basic user name and an empty password, and a User-Agent
naming the application, as Drip asks (https://developer.drip.com/#authentication).

- Subscribers (``/subscribers?status=all&sort=created_at&direction=asc``) page
  by ``page``/``per_page`` (at most 1000) to ``meta.total_pages``
  (https://developer.drip.com/#list-all-subscribers). The list has no
  "changed since" filter (only ``subscribed_after``, the creation date), so every
  sync reads it whole: a subscriber's ``tags`` is its whole tag set, so tags
  added and removed in Drip are both seen (``replace_tags``), and an unchanged
  subscriber read again changes nothing. Sorted by creation, a subscriber added
  mid-run lands on the last page instead of shifting the unread ones.
- Clicks: Drip's REST API has no list of a subscriber's email activity; a
  click reaches the outside only as the webhook event ``subscriber.clicked_email``
  (https://developer.drip.com/#webhook-events). :func:`click_rows` reads those
  events (``data.subscriber.email``, ``data.properties`` with ``email_id``,
  ``email_subject``, ``url``, ``delivery_id``; ``occurred_at``) as touches:
  source ``drip``, medium ``email``, campaign the email's subject.

Limits: 3,600 requests per hour per account (https://developer.drip.com/#rate-limiting);
we keep to 3,000. Over it Drip answers 429 ``{"message": "API rate limit exceeded.
Please try again in an hour."}`` without ``Retry-After``: the wait is the hour
(at most 120 s a wait, doubling, sync/http.py) and the answer's
``X-RateLimit-Remaining: 0`` pauses the next call.
"""

from __future__ import annotations

from ..context import SyncContext
from ..http import RateLimit
from ..records import email_of, iso_ts
from .crm import Person, replace_tags, store_people
from .toolkit import basic_auth, number_pages

API = "https://api.getdrip.com/v2"
PAGE = 1000
RATE = RateLimit(3000, 3600.0)
WINDOW = 3600.0
PLATFORM = "drip"
USER_AGENT = "SegDesk (https://github.com/segdesk)"
CLICKED = "subscriber.clicked_email"


def _pages(body: dict) -> int:
    return int((body.get("meta") or {}).get("total_pages") or 0)


def sync(ctx: SyncContext) -> None:
    account = str(ctx.source.config["account_id"])
    client = ctx.client(f"{API}/{account}", headers={**basic_auth((ctx.secret or "").strip(), ""),
                                                     "User-Agent": USER_AGENT, "Accept": "application/json"},
                        rate=RATE, window=WINDOW, auth_words="the API token")
    start = int((ctx.cursor.get("run") or {}).get("page") or 1)
    params = {"status": "all", "sort": "created_at", "direction": "asc", "per_page": PAGE}
    for page in number_pages(ctx, client, "/subscribers", "subscribers", params=params, page=start, pages=_pages):
        subscribers = [s for s in page.items if s.get("id")]

        def write(conn, subscribers=subscribers):
            store_people(ctx, conn, [_person(s) for s in subscribers])
            replace_tags(ctx, conn, {f"drip:{s['id']}": [(t, None) for t in s.get("tags") or [] if t]
                                     for s in subscribers})

        ctx.commit({"run": {"page": page.next}} if page.more else {}, write)
        ctx.count("subscribers", min(1.0, (page.next - 1) / max(_pages(page.body), 1)), subscribers=len(subscribers))


def _person(s: dict) -> Person:
    return Person(f"drip:{s['id']}", email_of(s.get("email")), s.get("first_name") or None,
                  s.get("last_name") or None, iso_ts(s.get("created_at")), None)


def click_rows(origin: str, events: list[dict]) -> list[tuple]:
    """Drip webhook events as ``email_clicks`` rows (core/email_clicks.py); other events are skipped.

    The id is the delivery (one email sent to one person), the link and the time, so the same event
    delivered twice (Drip retries) is one click."""
    rows = []
    for event in events:
        if not isinstance(event, dict) or event.get("event") != CLICKED:
            continue
        data = event.get("data") or {}
        props = data.get("properties") or {}
        email = email_of((data.get("subscriber") or {}).get("email"))
        when = iso_ts(event.get("occurred_at"))
        if not email or not when:
            continue
        key = f"{props.get('delivery_id') or props.get('email_id')}:{when}:{props.get('url')}"
        rows.append((origin, key, email, when, PLATFORM, props.get("email_subject") or props.get("email_name"),
                     props.get("url")))
    return rows
