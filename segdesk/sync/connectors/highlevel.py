"""HighLevel (API v2): a location's contacts with tags and attribution, won opportunities as orders.

Every request sends ``Authorization: Bearer <private integration token>`` and
``Version: 2021-07-28`` to ``https://services.leadconnectorhq.com``
(https://marketplace.gohighlevel.com/docs/). The token belongs to one
sub-account (location), named by ``--location-id``.

- Contacts (``GET /contacts/?locationId=…&limit=100``) page by cursor: each
  answer's ``meta.nextPageUrl`` (carrying ``startAfter``/``startAfterId``) is
  the next page, null at the end; ``limit`` is at most 100. The listing has no
  "changed since" filter, so every sync reads it whole; a contact's ``tags`` is
  its whole tag set (tags removed in HighLevel are removed here), and an
  unchanged contact read again changes nothing.
- Attribution: ``attributionSource`` (how the contact first arrived) and
  ``lastAttributionSource`` (the latest conversion) carry ``url``,
  ``referrer``, ``utmSource``, ``utmMedium``, ``campaign`` (utm_campaign),
  ``utmContent``, ``utmTerm``, ``gclid``, ``fbclid`` (added to the landing URL when
  it lacks them, so the click-id rules name google or facebook when no UTM
  does). Like a shop's journey (shop_touches.py), each
  becomes a server-side page view of the contact, only when the pixel never
  saw them: the first at ``dateAdded``; the last, when it differs, at
  ``dateUpdated`` as first read, under an id made of its values, so a re-sync
  stores nothing twice and a new last attribution is a new touch.
- Opportunities, only with ``--opportunities-as-orders``
  (``GET /opportunities/search?location_id=…&status=won``, same cursor
  paging): a won opportunity is an order of its ``monetaryValue`` in the
  source's currency (``--currency``, default usd; opportunities carry none),
  at ``lastStatusChangeAt``, for its contact's email. The won list is read
  whole every sync and an opportunity no longer won is removed.

Limits (https://marketplace.gohighlevel.com/docs/oauth/Faqs, "API rate limits"):
100 requests per 10 seconds and 200,000 a day per location and app; we keep to
90 per 10 s, and a 429 waits the 10 s window, doubling.
"""

from __future__ import annotations

import hashlib
import json
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..context import SyncContext
from ..http import RateLimit
from ..records import email_of, iso_ts, orders
from .crm import Person, replace_tags, store_people
from .shop_touches import store_touches, visit_event
from .toolkit import link_pages, vendor_minor

API = "https://services.leadconnectorhq.com"
VERSION = "2021-07-28"
PAGE = 100
RATE = RateLimit(90, 10.0)
WINDOW = 10.0
CLICK_IDS = ("gclid", "fbclid")
UTM = (("source", "utmSource"), ("medium", "utmMedium"), ("name", "campaign"), ("content", "utmContent"),
       ("term", "utmTerm"))


def _next(response, body) -> str | None:
    return ((body.get("meta") or {}).get("nextPageUrl") or None) if isinstance(body, dict) else None


def _forbidden(response) -> str:
    return ("HighLevel refused the private integration token for " + response.request.url.path
            + ": it needs the scopes contacts.readonly (and opportunities.readonly for orders)")


def sync(ctx: SyncContext) -> None:
    location = str(ctx.source.config["location_id"]).strip()
    client = ctx.client(API, headers={"Authorization": f"Bearer {(ctx.secret or '').strip()}", "Version": VERSION,
                                      "Accept": "application/json"},
                        rate=RATE, window=WINDOW, auth_words="the private integration token", forbidden=_forbidden)
    run = {"done": [], **(ctx.cursor.get("run") or {})}
    ctx.cursor["run"] = run
    if "contacts" not in run["done"]:
        resumed = run.get("next")
        for page in link_pages(ctx, client, resumed or "/contacts/", "contacts", next_of=_next,
                               params=None if resumed else {"locationId": location, "limit": PAGE}):
            contacts = [c for c in page.items if c.get("id")]
            state = {**run, "next": page.next} if page.more else {"done": [*run["done"], "contacts"]}
            ctx.commit({"run": state}, lambda conn, contacts=contacts: _store_contacts(ctx, conn, contacts))
            ctx.count("contacts", None, contacts=len(contacts))
    if ctx.source.config.get("opportunities_as_orders"):
        _won(ctx, client, location)
    ctx.commit({})
    ctx.count("done", 1.0)


