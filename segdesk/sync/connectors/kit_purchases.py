"""Kit purchases as orders (``GET /v4/purchases``, https://developers.kit.com/api-reference/purchases/list-purchases).

A purchase (from Kit Commerce or a store recorded through the API) has
``transaction_id``, ``email_address``, ``total`` in major units of
``currency``, ``transaction_time``, ``status`` and its ``products``; only
``paid`` ones are money received. The list has no date filter and comes
newest first (the documented example lists ids 3, 2, 1; its cursors encode
the last id), so a sync reads from the newest until it reaches a purchase it
already has (an id at or under the newest of the last complete run) and
stops after that page. A purchase changed later (its status) is not read
again: the list offers no way to find it. The order is ``kit-purchase:<id>``; its product is
the products' names, listed (``Course; Workbook``). A purchase paid through
Stripe or PayPal is matched to that charge by core/reconcile.py (same
person, amount and currency, within 36 hours) and counts once.
"""

from __future__ import annotations

from ..context import SyncContext
from ..records import email_of, iso_ts, orders
from .toolkit import vendor_minor

PREFIX = "kit-purchase:"


def sync_purchases(ctx: SyncContext, client, pages) -> int:
    """Read purchases new since the last run; returns the newest id now held (kept as ``purchases_top``)."""
    state = ctx.cursor["run"].get("purchases") or {"after": None, "top": int(ctx.cursor.get("purchases_top", 0))}
    known = int(ctx.cursor.get("purchases_top", 0))
    if state.get("done"):
        return state["top"]
    for page, after in pages(ctx, client, "/v4/purchases", {}, "purchases", state["after"]):
        ids = [int(p["id"]) for p in page if p.get("id") is not None]
        rows = [row for row in (_row(ctx, p) for p in page) if row]
        done = after is None or any(i <= known for i in ids)
        state = {"after": after, "top": max([state["top"], *ids]), "done": done}
        ctx.commit({**ctx.cursor, "run": {**ctx.cursor["run"], "purchases": state}},
                   lambda conn, rows=rows: ctx.add_changed(orders=orders(conn, rows)))
        ctx.count("purchases", None, purchases=len(page))
        if done:
            break
    return state["top"]


def _row(ctx: SyncContext, p: dict) -> tuple | None:
    if p.get("id") is None or str(p.get("status") or "").lower() != "paid":
        return None
    currency = str(p.get("currency") or "").strip().lower()
    amount = vendor_minor(p.get("total"), currency, f"Kit purchase {p['id']}")
    if amount <= 0:
        return None
    names = []
    for item in p.get("products") or []:
        name = (item.get("name") or "").strip() if isinstance(item, dict) else ""
        if name and name not in names:
            names.append(name)
    return (ctx.origin, f"{PREFIX}{p['id']}", email_of(p.get("email_address")), None, amount, currency,
            iso_ts(p.get("transaction_time")), "; ".join(names)[:500] or None, "paid", None)
