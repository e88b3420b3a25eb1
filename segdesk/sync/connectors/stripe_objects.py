"""Stripe objects as workspace rows, read in the shapes of the pinned API version.

Which refunds and disputes take money back: a refund counts while ``succeeded``
or ``pending`` and stops counting when it turns ``failed`` or ``canceled``
(https://docs.stripe.com/refunds#failed-refunds; ``requires_action`` has not
returned anything yet). A dispute takes its amount back once ``lost``
(https://docs.stripe.com/api/disputes/object#dispute_object-status); until then
it is open, and ``won``/``warning_closed``/``prevented`` return nothing. Each
becomes a refund row (a dispute's under its ``dp_`` id) on the charge, so every
report subtracts it like a refund.
"""

from __future__ import annotations

from ..records import contacts, drop_refunds, email_of, epoch_ts, keys, orders, refunds, split_name, subscriptions

REFUND_COUNTS = frozenset({"succeeded", "pending"})
REFUND_OPEN = frozenset({"pending", "requires_action"})
DISPUTE_DONE = frozenset({"won", "lost", "warning_closed", "prevented"})


def unsettled(resource: str, obj: dict) -> bool:
    """Still able to change without a new ``created``: fetched again each sync until it settles."""
    status = obj.get("status")
    if resource == "charges":
        return status == "pending" or (status == "succeeded" and obj.get("captured") is False
                                       and not obj.get("refunded"))  # an expired authorisation ends refunded
    if resource == "refunds":
        return status in REFUND_OPEN
    return resource == "disputes" and status not in DISPUTE_DONE


def customers(ctx, conn, data) -> None:
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
    customer = ref(c.get("customer"))
    return (
        ctx.origin, c["id"], email_of(billing.get("email"), c.get("receipt_email")),
        f"stripe:{customer}" if customer else None, int(amount), str(c.get("currency", "")).lower(),
        epoch_ts(c.get("created")), c.get("description") or None, "paid",
        ref(c.get("payment_intent")) or c["id"],
    )


def charges(ctx, conn, data) -> None:
    ctx.add_changed(orders=orders(conn, [row for row in (order_row(ctx, c) for c in data) if row is not None]))


def _takebacks(ctx, conn, counted: list[dict], dropped: list[str]) -> None:
    rows = [(ctx.origin, o["id"], ref(o.get("charge")), int(o.get("amount") or 0),
             str(o.get("currency", "")).lower(), epoch_ts(o.get("created"))) for o in counted if ref(o.get("charge"))]
    ctx.add_changed(refunds=refunds(conn, rows) + drop_refunds(conn, ctx.origin, dropped))


def refund_objects(ctx, conn, data) -> None:
    counted = [r for r in data if r.get("status") in REFUND_COUNTS]
    _takebacks(ctx, conn, counted, [r["id"] for r in data if r.get("status") not in REFUND_COUNTS])


def disputes(ctx, conn, data) -> None:
    lost = [d for d in data if d.get("status") == "lost"]
    _takebacks(ctx, conn, lost, [d["id"] for d in data if d.get("status") != "lost"])


def invoices(ctx, conn, data) -> None:
    """Invoices name what was bought and may know the customer's email when the customer record does not.

    Since 2025-03-31.basil an invoice's charge and payment intent live in its ``payments`` list, which
    the listing returns only when expanded (``expand[]=data.payments``)."""
    changed = 0
    for inv in data:
        if inv.get("customer") and email_of(inv.get("customer_email")):
            changed += conn.execute(
                "UPDATE contact_keys SET email = ? WHERE key = ? AND origin = ? AND email IS NULL",
                (email_of(inv["customer_email"]), f"stripe:{ref(inv['customer'])}", ctx.origin)).rowcount
        if inv.get("status") != "paid":
            continue
        lines = (inv.get("lines") or {}).get("data") or []
        product = next((ln.get("description") for ln in lines if ln.get("description")), None)
        if not product:
            continue
        paid = [p.get("payment") or {} for p in (inv.get("payments") or {}).get("data") or []
                if p.get("status", "paid") == "paid"]
        for charge in {ref(p.get("charge")) for p in paid} - {None}:
            changed += conn.execute("UPDATE orders SET product = ? WHERE origin = ? AND order_id = ? "
                                    "AND product IS NOT ?", (product, ctx.origin, charge, product)).rowcount
        for intent in {ref(p.get("payment_intent")) for p in paid} - {None}:
            changed += conn.execute("UPDATE orders SET product = ? WHERE origin = ? AND dedupe_key = ? "
                                    "AND product IS NOT ?", (product, ctx.origin, intent, product)).rowcount
    ctx.add_changed(invoice_details=changed)


def store_subscriptions(ctx, conn, data) -> None:
    ctx.add_changed(subscriptions=subscriptions(conn, [_subscription_row(ctx, s) for s in data]))


def _subscription_row(ctx, s: dict) -> tuple:
    amount, currency, interval, plan = 0, s.get("currency"), None, None
    for item in (s.get("items") or {}).get("data") or []:
        price = item.get("price") or item.get("plan") or {}
        amount += int(price.get("unit_amount") or price.get("amount") or 0) * int(item.get("quantity") or 1)
        currency = currency or price.get("currency")
        interval = interval or (price.get("recurring") or {}).get("interval") or price.get("interval")
        plan = plan or price.get("nickname") or ref(price.get("product")) or price.get("id")
    customer = ref(s.get("customer"))
    return (ctx.origin, s["id"], None, f"stripe:{customer}" if customer else None, s.get("status"), plan,
            amount, (currency or "").lower() or None, interval, epoch_ts(s.get("start_date") or s.get("created")),
            epoch_ts(s.get("canceled_at")))


def ref(value) -> str | None:
    """A Stripe reference: an id string, or the object itself when expanded."""
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) and value else None