def _store_contacts(ctx: SyncContext, conn, contacts: list[dict]) -> None:
    store_people(ctx, conn, [Person(f"highlevel:{c['id']}", email_of(c.get("email")), c.get("firstName") or None,
                                    c.get("lastName") or None, iso_ts(c.get("dateAdded")),
                                    iso_ts(c.get("dateUpdated"))) for c in contacts])
    replace_tags(ctx, conn, {f"highlevel:{c['id']}": [(t, None) for t in c.get("tags") or [] if t]
                             for c in contacts})
    touches = sum(store_touches(conn, ctx.origin, email_of(c.get("email")), _visits(c)) for c in contacts)
    ctx.add_changed(events=touches)


def _visits(c: dict) -> list[dict]:
    email = email_of(c.get("email"))
    visits, first = [], c.get("attributionSource") or {}
    if _usable(first) and iso_ts(c.get("dateAdded")):
        visits.append(_visit(f"highlevel:{c['id']}:first", email, c["dateAdded"], first))
    last = c.get("lastAttributionSource") or {}
    if _usable(last) and _values(last) != _values(first) and iso_ts(c.get("dateUpdated")):
        digest = hashlib.sha1(json.dumps(_values(last)).encode()).hexdigest()[:12]
        visits.append(_visit(f"highlevel:{c['id']}:last:{digest}", email, c["dateUpdated"], last))
    return visits


def _values(a: dict) -> list:
    return [a.get(k) for k in ("url", "referrer", *(field for _, field in UTM), *CLICK_IDS)]


def _usable(a: dict) -> bool:
    return any(isinstance(v, str) and v.strip() for v in _values(a))


def _visit(message_id: str, email: str, when: str, a: dict) -> dict:
    return visit_event(message_id, email, when, _landing(a), a.get("referrer"),
                       {key: a.get(field) for key, field in UTM})


def _landing(a: dict) -> str | None:
    """The landing URL with the ad click id HighLevel kept beside it, when the URL lacks it."""
    url = a.get("url") if isinstance(a.get("url"), str) and a["url"].strip() else None
    if url is None:
        return None
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    query += [(k, a[k]) for k in CLICK_IDS if isinstance(a.get(k), str) and a[k] and k not in dict(query)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _won(ctx: SyncContext, client, location: str) -> None:
    """The won list read whole (a resumed run reads it again from its first page), then what left it goes."""
    if "won" in ctx.cursor["run"]["done"]:
        return
    currency, won = (ctx.source.config.get("currency") or "usd").lower(), set()
    for page in link_pages(ctx, client, "/opportunities/search", "opportunities", next_of=_next,
                           params={"location_id": location, "status": "won", "limit": PAGE}):
        rows = [_order(ctx, o, currency) for o in page.items if o.get("id") and o.get("status") == "won"]
        rows = [r for r in rows if r]
        won.update(r[1] for r in rows)

        def write(conn, rows=rows, last=not page.more):
            ctx.add_changed(orders=orders(conn, rows))
            if last:
                held = [i for (i,) in conn.execute("SELECT order_id FROM orders WHERE origin = ?", (ctx.origin,))]
                lost = [(ctx.origin, i) for i in held if i not in won]
                ctx.add_changed(orders=max(conn.executemany(
                    "DELETE FROM orders WHERE origin = ? AND order_id = ?", lost).rowcount, 0))

        run = dict(ctx.cursor["run"])
        if not page.more:
            run["done"] = [*run["done"], "won"]
        ctx.commit({"run": run}, write)
        ctx.count("won opportunities", None, orders=len(rows))


def _order(ctx: SyncContext, o: dict, currency: str) -> tuple | None:
    value = vendor_minor(o.get("monetaryValue"), currency, f"HighLevel opportunity {o['id']}")
    if value <= 0:
        return None
    when = iso_ts(o.get("lastStatusChangeAt") or o.get("updatedAt") or o.get("createdAt"))
    email = email_of((o.get("contact") or {}).get("email"))
    return (ctx.origin, str(o["id"]), email, None, value, currency, when, o.get("name") or None, "paid", None)
