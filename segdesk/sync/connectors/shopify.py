"""Shopify: orders, their refunds and the buyer's journey, through the GraphQL Admin API (2025-01).

One query, ``POST /admin/api/2025-01/graphql.json`` with the Admin API access
token in ``X-Shopify-Access-Token`` (a custom app's token; scope
``read_orders``). Orders are listed ``sortKey: UPDATED_AT`` with the search
``updated_at:>='...'`` and cursor paging (``pageInfo.hasNextPage`` /
``endCursor``); the sync cursor keeps the newest ``updatedAt`` seen and the next
run asks from 10 minutes before it (the search index lags) and upserts. A
refund changes its order's ``updatedAt``, so late refunds come back with it.

Money: an order's ``totalPriceSet.shopMoney`` and each refund's
``totalRefundedSet.shopMoney``, in the shop's currency. A buyer who paid in
another (presentment) currency is counted in the shop's currency, which is
what the shop's payouts and reports use; the presentment amount is not read.

Rate limits are by query cost (https://shopify.dev/docs/api/usage/limits):
every answer carries ``extensions.cost`` with ``requestedQueryCost`` and
``throttleStatus`` (``currentlyAvailable``, ``restoreRate`` points per second).
Before a query that the bucket cannot pay for, we wait until it has restored
enough; a ``THROTTLED`` error (HTTP 200) waits the same way and asks again. An
HTTP 429 goes through sync/http.py (``Retry-After`` or a one-second window).
"""

from __future__ import annotations

from datetime import timedelta

from ...core.event_orders import minor_units
from ...core.timeutil import shift
from ..context import SyncContext
from ..http import ApiError, MAX_WAIT
from ..records import email_of, iso_ts, orders, refunds
from ..sources import check_shop
from .shop_touches import store_touches, visit_event

VERSION = "2025-01"
PATH = f"/admin/api/{VERSION}/graphql.json"
PAGE = 50
OVERLAP = timedelta(minutes=10)
MAX_THROTTLED = 8
# Money received: Order.displayFinancialStatus (OrderDisplayFinancialStatus).
PAID = frozenset({"PAID", "PARTIALLY_PAID", "PARTIALLY_REFUNDED", "REFUNDED"})

VISIT = "occurredAt landingPage referrerUrl utmParameters { source medium campaign term content }"
QUERY = f"""
query Orders($first: Int!, $after: String, $query: String) {{
  orders(first: $first, after: $after, sortKey: UPDATED_AT, query: $query) {{
    pageInfo {{ hasNextPage endCursor }}
    nodes {{
      id legacyResourceId name createdAt processedAt updatedAt test email displayFinancialStatus
      customer {{ email }}
      totalPriceSet {{ shopMoney {{ amount currencyCode }} }}
      refunds {{ id createdAt totalRefundedSet {{ shopMoney {{ amount currencyCode }} }} }}
      lineItems(first: 10) {{ nodes {{ name }} }}
      customerJourneySummary {{ firstVisit {{ {VISIT} }} lastVisit {{ {VISIT} }} }}
    }}
  }}
}}
"""


class Bucket:
    """Shopify's leaky bucket as its answers describe it: wait before a query the bucket cannot pay for."""

    def __init__(self, ctx: SyncContext, client) -> None:
        self.ctx, self.client = ctx, client
        self.available: float | None = None
        self.restore = 50.0
        self.cost = 0.0

    def read(self, body: dict) -> None:
        cost = ((body.get("extensions") or {}).get("cost")) or {}
        status = cost.get("throttleStatus") or {}
        if cost.get("requestedQueryCost") is not None:
            self.cost = float(cost["requestedQueryCost"])
        if status.get("currentlyAvailable") is not None:
            self.available = float(status["currentlyAvailable"])
        if status.get("restoreRate"):
            self.restore = float(status["restoreRate"])

    def wait(self, retry: bool = False) -> None:
        """Sleep until the bucket holds the last query's cost; after a THROTTLED answer, at least a second."""
        available = self.cost if self.available is None else self.available
        seconds = max(self.cost - available, 0.0) / self.restore
        if retry:
            seconds = max(seconds, 1.0)
            self.client.retries += 1
        seconds = min(seconds, MAX_WAIT)
        if seconds > 0:
            self.client.waits.append(seconds)
            self.ctx.options.sleep(seconds)
            self.available = available + seconds * self.restore


