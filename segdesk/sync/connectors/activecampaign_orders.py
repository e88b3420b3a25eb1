"""ActiveCampaign money: its e-commerce orders always, won deals when the marketer asks (``--deals-as-orders``).

- **E-commerce orders** (``GET /api/3/ecomOrders``,
  https://developers.activecampaign.com/reference/list-all-orders), brought by
  a connected shop: ``totalPrice`` is in the currency's smallest unit (cents;
  yen for JPY), ``currency`` its code. The buyer is the order's e-commerce
  customer (``GET /api/3/ecomCustomers/{customerid}``, whose ``email`` ties
  the order to the contact), else the order's own ``email``. An order
  without ``externalid`` is an abandoned cart, not a purchase. Orders are
  paged with ``orders[id]=ASC`` (the documented ``orders[field]`` ordering),
  so new ones come at the end: the cursor keeps how many were read and the
  next sync reads on from a page before there; an order changed after that
  (or a cart completed much later) is not read again. The order is
  ``ac-order:<id>``.
- **Won deals** (``GET /api/3/deals``): every deal changed since the last
  sync (``filters[updated_after]``, the account's wall-clock time like the
  contacts' filter), so a won deal reopened or lost stops counting. Won is
  ``status`` ``1``; ``value`` is in cents of the deal's ``currency``; the buyer
  is the deal's ``contact``. ActiveCampaign records no won date, so the
  order's time is the deal's ``mdate`` when it is first seen won, kept on
  later edits. The order is ``ac-deal:<id>``. Off by default; turning it off
  removes the deal orders.

Both are usually money a processor also reports: core/reconcile.py matches
them to that charge (same person, amount and currency, within 36 hours), so
each purchase counts once.
"""

from __future__ import annotations

from datetime import timedelta

from ...core.timeutil import now_ts
from ..context import SyncContext
from ..records import email_of, iso_ts, orders
from .crm import buyer, drop_orders, forget_orders
from .toolkit import next_since, offset_pages

PAGE = 100
OVERLAP = PAGE  # orders re-read from a page back, so one that arrived out of id order is not missed
DEAL, ORDER = "ac-deal:", "ac-order:"
WON = "1"
SKEW = timedelta(minutes=10)


def _total(body: dict) -> int:
    return int((body.get("meta") or {}).get("total") or 0)


# -- e-commerce orders ------------------------------------------------------------------------------------


def sync_ecom(ctx: SyncContext, client) -> None:
    start = max(0, int(ctx.cursor.get("ecom_read", 0)) - OVERLAP)
    customers: dict[str, str | None] = {}
    for page in offset_pages(ctx, client, "/api/3/ecomOrders", "ecomOrders", size=PAGE,
                             params={"orders[id]": "ASC"}, offset=start, total=_total):
        for o in page.items:  # the buyers this page names, fetched before the write (no network on the writer)
            cid = str(o.get("customerid") or "")
            if cid and cid != "0" and cid not in customers:
                body = client.get_json(f"/api/3/ecomCustomers/{cid}")
                customers[cid] = email_of(((body or {}).get("ecomCustomer") or {}).get("email"))
        rows = [_order_row(ctx, o, customers) for o in page.items]
        rows = [r for r in rows if r]
        ctx.commit({**ctx.cursor, "ecom_read": page.next},
                   lambda conn, rows=rows: ctx.add_changed(orders=orders(conn, rows)))
        ctx.count("e-commerce orders", None, ecom_orders=len(page.items))


def _order_row(ctx: SyncContext, o: dict, customers: dict) -> tuple | None:
    if o.get("id") is None or not o.get("externalid"):
        return None  # an abandoned cart
    try:
        amount = int(str(o.get("totalPrice") or 0))
    except ValueError:
        return None
    currency = str(o.get("currency") or "").strip().lower()
    if amount <= 0 or len(currency) != 3:
        return None
    email = customers.get(str(o.get("customerid") or "")) or email_of(o.get("email"))
    created = iso_ts(o.get("orderDate") or o.get("externalCreatedDate") or o.get("createdDate"))
    return (ctx.origin, f"{ORDER}{o['id']}", email, None, amount, currency, created, None, "paid", None)


# -- won deals ----------------------------------------------------------------------------------------------


def sync_deals(ctx: SyncContext, client, updated_pages) -> None:
    """``updated_pages``: activecampaign.py's pages of a list changed since a run's ``since``."""
    run = ctx.cursor.get("deals_run") or {"started": now_ts(), "since": ctx.cursor.get("deals_after"), "offset": 0}
    for page in updated_pages(ctx, client, "/api/3/deals", "deals", run):
        deals = [d for d in page.items if d.get("id") is not None]
        cursor = {k: v for k, v in ctx.cursor.items() if k != "deals_run"}
        if page.more:
            cursor["deals_run"] = {**run, "offset": page.next}
        else:
            cursor["deals_after"] = next_since(run, SKEW)
        ctx.commit(cursor, lambda conn, deals=deals: _store_deals(ctx, conn, deals))
        ctx.count("deals", None, deals=len(deals))
        if not page.more:
            return


def forget_deals(ctx: SyncContext):
    return forget_orders(ctx, DEAL)


def _store_deals(ctx: SyncContext, conn, deals: list[dict]) -> None:
    rows, gone = [], []
    for d in deals:
        order_id = f"{DEAL}{d['id']}"
        try:
            amount = int(str(d.get("value") or 0))
        except ValueError:
            amount = 0
        currency = str(d.get("currency") or "").strip().lower()
        email, erased = buyer(conn, ctx.origin, f"ac:{d['contact']}") if d.get("contact") else (None, False)
        if str(d.get("status")) != WON or amount <= 0 or len(currency) != 3 or erased:
            gone.append(order_id)
            continue
        seen = conn.execute("SELECT created_at FROM orders WHERE origin = ? AND order_id = ?",
                            (ctx.origin, order_id)).fetchone()
        when = seen[0] if seen else iso_ts(d.get("mdate") or d.get("cdate"))
        rows.append((ctx.origin, order_id, email, None, amount, currency, when, None, "paid", None))
    ctx.add_changed(orders=orders(conn, rows) + drop_orders(conn, ctx.origin, gone))
