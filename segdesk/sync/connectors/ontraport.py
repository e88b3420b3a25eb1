"""Ontraport (REST API v1): contacts with their tags, and transactions as orders and refunds.

Every request sends the ``Api-Appid`` and ``Api-Key`` headers
(https://api.ontraport.com/doc/#authentication). Collections page with
``start`` and ``range``, at most 50 a page (a larger range is silently cut to
50, so a short page, not a total, ends a list); answers are
``{"code": 0, "data": [...], "account_id": ...}`` with numbers and Unix times as text.

- Contacts (``/Contacts``) incrementally: ``condition`` ``dlm`` (date last
  modified, Unix seconds) after the last complete run's start minus 10 minutes,
  ``sort=dlm&sortDir=asc`` so a contact changed mid-run moves to the end instead
  of shifting unread pages. ``contact_cat`` is the contact's whole tag set as
  ``*/*1*/*3*/*`` (tag ids), named through ``/Tags`` (``tag_id``, ``tag_name``):
  a tag removed in Ontraport is removed here (changing tags changes ``dlm``).
- Transactions (``/Transactions``, object 46) are read whole every sync, by id:
  the object has no modification date, and a refund changes the status of an
  old one. Status (Ontraport's codes): 1 paid, 2 refunded, 3 partially
  refunded are money received, an order of ``total`` in the source's currency
  (``--currency``, default usd; transactions carry none) under the order id
  ``ontraport:<transaction id>``: Ontraport numbers transactions 1, 2, 3…, and a
  bare number would be taken for another route's order of the same number
  (core/orders.py groups orders by id); 2 adds a refund of the whole total. 0 unpaid, 4 void,
  5 declined, 6 written off and 7 pending are not revenue, and one stored
  before is removed. A partial refund's amount is not on the transaction, so a
  partially refunded order counts whole (docs/connectors.md). The buyer is the
  contact (``contact_id``), whose email the contacts stage stored.

Limits: 180 requests per rolling minute per account; every answer carries
``X-Rate-Limit-Limit``, ``-Remaining`` and ``-Reset`` (seconds), and over the
limit a 429 without ``Retry-After`` (https://api.ontraport.com/doc/#rate-limiting).
We keep to 170 a minute, pause for Reset when Remaining is 0, and a 429 waits the minute.
"""

from __future__ import annotations

import json
from datetime import timedelta

from ...core.timeutil import parse_ts
from ..context import SyncContext
from ..http import RateLimit
from ..records import email_of, epoch_ts, orders, refunds
from .crm import Person, replace_tags, store_people
from .toolkit import next_since, offset_pages, resume, vendor_minor

API = "https://api.ontraport.com/1"
PAGE = 50
RATE = RateLimit(170, 60.0)
WINDOW = 60.0
OVERLAP = timedelta(minutes=10)
CONTACT_FIELDS = "id,firstname,lastname,email,date,dlm,contact_cat"
PAID, REFUNDED, PARTLY_REFUNDED = "1", "2", "3"


def _pages(ctx: SyncContext, client, path: str, params: dict, offset: int = 0):
    return offset_pages(ctx, client, path, "data", size=PAGE, size_param="range", offset_param="start",
                        params=params, offset=offset)


