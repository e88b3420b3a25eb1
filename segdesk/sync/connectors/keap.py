"""Keap (REST v1): contacts with their tags, and orders.

Auth and each credential kind's limits: keap_auth.py (API keys in
``X-Keap-API-Key``, OAuth tokens as Bearer, OAuth grants refreshed before they
expire). The limits are held client-side, and a 429 waits out the minute.

``/contacts`` pages with ``limit``/``offset`` and takes ``since`` (changed
since). ``/orders``' ``since`` reads the ORDER date, so a refund recorded
today on an old order is not "since" anything: orders are instead listed with
``order=update_date`` (newest change first) and read until they are older
than the last run. The cursor keeps the start of the last complete run minus a
margin as that threshold, and inside a run the stage and offset. Tag ids on
contacts (``optional_properties=tag_ids``) are named through ``/tags``. An
order is money received (``total_paid``) in the source's currency (Keap's v1
orders carry none; ``--currency``, default usd); its ``refund_total`` is one
refund row, replaced when it changes. Keap's v1 order has no processor
transaction id, so sync/reconcile.py matches it to the Stripe or PayPal charge
of the same purchase.

An order's product is what its items bought: the names of its product-like
items (the item's ``product.name``, else its own ``name``), listed in item
order (``Course; Workbook``), leaving out shipping, tax, discounts, finance
charges and tips (item types as the Keap SDK lists them:
https://github.com/infusionsoft/keap-sdk/blob/main/sdks/v2/javascript/docs/OrderItem.md,
compared without case); the order's ``title`` only when no item names one.
A workspace synced before products were read reads every order once more
(the cursor's ``products`` mark), so its old orders get their products too.
"""

from __future__ import annotations

from datetime import timedelta

from ...core.timeutil import parse_ts
from ..context import SyncContext
from ..records import email_of, iso_ts, orders, refunds
from .crm import Person, store_people, store_tags
from .keap_auth import credential, limits
from .toolkit import next_since, offset_pages, resume, vendor_minor

API = "https://api.infusionsoft.com/crm/rest/v1"
PAGE = 1000
WINDOW = 60.0
SKEW = timedelta(minutes=10)


def sync(ctx: SyncContext) -> None:
    auth, words = credential(ctx)
    client = ctx.client(API, headers={**auth, "Accept": "application/json"}, rate=limits(ctx.secret.strip()),
                        window=WINDOW, auth_words=words)
    resume(ctx, "since", stage="contacts", offset=0)
    names = _tag_names(ctx, client)
    since = ctx.cursor["run"]["since"]
    if ctx.cursor["run"]["stage"] == "contacts":
        _paged(ctx, client, "/contacts", "contacts", "orders",
               {"optional_properties": "tag_ids,email_addresses", "order": "id", **({"since": since} if since else {})},
               lambda conn, page: _store_contacts(ctx, conn, page, names))
    # Until a complete read has stored the orders' products, every order is read (not only changed ones).
    _paged(ctx, client, "/orders", "orders", None, {"order": "update_date"},
           lambda conn, page: _store_orders(ctx, conn, page), older=since if ctx.cursor.get("products") else None)


def _paged(ctx: SyncContext, client, path: str, key: str, next_stage: str | None, params: dict, handle,
           older: str | None = None) -> None:
    """Page a list; with ``older`` (a newest-change-first list) stop at the first record changed before it."""
    run = ctx.cursor["run"]
    for page in offset_pages(ctx, client, path, key, size=PAGE, params=params, offset=int(run.get("offset", 0)),
                             total=_count):
        more = page.more and not (older and any(_changed(o) and parse_ts(_changed(o)) < parse_ts(older)
                                                for o in page.items))
        if more:
            cursor = {**ctx.cursor, "run": {**run, "offset": page.next}}
        elif next_stage:
            cursor = {**ctx.cursor, "run": {**run, "stage": next_stage, "offset": 0}}
        else:
            cursor = {"since": next_since(run, SKEW), "products": 1}
        ctx.commit(cursor, lambda conn: handle(conn, page.items))
        ctx.count(key, None if more else (0.5 if next_stage else 1.0), **{key: len(page.items)})
        if not more:
            return


def _count(body: dict) -> int | None:
    """Keap's ``count`` when it sends one; else a full page means there may be more."""
    count = body.get("count")
    return int(count) if isinstance(count, int) else None


def _changed(order: dict) -> str | None:
    return iso_ts(order.get("modification_date") or order.get("update_date"))


def _tag_names(ctx: SyncContext, client) -> dict[int, str]:
    # No count trusted here: a short page is the end.
    return {t["id"]: t.get("name") for page in offset_pages(ctx, client, "/tags", "tags", size=PAGE)
            for t in page.items if t.get("id") is not None}


def _store_contacts(ctx: SyncContext, conn, page: list[dict], names: dict[int, str]) -> None:
    people, tag_rows = [], []
    for c in page:
        if c.get("id") is None:
            continue
        addresses = c.get("email_addresses") or []
        primary = sorted(addresses, key=lambda a: a.get("field") != "EMAIL1")
        key = f"keap:{c['id']}"
        people.append(Person(key, email_of(*(a.get("email") for a in primary)), c.get("given_name") or None,
                             c.get("family_name") or None, iso_ts(c.get("date_created")), iso_ts(c.get("last_updated"))))
        tag_rows += [(key, names.get(t) or str(t), None) for t in c.get("tag_ids") or []]
    store_people(ctx, conn, people)
    store_tags(ctx, conn, tag_rows)


def _store_orders(ctx: SyncContext, conn, page: list[dict]) -> None:
    currency = (ctx.source.config.get("currency") or "usd").lower()
    rows, refund_rows, people = [], [], []
    for o in page:
        contact = o.get("contact") or {}
        email = email_of(contact.get("email"))
        what = f"Keap order {o.get('id')}"
        paid = vendor_minor(o.get("total_paid"), currency, what)
        refunded = vendor_minor(o.get("refund_total"), currency, what)
        if paid <= 0 or o.get("id") is None:
            continue
        oid = str(o["id"])
        created = iso_ts(o.get("order_date") or o.get("creation_date"))
        product = products_of(o.get("order_items") or []) or (o.get("title") or "").strip() or None
        rows.append((ctx.origin, oid, email, None, paid, currency, created, product, "paid", None))
        if refunded:
            refund_rows.append((ctx.origin, f"{oid}#refund", oid, min(refunded, paid), currency, created))
        if contact.get("id") is not None:
            people.append(Person(f"keap:{contact['id']}", email, contact.get("first_name") or None,
                                 contact.get("last_name") or None, None, None))
    store_people(ctx, conn, people)
    changed = orders(conn, rows)
    # The upsert keeps a product once set (a processor only fills gaps); Keap's items are the authority.
    changed += conn.executemany("UPDATE orders SET product = ? WHERE origin = ? AND order_id = ? AND product IS NOT ?",
                                [(r[7], r[0], r[1], r[7]) for r in rows if r[7]]).rowcount
    ctx.add_changed(orders=changed, refunds=refunds(conn, refund_rows))


NOT_BOUGHT = ("shipping", "tax", "discount", "special", "finance_charge", "tip")


def products_of(items: list[dict]) -> str | None:
    """The names of an order's product-like items, listed once each in item order."""
    names = []
    for item in items:
        if not isinstance(item, dict) or str(item.get("type") or "").lower().startswith(NOT_BOUGHT):
            continue
        name = str((item.get("product") or {}).get("name") or item.get("name") or "").strip()
        if name and name not in names:
            names.append(name)
    return "; ".join(names)[:500] or None
