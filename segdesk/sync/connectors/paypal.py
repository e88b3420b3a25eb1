"""PayPal: the Transaction Search API with OAuth2 client credentials.

https://developer.paypal.com/docs/api/transaction-search/v1/ :
``POST /v1/oauth2/token`` (client id and secret as HTTP Basic) gives a bearer
token; ``GET /v1/reporting/transactions`` takes ``start_date``/``end_date``
windows of at most 31 days and pages with ``page``/``total_pages``. A window
with more matches than PayPal will list answers ``RESULTSET_TOO_LARGE``
(https://developer.paypal.com/api/transaction-search/v1/errors/resultset_too_large):
it is halved until it fits, and later windows grow back from the span that fit.
The cursor keeps the end of the last complete window, and inside a window its
end and page, so a resumed run continues. Each sync re-reads the last day
(PayPal settles and back-fills transactions for a few hours) and upserts by
transaction id. Windows end at ``last_refreshed_datetime`` when PayPal says
its data is not yet complete up to now.

Which transactions move revenue (event codes:
https://developer.paypal.com/docs/transaction-search/transaction-event-codes/;
status: S success, P pending, V reversed, D denied): a T00xx payment with
status S is an order with the payer's ``payer_info.email_address``; with
status V it was reversed back to the buyer, so it is an order and a refund of
all of it. A payment still P is not revenue yet: its id and date wait in the
cursor and it is asked for again (``transaction_id``) every sync until it
settles, however long that takes. Refunds (T1107), payment reversals (T1106)
and chargebacks (T1201), negative amounts naming the payment in
``paypal_reference_id``, are refunds of that payment.

An app without the Transaction Search permission gets a 403, reported as such.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import httpx

from ...core.money import MoneyError, to_minor
from ...core.timeutil import format_ts, parse_ts
from ..context import SyncContext
from ..http import RateLimit, VendorError, error_text
from ..records import email_of, iso_ts, orders, refunds

API = "https://api-m.paypal.com"
SANDBOX = "https://api-m.sandbox.paypal.com"
PAGE = 500
WINDOW = timedelta(days=31) - timedelta(seconds=1)
RE_READ = timedelta(days=1)
HISTORY = timedelta(days=3 * 365)  # Transaction Search goes back three years
RATE = RateLimit(10, 1.0)
LIMIT_WINDOW = 60.0  # PayPal documents no rate window; a 429 without Retry-After waits a minute
TAKEBACKS = {"T1106": "payment reversal", "T1107": "refund", "T1201": "chargeback"}


def _stamp(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _forbidden(response: httpx.Response) -> str:
    return f"PayPal: these client credentials lack the Transaction Search permission ({error_text(response)})"


def _token(ctx: SyncContext, client) -> str:
    auth = httpx.BasicAuth(ctx.source.config["client_id"], ctx.secret)
    body = client.post_json("/v1/oauth2/token", data={"grant_type": "client_credentials"}, auth=auth)
    token = body.get("access_token")
    if not token:
        raise VendorError("PayPal gave no access token")
    return token


def _search(client, start: datetime, end: datetime, page: int, **extra) -> dict | None:
    """One page of a window; None when the window holds more than PayPal will list."""
    response = client.request("GET", "/v1/reporting/transactions", allow=(400,), params={
        "start_date": _stamp(start), "end_date": _stamp(end), "fields": "all", "page_size": PAGE, "page": page,
        **extra})
    body = client.json(response)
    if response.status_code == 400:
        if body.get("name") == "RESULTSET_TOO_LARGE":
            return None
        raise VendorError(f"PayPal answered 400 for {response.request.url.path}: {error_text(response)}")
    return body


def sync(ctx: SyncContext) -> None:
    base = SANDBOX if ctx.source.config.get("sandbox") else API
    client = ctx.client(base, rate=RATE, auth_words="the client credentials", window=LIMIT_WINDOW,
                        forbidden=_forbidden)
    client.client.headers["Authorization"] = f"Bearer {_token(ctx, client)}"
    now = datetime.now(timezone.utc) - timedelta(minutes=1)
    _windows(ctx, client, now)
    _recheck_pending(ctx, client, now)


def _windows(ctx: SyncContext, client, now: datetime) -> None:
    run = ctx.cursor.get("run") or {}
    if run:
        start, page = parse_ts(run["start"]), int(run["page"])
        end = parse_ts(run["end"]) if run.get("end") else None
    else:
        done = ctx.cursor.get("done_until") or ctx.source.config.get("since")
        start, page, end = (parse_ts(done) - RE_READ if done else now - HISTORY), 1, None
    first, span = start, WINDOW
    while start < now:
        end = end or min(start + span, now)
        complete = end
        while True:
            ctx.check()
            body = _search(client, start, end, page)
            if body is None:
                if end - start <= timedelta(seconds=1):
                    raise VendorError(f"PayPal lists too many transactions at {_stamp(start)} to read them")
                span = (end - start) / 2
                end, complete, page = start + span, start + span, 1  # halve until it fits
                continue
            details = body.get("transaction_details") or []
            refreshed = iso_ts(body.get("last_refreshed_datetime"))
            if refreshed and parse_ts(refreshed) < complete:
                complete = parse_ts(refreshed)  # PayPal's data is complete only up to here
            more = page < int(body.get("total_pages") or 1) and bool(details)
            order_rows, refund_rows, pending = _rows(ctx, details)
            cursor = {k: v for k, v in ctx.cursor.items() if k not in ("run", "done_until")}
            cursor["pending"] = pending
            if more:
                cursor.update(run={"start": format_ts(start), "end": format_ts(end), "page": page + 1},
                              done_until=ctx.cursor.get("done_until"))
            else:
                cursor["done_until"] = format_ts(complete)
            ctx.commit(cursor, lambda conn: _write(ctx, conn, order_rows, refund_rows))
            span_all = (now - first).total_seconds() or 1.0
            ctx.count("transactions", min(0.95, (end - first).total_seconds() / span_all),
                      transactions=len(details))
            if not more:
                break
            page += 1
        if complete < end:
            return  # the rest is not in PayPal's reporting data yet
        start, page, end, span = end, 1, None, min(WINDOW, span * 2)


def _recheck_pending(ctx: SyncContext, client, now: datetime) -> None:
    for tid, when in list((ctx.cursor.get("pending") or {}).items()):
        ctx.check()
        at = parse_ts(when)
        body = _search(client, at - timedelta(seconds=1), min(at + WINDOW - timedelta(seconds=1), now), 1,
                       transaction_id=tid) or {}
        details = body.get("transaction_details") or []
        order_rows, refund_rows, pending = _rows(ctx, details)
        if not any((d.get("transaction_info") or {}).get("transaction_status") == "P" for d in details):
            pending.pop(tid, None)  # settled (or denied): no longer asked for
        ctx.commit({**ctx.cursor, "pending": pending}, lambda conn: _write(ctx, conn, order_rows, refund_rows))


def _rows(ctx: SyncContext, details: list[dict]) -> tuple[list, list, dict]:
    """(order rows, refund rows, the pending payments after these transactions)."""
    order_rows, refund_rows = [], []
    pending = dict(ctx.cursor.get("pending") or {})
    for d in details:
        info = d.get("transaction_info") or {}
        tid, code = info.get("transaction_id"), info.get("transaction_event_code") or ""
        status = info.get("transaction_status")
        money = info.get("transaction_amount") or {}
        currency = (money.get("currency_code") or "").lower()
        if not tid or not currency:
            continue
        try:
            amount = to_minor(str(money.get("value")), currency)
        except MoneyError:
            continue  # not an amount we can count; the rest of the page still stores
        created = iso_ts(info.get("transaction_initiation_date"))
        if code.startswith("T00") and amount > 0:
            if status == "P" and created:
                pending[tid] = created
                continue
            pending.pop(tid, None)
            if status not in ("S", "V"):
                continue
            payer = d.get("payer_info") or {}
            items = (d.get("cart_info") or {}).get("item_details") or []
            product = next((i.get("item_name") for i in items if i.get("item_name")), None)
            order_rows.append((ctx.origin, tid, email_of(payer.get("email_address")), None, amount, currency,
                               created, product, "paid", tid))
            if status == "V":
                refund_rows.append((ctx.origin, f"{tid}#reversed", tid, amount, currency,
                                    iso_ts(info.get("transaction_updated_date")) or created))
        elif code in TAKEBACKS and status == "S" and amount < 0 and info.get("paypal_reference_id"):
            refund_rows.append((ctx.origin, tid, info["paypal_reference_id"], -amount, currency, created))
    return order_rows, refund_rows, pending


def _write(ctx: SyncContext, conn, order_rows: list, refund_rows: list) -> None:
    ctx.add_changed(orders=orders(conn, order_rows), refunds=refunds(conn, refund_rows))