def sync(ctx: SyncContext) -> None:
    client = ctx.client(API, headers={"Api-Appid": str(ctx.source.config["app_id"]).strip(),
                                      "Api-Key": (ctx.secret or "").strip(), "Accept": "application/json"},
                        rate=RATE, window=WINDOW, auth_words="the App ID and API key")
    run = resume(ctx, "since", stage="contacts", offset=0)
    names = {str(t.get("tag_id")): t.get("tag_name") for page in _pages(ctx, client, "/Tags", {})
             for t in page.items if t.get("tag_id") is not None}
    if run["stage"] == "contacts":
        condition = ([{"field": {"field": "dlm"}, "op": ">",
                       "value": {"value": int(parse_ts(run["since"]).timestamp())}}] if run["since"] else None)
        params = {"sort": "dlm", "sortDir": "asc", "listFields": CONTACT_FIELDS,
                  **({"condition": json.dumps(condition)} if condition else {})}
        for page in _pages(ctx, client, "/Contacts", params, int(run["offset"])):
            contacts = [c for c in page.items if c.get("id") is not None]
            state = {**run, "offset": page.next} if page.more else {**run, "stage": "transactions", "offset": 0}
            ctx.commit({**ctx.cursor, "run": state}, lambda conn, contacts=contacts: _store_contacts(ctx, conn,
                                                                                                   contacts, names))
            ctx.count("contacts", None, contacts=len(contacts))
    run = ctx.cursor["run"]
    for page in _pages(ctx, client, "/Transactions", {"sort": "id", "sortDir": "asc"}, int(run["offset"])):
        state = {**run, "offset": page.next}
        ctx.commit({**ctx.cursor, "run": state}, lambda conn, items=page.items: _store_transactions(ctx, conn, items))
        ctx.count("transactions", None, transactions=len(page.items))
    ctx.commit({"since": next_since(ctx.cursor["run"], OVERLAP)})
    ctx.count("done", 1.0)


def _store_contacts(ctx: SyncContext, conn, contacts: list[dict], names: dict[str, str]) -> None:
    store_people(ctx, conn, [Person(f"ontraport:{c['id']}", email_of(c.get("email")), c.get("firstname") or None,
                                    c.get("lastname") or None, epoch_ts(c.get("date") or None),
                                    epoch_ts(c.get("dlm") or None)) for c in contacts])
    replace_tags(ctx, conn, {f"ontraport:{c['id']}": [(names.get(t) or t, None) for t in _tag_ids(c)]
                             for c in contacts})


def _tag_ids(contact: dict) -> list[str]:
    """``contact_cat`` is ``*/*``-delimited tag ids (``*/*1*/*3*/*``); empty when untagged."""
    return [t for t in str(contact.get("contact_cat") or "").split("*/*") if t.strip()]


def _store_transactions(ctx: SyncContext, conn, items: list[dict]) -> None:
    currency = (ctx.source.config.get("currency") or "usd").lower()
    rows, refund_rows, gone = [], [], []
    for t in items:
        if t.get("id") is None:
            continue
        tid, status = f"ontraport:{t['id']}", str(t.get("status"))
        if status not in (PAID, REFUNDED, PARTLY_REFUNDED):
            gone.append((ctx.origin, tid))
            continue
        total = vendor_minor(t.get("total"), currency, f"Ontraport transaction {tid}")
        if total <= 0:
            continue
        created = epoch_ts(t.get("date") or None)
        row = conn.execute("SELECT email FROM contact_keys WHERE key = ? AND origin = ?",
                           (f"ontraport:{t.get('contact_id')}", ctx.origin)).fetchone()
        rows.append((ctx.origin, tid, row[0] if row else None, None, total, currency, created, _product(t), "paid",
                     None))
        if status == REFUNDED:
            refund_rows.append((ctx.origin, f"{tid}#refund", tid, total, currency, created))
    removed = conn.executemany("DELETE FROM orders WHERE origin = ? AND order_id = ?", gone).rowcount
    conn.executemany("DELETE FROM refunds WHERE origin = ? AND order_id = ?", gone)
    ctx.add_changed(orders=orders(conn, rows) + max(removed, 0), refunds=refunds(conn, refund_rows))


def _product(t: dict) -> str | None:
    """The first product's name in ``offer_data`` (the offer as JSON text)."""
    try:
        offer = json.loads(t.get("offer_data") or "{}")
    except (TypeError, ValueError):
        return None
    products = offer.get("products") if isinstance(offer, dict) else None
    return next((p.get("name") for p in products or [] if isinstance(p, dict) and p.get("name")), None)