def _ask(ctx: SyncContext, client, bucket: Bucket, variables: dict) -> dict:
    for _ in range(MAX_THROTTLED):
        bucket.wait()
        body = client.post_json(PATH, json={"query": QUERY, "variables": variables})
        bucket.read(body)
        errors = body.get("errors") or []
        if not isinstance(errors, list):  # a top-level message, as Shopify words auth and request errors
            errors = [{"message": str(errors)}]
        codes = {((e.get("extensions") or {}).get("code")) for e in errors if isinstance(e, dict)}
        if "THROTTLED" in codes:
            bucket.wait(retry=True)
            continue
        if errors:
            first = errors[0] if isinstance(errors[0], dict) else {"message": str(errors[0])}
            code = (first.get("extensions") or {}).get("code")
            if code == "ACCESS_DENIED":
                raise ApiError(f"Shopify refused part of the orders query: {first.get('message')} "
                               "(the app needs read_orders and access to protected customer data)")
            raise ApiError(f"Shopify: {first.get('message') or 'the query failed'}")
        return (body.get("data") or {}).get("orders") or {}
    raise ApiError(f"Shopify kept throttling the orders query after {MAX_THROTTLED} waits")


def sync(ctx: SyncContext) -> None:
    shop = check_shop(ctx.source.config.get("shop"))
    client = ctx.client(f"https://{shop}", headers={"X-Shopify-Access-Token": ctx.secret,
                                                    "Content-Type": "application/json"},
                        window=1.0, auth_words="the Admin API access token")
    bucket = Bucket(ctx, client)
    run = ctx.cursor.get("run") or {}
    since, after, top = run.get("since", ctx.cursor.get("updated_at")), run.get("after"), run.get("top")
    while True:
        ctx.check()
        variables = {"first": PAGE, "after": after,
                     "query": f"updated_at:>='{shift(since, -OVERLAP)}'" if since else None}
        page = _ask(ctx, client, bucket, variables)
        nodes = [o for o in page.get("nodes") or [] if isinstance(o, dict) and o.get("legacyResourceId")]
        for o in nodes:
            updated = iso_ts(o.get("updatedAt"))
            top = max(top or "", updated or "") or None
        info = page.get("pageInfo") or {}
        after = info.get("endCursor") if info.get("hasNextPage") and nodes else None
        cursor = {k: v for k, v in ctx.cursor.items() if k != "run"}
        if after:
            cursor["run"] = {"since": since, "after": after, "top": top}
        elif top:
            cursor["updated_at"] = top
        ctx.commit(cursor, lambda conn: store_orders(ctx, conn, nodes))
        ctx.count("orders", None if after else 1.0, orders=len(nodes))
        if not after:
            return


def _money(money_set) -> tuple[int, str] | None:
    shop_money = (money_set or {}).get("shopMoney") or {}
    currency = str(shop_money.get("currencyCode") or "").lower()
    amount = minor_units(shop_money.get("amount"), currency) if currency else None
    return None if amount is None else (amount, currency)


def store_orders(ctx: SyncContext, conn, nodes: list[dict]) -> None:
    order_rows, refund_rows, unpaid, touches = [], [], [], 0
    for o in nodes:
        oid, total = str(o["legacyResourceId"]), _money(o.get("totalPriceSet"))
        if o.get("test") or total is None or o.get("displayFinancialStatus") not in PAID:
            unpaid.append(oid)  # a test, pending, authorised-only or voided order is not money received
            continue
        email = email_of(o.get("email"), (o.get("customer") or {}).get("email"))
        products = "; ".join(dict.fromkeys(n.get("name") for n in (o.get("lineItems") or {}).get("nodes") or []
                                           if isinstance(n, dict) and n.get("name")))
        created = iso_ts(o.get("processedAt")) or iso_ts(o.get("createdAt"))
        order_rows.append((ctx.origin, oid, email, None, total[0], total[1], created, products[:500] or None,
                           "paid", None))
        for r in o.get("refunds") or []:
            money = _money(r.get("totalRefundedSet"))
            if money and r.get("id") and money[0]:
                refund_rows.append((ctx.origin, r["id"], oid, money[0], money[1], iso_ts(r.get("createdAt"))))
        touches += store_touches(conn, ctx.origin, email, _visits(oid, email, o.get("customerJourneySummary")))
    changed = orders(conn, order_rows)
    changed += max(conn.executemany("DELETE FROM orders WHERE origin = ? AND order_id = ?",
                                    [(ctx.origin, oid) for oid in unpaid]).rowcount, 0)
    ctx.add_changed(orders=changed, refunds=refunds(conn, refund_rows), events=touches)


def _visits(order_id: str, email: str | None, summary) -> list[dict]:
    if not email or not isinstance(summary, dict):
        return []
    out, seen = [], set()
    for which in ("firstVisit", "lastVisit"):
        visit = summary.get(which)
        if not isinstance(visit, dict) or not visit.get("occurredAt"):
            continue
        utm = visit.get("utmParameters") or {}
        key = (visit.get("occurredAt"), visit.get("landingPage"))
        if key in seen:
            continue  # one visit was both the first and the last
        seen.add(key)
        out.append(visit_event(f"shopify:{order_id}:{which}", email, visit["occurredAt"], visit.get("landingPage"),
                               visit.get("referrerUrl"),
                               {"source": utm.get("source"), "medium": utm.get("medium"),
                                "name": utm.get("campaign"), "term": utm.get("term"),
                                "content": utm.get("content")}))
    return out
