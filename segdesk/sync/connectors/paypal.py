"""PayPal: the Transaction Search API with OAuth2 client credentials.

``POST /v1/oauth2/token`` (client id and secret as HTTP Basic) gives a bearer
token; ``GET /v1/reporting/transactions`` takes ``start_date``/``end_date``
windows of at most 31 days and pages with ``page``/``total_pages``. The
cursor keeps the end of the last complete window, and inside a window its
page, so a resumed run continues. Each sync re-reads the last day (PayPal
settles and back-fills transactions for a few hours) and upserts by
transaction id. Windows end at ``last_refreshed_datetime`` when PayPal says
its data is not yet complete up to now.

A successful payment (event codes T00xx, status S, positive amount) is an
order with the payer's ``payer_info.email_address``; a refund (T1107,
negative amount) is a refund of the transaction named by
``paypal_reference_id``.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import httpx

from ...core.money import MoneyError, to_minor
from ...core.timeutil import format_ts, parse_ts
from ..context import SyncContext
from ..http import ApiError, RateLimit
from ..records import email_of, iso_ts, orders, refunds

API = "https://api-m.paypal.com"
SANDBOX = "https://api-m.sandbox.paypal.com"
PAGE = 500
WINDOW = timedelta(days=31) - timedelta(seconds=1)
RE_READ = timedelta(days=1)
HISTORY = timedelta(days=3 * 365)  # Transaction Search goes back three years
RATE = RateLimit(10, 1.0)


def _stamp(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _token(ctx: SyncContext, client) -> str:
    auth = httpx.BasicAuth(ctx.source.config["client_id"], ctx.secret)
    body = client.post_json("/v1/oauth2/token", data={"grant_type": "client_credentials"}, auth=auth)
    token = body.get("access_token")
    if not token:
        raise ApiError("PayPal gave no access token")
    return token


def sync(ctx: SyncContext) -> None:
    base = SANDBOX if ctx.source.config.get("sandbox") else API
    client = ctx.client(base, rate=RATE, auth_words="the client credentials")
    client.client.headers["Authorization"] = f"Bearer {_token(ctx, client)}"
    now = datetime.now(timezone.utc) - timedelta(minutes=1)
    run = ctx.cursor.get("run") or {}
    if run:
        start, page = parse_ts(run["start"]), int(run["page"])
    else:
        done = ctx.cursor.get("done_until") or ctx.source.config.get("since")
        start = parse_ts(done) - RE_READ if done else now - HISTORY
        page = 1
    first = start
    while start < now:
        end = min(start + WINDOW, now)
        complete = end
        while True:
            ctx.check()
            body = client.get_json("/v1/reporting/transactions", params={
                "start_date": _stamp(start), "end_date": _stamp(end), "fields": "all",
                "page_size": PAGE, "page": page})
            details = body.get("transaction_details") or []
            refreshed = iso_ts(body.get("last_refreshed_datetime"))
            if refreshed and parse_ts(refreshed) < complete:
                complete = parse_ts(refreshed)  # PayPal's data is complete only up to here
            more = page < int(body.get("total_pages") or 1) and bool(details)
            if more:
                cursor = {**ctx.cursor, "run": {"start": format_ts(start), "page": page + 1}}
            else:
                cursor = {"done_until": format_ts(complete)}
            ctx.commit(cursor, lambda conn: _store(ctx, conn, details))
            span = (now - first).total_seconds() or 1.0
            ctx.count("transactions", min(0.99, (end - first).total_seconds() / span), transactions=len(details))
            if not more:
                break
            page += 1
        if complete < end:
            break  # the rest is not in PayPal's reporting data yet
        start, page = end, 1


def _store(ctx: SyncContext, conn, details: list[dict]) -> None:
    order_rows, refund_rows = [], []
    for d in details:
        info = d.get("transaction_info") or {}
        tid, code = info.get("transaction_id"), info.get("transaction_event_code") or ""
        money = info.get("transaction_amount") or {}
        currency = (money.get("currency_code") or "").lower()
        if not tid or not currency or info.get("transaction_status") != "S":
            continue
        try:
            amount = to_minor(str(money.get("value")), currency)
        except MoneyError:
            continue  # not an amount we can count; the rest of the page still stores
        created = iso_ts(info.get("transaction_initiation_date"))
        if code.startswith("T00") and amount > 0:
            payer = d.get("payer_info") or {}
            items = (d.get("cart_info") or {}).get("item_details") or []
            product = next((i.get("item_name") for i in items if i.get("item_name")), None)
            order_rows.append((ctx.origin, tid, email_of(payer.get("email_address")), None, amount, currency,
                               created, product, "paid", tid))
        elif code == "T1107" and amount < 0 and info.get("paypal_reference_id"):
            refund_rows.append((ctx.origin, tid, info["paypal_reference_id"], -amount, currency, created))
    ctx.add_changed(orders=orders(conn, order_rows), refunds=refunds(conn, refund_rows))
