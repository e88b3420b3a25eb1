"""Klaviyo (JSON:API, revision 2024-10-15): profiles with their lists, clicks as touches, orders.

Every request sends ``Authorization: Klaviyo-API-Key pk_…`` and the pinned
``revision`` header; every list pages by cursor, following ``links.next``
(a whole URL carrying ``page[cursor]``) until it is null.

- Profiles (``/api/profiles/``) incrementally on ``greater-than(updated,…)``
  sorted by ``updated``. Lists are tags: each list's profiles
  (``/api/lists/{id}/profiles/``) are read whole every sync and profiles no
  longer on it lose the tag (Klaviyo has no feed of removals).
- Events (``/api/events/``) of the metrics "Clicked Email", "Placed Order" and
  "Refunded Order", filtered ``equals(metric_id,…)`` and
  ``greater-than(datetime,…)``, with the profile's email included: a click is a
  touch (core/email_clicks.py: source ``klaviyo``, medium ``email``, campaign
  the event's "Campaign Name", else its "Subject"); an order is money of
  ``$value`` under its ``OrderId``, a refund returns ``$value`` of it. Klaviyo
  mostly relays a shop's or processor's orders, so these are matched to the
  payment's order (sync/reconcile.py) or share its id, and count once (the
  payment source first, core/orders.py): they add revenue only where no
  payment source has the purchase.

Limits are per account: Get Profiles 75/s and 700/min, Get Events 350/s and
3500/min; we keep to 10/s and 600/min. Responses carry RateLimit-Limit,
-Remaining and -Reset (seconds), honoured when Remaining reaches 0, and a 429
carries Retry-After.
"""

from __future__ import annotations

from datetime import timedelta

from ...core.email_clicks import store_clicks
from ...core.money import MoneyError, to_minor
from ...core.timeutil import parse_ts
from ..context import SyncContext
from ..http import ApiError, RateLimit
from ..records import drop_tags, email_of, iso_ts, orders, refunds
from .crm import Person, store_people, store_tags
from .toolkit import link_pages, next_since, resume

API = "https://a.klaviyo.com"
REVISION = "2024-10-15"
PAGE = 100
RATE = (RateLimit(10, 1.0), RateLimit(600, 60.0))
WINDOW = 60.0
OVERLAP = timedelta(minutes=10)
PLATFORM = "klaviyo"
CLICKED, PLACED, REFUNDED = "Clicked Email", "Placed Order", "Refunded Order"


def _next(response, body) -> str | None:
    return (body.get("links") or {}).get("next") if isinstance(body, dict) else None


def _time(ts: str) -> str:
    return parse_ts(ts).strftime("%Y-%m-%dT%H:%M:%SZ")


def sync(ctx: SyncContext) -> None:
    client = ctx.client(API, headers={"Authorization": f"Klaviyo-API-Key {(ctx.secret or '').strip()}",
                                      "revision": REVISION, "Accept": "application/vnd.api+json"},
                        rate=RATE, window=WINDOW, auth_words="the private API key")
    run = resume(ctx, "since", done=[])
    since = run["since"]
    _read(ctx, client, "profiles", "/api/profiles/",
          {"page[size]": PAGE, "sort": "updated", **({"filter": f"greater-than(updated,{_time(since)})"} if since else {})},
          lambda conn, page: store_people(ctx, conn, [_person(p) for p in page.items if p.get("id")]))
    for lst in [x for page in link_pages(ctx, client, "/api/lists/", "data", next_of=_next) for x in page.items]:
        _list(ctx, client, lst)
    metrics = {}
    for page in link_pages(ctx, client, "/api/metrics/", "data", next_of=_next):
        for m in page.items:
            metrics.setdefault((m.get("attributes") or {}).get("name"), []).append(m["id"])
    for name in (CLICKED, PLACED, REFUNDED):
        for metric in metrics.get(name, []):
            window = f",greater-than(datetime,{_time(since)})" if since else ""
            _read(ctx, client, f"metric:{metric}", "/api/events/",
                  {"filter": f'equals(metric_id,"{metric}"){window}', "sort": "datetime",
                   "include": "profile", "fields[profile]": "email"},
                  lambda conn, page, name=name: _store_events(ctx, conn, name, page))
    ctx.commit({"since": next_since(ctx.cursor["run"], OVERLAP)})
    ctx.count("done", 1.0)


