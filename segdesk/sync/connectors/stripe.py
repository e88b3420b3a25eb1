"""Stripe: customers, charges, refunds, disputes, invoices and subscriptions, at a pinned API version.

Every request sends ``Stripe-Version`` (https://docs.stripe.com/api/versioning):
without it Stripe answers in the account's default version, whatever shapes
that has. The pinned version's shapes are read in stripe_objects.py.

Charges, not payment intents, become orders: a charge is the money that
actually moved (one per successful attempt), carries the billing and receipt
emails and its payment intent, and exists for legacy integrations that never
used payment intents. Its dedupe key is the payment intent id (else the charge
id), the id a CRM that charged through Stripe would record.

Lists are newest first with ``starting_after`` paging and ``created[gte]``
increments: the cursor keeps, per resource, the newest ``created`` seen; the
next sync asks from that second again (overlap) and upserts by id. Inside a
run the cursor also keeps ``starting_after``, so a resumed run continues the
same listing where it stopped. A refund or dispute made after its charge is a
new object (with the old charge id), which its own listing picks up.

Objects that change without a new ``created`` (a charge still pending, a
refund pending or awaiting action, an open dispute) wait in the cursor and are
fetched again each sync until they settle. Subscriptions change status the same
way, so they are listed whole each sync (``status=all``).

A restricted key (``rk_``) without a permission gets a 403 whose message names
it ("Having the 'rak_dispute_read' permission would allow this request to
continue"); that name is the one line the user sees.
"""

from __future__ import annotations

import re

from ..context import SyncContext
from ..http import RateLimit, error_text
from . import stripe_objects as objects

API = "https://api.stripe.com"
VERSION = "2025-03-31.basil"
PAGE = 100
MAX_TRACKED = 500
# Stripe allows 100 read requests/s in live mode and 25 in test mode (https://docs.stripe.com/rate-limits).
LIVE_RATE, TEST_RATE = RateLimit(80, 1.0), RateLimit(20, 1.0)
STAGES = (("customers", 0.1), ("charges", 0.5), ("refunds", 0.65), ("disputes", 0.75), ("invoices", 0.85))
HANDLERS = {"customers": objects.customers, "charges": objects.charges, "refunds": objects.refund_objects,
            "disputes": objects.disputes, "invoices": objects.invoices}
EXTRA = {"invoices": {"expand[]": "data.payments"}}
TRACKED = {"charges": "pending", "refunds": "pending_refunds", "disputes": "open_disputes"}
PERMISSION = re.compile(r"Having the '([a-z_]+)' permission")


def _forbidden(response) -> str:
    path = response.request.url.path
    found = PERMISSION.search(error_text(response))
    if found:
        return f"Stripe: the restricted key lacks the permission {found.group(1)} (needed to read {path})"
    return f"Stripe refused {path}: {error_text(response)}"


def sync(ctx: SyncContext) -> None:
    key = ctx.secret
    rate = TEST_RATE if "_test_" in key else LIVE_RATE
    client = ctx.client(API, headers={"Authorization": f"Bearer {key}", "Stripe-Version": VERSION}, rate=rate,
                        window=1.0, forbidden=_forbidden)
    for resource, fraction in STAGES:
        _incremental(ctx, client, resource, fraction)
    for resource in TRACKED:
        _recheck(ctx, client, resource)
    _subscriptions(ctx, client)


def _incremental(ctx: SyncContext, client, resource: str, fraction: float) -> None:
    run = ctx.cursor.get("run") or {}
    if run.get("resource") == resource:
        gte, after, top = run.get("gte"), run.get("after"), run.get("top")
    else:
        gte, after = (ctx.cursor.get(resource) or {}).get("gte"), None
        top = gte
    while True:
        ctx.check()
        params = {"limit": PAGE, **EXTRA.get(resource, {})}
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
        if resource in TRACKED:
            cursor[TRACKED[resource]] = _tracked(resource, cursor.get(TRACKED[resource]) or [], data)
        ctx.commit(cursor, lambda conn: HANDLERS[resource](ctx, conn, data))
        ctx.count(f"{resource}", fraction if not more else None, **{resource: len(data)})
        if not more:
            return


def _tracked(resource: str, ids: list[str], data: list[dict]) -> list[str]:
    """The ids still to fetch again after this page: settled ones leave, unsettled ones join."""
    kept = dict.fromkeys(ids)
    for obj in data:
        if objects.unsettled(resource, obj):
            kept[obj["id"]] = None
        else:
            kept.pop(obj["id"], None)
    return list(kept)[-MAX_TRACKED:]


def _recheck(ctx: SyncContext, client, resource: str) -> None:
    key = TRACKED[resource]
    for object_id in list(ctx.cursor.get(key) or []):
        ctx.check()
        obj = client.get_json(f"/v1/{resource}/{object_id}")
        cursor = dict(ctx.cursor)
        if not objects.unsettled(resource, obj):
            cursor[key] = [i for i in cursor.get(key, []) if i != object_id]
        ctx.commit(cursor, lambda conn: HANDLERS[resource](ctx, conn, [obj]))


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
        ctx.commit(cursor, lambda conn: objects.store_subscriptions(ctx, conn, data))
        ctx.count("subscriptions", 0.95 if not more else None, subscriptions=len(data))
        if not more:
            return
