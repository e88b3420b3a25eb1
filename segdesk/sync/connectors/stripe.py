"""Stripe: customers, charges, refunds, invoices and subscriptions.

Charges, not payment intents, become orders: a charge is the money that
actually moved (one per successful attempt), carries the refund total, the
billing and receipt emails and its payment intent, and exists for legacy
integrations that never used payment intents. Its dedupe key is the payment
intent id (else the charge id), the id a CRM that charged through Stripe
would record.

Lists are newest first with ``starting_after`` paging and ``created[gte]``
increments: the cursor keeps, per resource, the newest ``created`` seen; the
next sync asks from that second again (overlap) and upserts by id. Inside a
run the cursor also keeps ``starting_after``, so a resumed run continues the
same listing where it stopped. A refund made after its charge is a new refund
object (with the old charge id), which the refunds listing picks up.

Charges still pending (bank debits, uncaptured authorisations) are not
revenue yet; their ids wait in the cursor and are fetched again each sync
until they succeed or fail. Subscriptions change status without a new
``created``, so they are listed whole each sync (``status=all``).
"""

from __future__ import annotations

from ..context import SyncContext
from ..http import RateLimit
from ..records import contacts, email_of, epoch_ts, keys, orders, refunds, split_name, subscriptions

API = "https://api.stripe.com"
PAGE = 100
MAX_PENDING = 500
# Stripe allows 100 read requests/s in live mode and 25 in test mode; stay under both.
LIVE_RATE, TEST_RATE = RateLimit(80, 1.0), RateLimit(20, 1.0)
STAGES = (("customers", 0.1), ("charges", 0.55), ("refunds", 0.75), ("invoices", 0.85))


def sync(ctx: SyncContext) -> None:
    key = ctx.secret
    rate = TEST_RATE if "_test_" in key else LIVE_RATE
    client = ctx.client(API, headers={"Authorization": f"Bearer {key}"}, rate=rate)
    handlers = {"customers": _customers, "charges": _charges, "refunds": _refunds, "invoices": _invoices}
    for resource, fraction in STAGES:
        _incremental(ctx, client, resource, handlers[resource], fraction)
    _recheck_pending(ctx, client)
    _subscriptions(ctx, client)


def _incremental(ctx: SyncContext, client, resource: str, handle, fraction: float) -> None:
    run = ctx.cursor.get("run") or {}
    if run.get("resource") == resource:
        gte, after, top = run.get("gte"), run.get("after"), run.get("top")
    else:
        gte, after = (ctx.cursor.get(resource) or {}).get("gte"), None
        top = gte
    while True:
        ctx.check()
        params = {"limit": PAGE}
        if gte is not None:
            params["created[gte]"] = gte
        if after:
            params["starting_after"] = after
        body = client.get_json(f"/v1/{resource}", params=params)
        data = [o for o in body.get("data") or [] if isinstance(o, dict) and o.get("id")]
        if data:
            newest = max(int(o.get("created") or 0) for o in data)
            top = newest if top is None else max(top, newest)
            after = data[-1]["id"]
        more = bool(body.get("has_more")) and bool(data)
        cursor = {k: v for k, v in ctx.cursor.items() if k != "run"}
        if more:
            cursor["run"] = {"resource": resource, "gte": gte, "after": after, "top": top}
        else:
            cursor[resource] = {"gte": top}
        if resource == "charges":
            cursor["pending"] = _still_pending(ctx, cursor.get("pending") or [], data)
        ctx.commit(cursor, lambda conn: handle(ctx, conn, data))
        ctx.count(f"{resource}", fraction if not more else None, **{resource: len(data)})
        if not more:
            return


def _customers(ctx, conn, data) -> None:
    people, ids = [], []
    for c in data:
        email = email_of(c.get("email"))
        if email:
            first, last = split_name(c.get("name"))
            people.append((email, first, last, None))
        ids.append((f"stripe:{c['id']}", "customer", email, ctx.origin, epoch_ts(c.get("created"))))
    ctx.add_changed(contacts=contacts(conn, people, authoritative=False), customer_ids=keys(conn, ids))


def order_row(ctx, c: dict) -> tuple | None:
    """A charge as an orders row; None while it is not (yet) money received."""
    if c.get("status") != "succeeded" or c.get("captured") is False:
        return None
    amount = c.get("amount_captured") or c.get("amount")
    billing = c.get("billing_details") or {}
    customer = c.get("customer")
    if isinstance(customer, dict):
        customer = customer.get("id")
    return (
        ctx.origin, c["id"], email_of(billing.get("email"), c.get("receipt_email")),
        f"stripe:{customer}" if customer else None, int(amount), str(c.get("currency", "")).lower(),
        epoch_ts(c.get("created")), c.get("description") or None, "paid",
        _id(c.get("payment_intent")) or c["id"],
    )


def _still_pending(ctx, pending: list[str], data: list[dict]) -> list[str]:
    """The pending-charge list after this page: settled charges leave, new pending ones join."""
    ids = dict.fromkeys(pending)
    for c in data:
        if order_row(ctx, c) is not None:
            ids.pop(c["id"], None)
        elif c.get("status") == "pending" or (c.get("status") == "succeeded" and not c.get("captured")):
            ids[c["id"]] = None
    return list(ids)[-MAX_PENDING:]