def _read(ctx: SyncContext, client, key: str, path: str, params: dict, handle) -> None:
    """One list to its end, each page committed with where the next starts, so a resumed run goes on."""
    run = ctx.cursor["run"]
    if key in run["done"]:
        return
    resumed = run.get("next") if run.get("at") == key else None
    for page in link_pages(ctx, client, resumed or path, "data", params=None if resumed else params, next_of=_next):
        state = {**ctx.cursor["run"], "at": key, "next": page.next}
        if not page.more:
            state["done"] = [*state["done"], key]
        ctx.commit({**ctx.cursor, "run": state}, lambda conn, page=page: handle(conn, page))
        ctx.count(key, None, **{"profiles" if key == "profiles" else "events": len(page.items)})


def _person(p: dict) -> Person:
    a = p.get("attributes") or {}
    return Person(f"klaviyo:{p['id']}", email_of(a.get("email")), a.get("first_name") or None,
                  a.get("last_name") or None, iso_ts(a.get("created")), iso_ts(a.get("updated")))


def _list(ctx: SyncContext, client, lst: dict) -> None:
    """A list's members read whole (a resumed run reads it again), then those who left lose the tag."""
    key = f"list:{lst['id']}"
    if key in ctx.cursor["run"]["done"]:
        return
    name, on_list = (lst.get("attributes") or {}).get("name") or lst["id"], set()
    for page in link_pages(ctx, client, f"/api/lists/{lst['id']}/profiles/", "data", params={"page[size]": PAGE},
                           next_of=_next):
        members = [p for p in page.items if p.get("id")]
        on_list.update(f"cid:klaviyo:{p['id']}" for p in members)

        def write(conn, members=members, last=not page.more):
            store_people(ctx, conn, [_person(p) for p in members])
            store_tags(ctx, conn, [(f"klaviyo:{p['id']}", name, None) for p in members])
            if last:
                ctx.add_changed(tags=drop_tags(conn, ctx.origin, name, on_list))

        state = dict(ctx.cursor["run"])
        if not page.more:
            state["done"] = [*state["done"], key]
        ctx.commit({**ctx.cursor, "run": state}, write)
        ctx.count(f"list {name}", None, listed=len(members))


def _store_events(ctx: SyncContext, conn, name: str, page) -> None:
    emails = {(i.get("type"), i.get("id")): email_of((i.get("attributes") or {}).get("email"))
              for i in page.body.get("included") or []}
    clicks, order_rows, refund_rows = [], [], []
    for e in page.items:
        a = e.get("attributes") or {}
        props = a.get("event_properties") or {}
        who = ((e.get("relationships") or {}).get("profile") or {}).get("data") or {}
        email, when = emails.get(("profile", who.get("id"))), iso_ts(a.get("datetime"))
        if not email or not when or not e.get("id"):
            continue
        if name == CLICKED:
            clicks.append((ctx.origin, e["id"], email, when, PLATFORM,
                           props.get("Campaign Name") or props.get("Subject"), props.get("URL")))
            continue
        currency = str(props.get("$currency_code") or ctx.source.config.get("currency") or "usd").lower()
        try:
            value = to_minor(str(props.get("$value") or 0), currency)
        except MoneyError as exc:
            raise ApiError(f"Klaviyo event {e['id']}: {exc}") from None
        order_id = str(props.get("OrderId") or props.get("$event_id") or e["id"])
        if value <= 0:
            continue
        if name == PLACED:
            items = props.get("Items") or props.get("ItemNames") or []
            product = next((i if isinstance(i, str) else i.get("ProductName") for i in items
                            if isinstance(i, (str, dict))), None)
            order_rows.append((ctx.origin, order_id, email, None, value, currency, when, product, "paid", None))
        else:
            refund_rows.append((ctx.origin, e["id"], order_id, value, currency, when))
    ctx.add_changed(email_clicks=store_clicks(conn, clicks), orders=orders(conn, order_rows),
                    refunds=refunds(conn, refund_rows))
