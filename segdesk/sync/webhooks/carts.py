"""What the two cart vendors' parsers (thrivecart.py, samcart.py) write the same way.

A cart's subscription notice says one thing at a time (a rebill, a
cancellation), so a subscription is updated field by field: what a notice
does not say keeps its earlier value, unlike the processors' upsert
(records.subscriptions), which always has the whole object.
"""

from __future__ import annotations

from ..records import contacts, email_of, orders, refunds, split_name, tags
from ...core.identity.identifiers import email_node

SUBSCRIPTION_SQL = """
INSERT INTO subscriptions(origin, subscription_id, email, customer_key, status, plan, amount, currency, interval,
                          started_at, canceled_at)
VALUES (:origin, :id, :email, NULL, :status, :plan, :amount, :currency, NULL, :started, :canceled)
ON CONFLICT(origin, subscription_id) DO UPDATE SET
    email = coalesce(excluded.email, email), status = excluded.status, plan = coalesce(excluded.plan, plan),
    amount = coalesce(excluded.amount, amount), currency = coalesce(excluded.currency, currency),
    started_at = coalesce(started_at, excluded.started_at), canceled_at = coalesce(excluded.canceled_at, canceled_at)
WHERE excluded.status IS NOT status OR (excluded.canceled_at IS NOT NULL AND canceled_at IS NULL)
   OR (excluded.amount IS NOT NULL AND excluded.amount IS NOT amount)
"""


def buyer(ctx, conn, email, name: str | None, when: str | None) -> str | None:
    """The buyer as a contact (a cart only fills names a CRM has not given); their normalised email."""
    email = email_of(email)
    if email:
        first, last = split_name(name)
        ctx.add_changed(contacts=contacts(conn, [(email, first, last, when)], authoritative=False))
    return email


def sale(ctx, conn, order_id: str, email, amount: int, currency: str, when: str, product: str | None) -> None:
    ctx.add_changed(orders=orders(conn, [(ctx.origin, order_id, email, None, amount, currency.lower(), when,
                                          (product or "")[:500] or None, "paid", None)]))


def refund(ctx, conn, refund_id: str, order_id: str, amount: int, currency: str, when: str) -> None:
    ctx.add_changed(refunds=refunds(conn, [(ctx.origin, refund_id, order_id, amount, currency.lower(), when)]))


def affiliate(ctx, conn, email: str | None, name: str | None, when: str) -> None:
    """The affiliate credited with a sale, kept as the buyer's tag ``affiliate:<name>``."""
    if email and name:
        ctx.add_changed(tags=tags(conn, [(email_node(email), f"affiliate:{name.strip()[:80]}", ctx.origin, when)]))


def subscription(ctx, conn, subscription_id: str, *, email=None, status: str, plan=None, amount=None,
                 currency=None, started=None, canceled=None) -> None:
    changed = conn.execute(SUBSCRIPTION_SQL, {
        "origin": ctx.origin, "id": subscription_id, "email": email, "status": status, "plan": plan,
        "amount": amount, "currency": currency.lower() if currency else None, "started": started,
        "canceled": canceled}).rowcount
    ctx.add_changed(subscriptions=max(changed, 0))