def _charges(ctx, conn, data) -> None:
    rows = [row for row in (order_row(ctx, c) for c in data) if row is not None]
    # Refunds embedded in the charge (older API versions) are the same objects the refunds list gives.
    embedded = [r for c in data for r in ((c.get("refunds") or {}).get("data") or []) if isinstance(r, dict)]
    ctx.add_changed(orders=orders(conn, rows))
    if embedded:
        _refunds(ctx, conn, embedded)


def _refunds(ctx, conn, data) -> None:
    rows = [
        (ctx.origin, r["id"], _id(r.get("charge")), int(r.get("amount") or 0), str(r.get("currency", "")).lower(),
         epoch_ts(r.get("created")))
        for r in data
        if r.get("status") in ("succeeded", "pending") and _id(r.get("charge"))
    ]
    ctx.add_changed(refunds=refunds(conn, rows))


def _invoices(ctx, conn, data) -> None:
    """Invoices name what was bought and may know the customer's email when the customer record does not."""
    changed = 0
    for inv in data:
        if inv.get("customer") and email_of(inv.get("customer_email")):
            changed += conn.execute(
                "UPDATE contact_keys SET email = ? WHERE key = ? AND origin = ? AND email IS NULL",
                (email_of(inv["customer_email"]), f"stripe:{_id(inv['customer'])}", ctx.origin)).rowcount
        if inv.get("status") != "paid":
            continue
        lines = (inv.get("lines") or {}).get("data") or []
        product = next((ln.get("description") for ln in lines if ln.get("description")), None)
        if not product:
            continue
        charges = {_id(inv.get("charge"))}
        intents = {_id(inv.get("payment_intent"))}
        for p in (inv.get("payments") or {}).get("data") or []:
            payment = p.get("payment") or {}
            charges.add(_id(payment.get("charge")))
            intents.add(_id(payment.get("payment_intent")))
        for charge in charges - {None}:
            changed += conn.execute("UPDATE orders SET product = ? WHERE origin = ? AND order_id = ? "
                                    "AND product IS NOT ?", (product, ctx.origin, charge, product)).rowcount
        for intent in intents - {None}:
            changed += conn.execute("UPDATE orders SET product = ? WHERE origin = ? AND dedupe_key = ? "
                                    "AND product IS NOT ?", (product, ctx.origin, intent, product)).rowcount
    ctx.add_changed(invoice_details=changed)


def _recheck_pending(ctx: SyncContext, client) -> None:
    for charge_id in list(ctx.cursor.get("pending") or []):
        ctx.check()
        charge = client.get_json(f"/v1/charges/{charge_id}")
        row = order_row(ctx, charge)
        settled = (row is not None or charge.get("refunded")  # an expired authorisation ends refunded
                   or charge.get("status") not in ("pending", "succeeded"))
        cursor = dict(ctx.cursor)
        if settled:
            cursor["pending"] = [p for p in cursor.get("pending", []) if p != charge_id]
        ctx.commit(cursor, lambda conn: ctx.add_changed(orders=orders(conn, [row] if row else [])))


def _subscriptions(ctx: SyncContext, client) -> None:
    run = ctx.cursor.get("run") or {}
    after = run.get("after") if run.get("resource") == "subscriptions" else None
    while True:
        ctx.check()
        params = {"limit": PAGE, "status": "all"}
        if after:
            params["starting_after"] = after
        body = client.get_json("/v1/subscriptions", params=params)
        data = [s for s in body.get("data") or [] if isinstance(s, dict) and s.get("id")]
        more = bool(body.get("has_more")) and bool(data)
        cursor = {k: v for k, v in ctx.cursor.items() if k != "run"}
        if more:
            after = data[-1]["id"]
            cursor["run"] = {"resource": "subscriptions", "after": after}
        rows = [_subscription_row(ctx, s) for s in data]
        ctx.commit(cursor, lambda conn: ctx.add_changed(subscriptions=subscriptions(conn, rows)))
        ctx.count("subscriptions", 0.95 if not more else None, subscriptions=len(data))
        if not more:
            return


def _subscription_row(ctx, s: dict) -> tuple:
    amount, currency, interval, plan = 0, s.get("currency"), None, None
    for item in (s.get("items") or {}).get("data") or []:
        price = item.get("price") or item.get("plan") or {}
        amount += int(price.get("unit_amount") or price.get("amount") or 0) * int(item.get("quantity") or 1)
        currency = currency or price.get("currency")
        interval = interval or (price.get("recurring") or {}).get("interval") or price.get("interval")
        plan = plan or price.get("nickname") or _id(price.get("product")) or price.get("id")
    customer = _id(s.get("customer"))
    return (ctx.origin, s["id"], None, f"stripe:{customer}" if customer else None, s.get("status"), plan,
            amount, (currency or "").lower() or None, interval, epoch_ts(s.get("start_date") or s.get("created")),
            epoch_ts(s.get("canceled_at")))


def _id(value) -> str | None:
    """A Stripe reference: an id string, or the object itself when expanded."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) and value else None
