"""WooCommerce: orders, refunds and order attribution through the REST API v3.

Auth is a REST API consumer key and secret as HTTP Basic, which WooCommerce
accepts over HTTPS only (https://woocommerce.github.io/woocommerce-rest-api-docs/#authentication-over-https);
the secret kept for the source is ``{"consumer_key": ..., "consumer_secret": ...}``.

Orders are listed ``GET /wp-json/wc/v3/orders`` with ``modified_after`` (GMT,
``dates_are_gmt=true``), ``per_page=100`` (the maximum), ``page`` and
``orderby=id&order=asc``: an order changed during the listing keeps its place
(its id), so page numbers never skip one; the last page is
``X-WP-TotalPages``. The sync cursor keeps the newest ``date_modified_gmt``
seen and the next run asks from 10 minutes before it. An order whose summary
lists refunds has them read from ``/orders/<id>/refunds`` (amount and date).

Money received: status ``processing``, ``completed`` or ``refunded`` (the
refunds subtract); ``pending``, ``on-hold``, ``failed``, ``cancelled``,
``checkout-draft`` and ``trash`` are not, and such an order stored earlier is
removed. Amounts are the order's ``total`` in its ``currency``.

Order attribution (WooCommerce 8.5+) is stored in ``meta_data`` as
``_wc_order_attribution_*``: UTM source, medium, campaign, content and term,
``_referrer``, ``_session_entry`` (the landing page) and
``_session_start_time``. It becomes one touch (shop_touches.py) at the
session's start, read as UTC and used only when it is before the order
(else one second before the order).
"""

from __future__ import annotations

import base64
from datetime import timedelta

import orjson

from ...core.event_orders import minor_units
from ...core.timeutil import parse_ts, shift
from ..context import SyncContext
from ..http import ApiError
from ..records import email_of, iso_ts, orders, refunds
from .shop_touches import store_touches, visit_event

API_PATH = "/wp-json/wc/v3"
PAGE = 100
OVERLAP = timedelta(minutes=10)
PAID = frozenset({"processing", "completed", "refunded"})
ATTRIBUTION = "_wc_order_attribution_"


def credentials(secret: str) -> tuple[str, str]:
    try:
        value = orjson.loads(secret)
        key, secret_part = value["consumer_key"], value["consumer_secret"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        raise ApiError("WooCommerce: the stored secret is not a consumer key and secret; "
                       "add the source again with --key-env and --secret-env") from None
    return str(key), str(secret_part)


def secret_of(consumer_key: str, consumer_secret: str) -> str:
    return orjson.dumps({"consumer_key": consumer_key.strip(), "consumer_secret": consumer_secret.strip()}).decode()


def _gmt(value) -> str | None:
    """WooCommerce's ``*_gmt`` dates carry no offset: they are UTC."""
    return iso_ts(value + "Z" if isinstance(value, str) and value and value[-1].isdigit() else value)


def sync(ctx: SyncContext) -> None:
    key, secret = credentials(ctx.secret)
    basic = base64.b64encode(f"{key}:{secret}".encode()).decode()  # over https only (sources.check_base_url)
    client = ctx.client(ctx.source.config["base_url"], headers={"Accept": "application/json",
                                                            "Authorization": f"Basic {basic}"},
                        window=1.0, auth_words="the consumer key and secret")
    run = ctx.cursor.get("run") or {}
    since, page, top = run.get("since", ctx.cursor.get("modified_after")), run.get("page", 1), run.get("top")
    while True:
        ctx.check()
        params = {"per_page": PAGE, "page": page, "orderby": "id", "order": "asc", "dates_are_gmt": "true"}
        if since:
            params["modified_after"] = shift(since, -OVERLAP)[:19]
        response = client.request("GET", f"{API_PATH}/orders", params=params)
        data = [o for o in client.json(response) or [] if isinstance(o, dict) and o.get("id") is not None]
        for o in data:
            top = max(top or "", _gmt(o.get("date_modified_gmt")) or "") or None
        try:
            pages = int(response.headers.get("x-wp-totalpages") or 1)
        except ValueError:
            pages = 1
        more = page < pages and bool(data)
        refunded = {o["id"]: _refunds(ctx, client, o) for o in data if o.get("refunds")}
        cursor = {k: v for k, v in ctx.cursor.items() if k != "run"}
        if more:
            cursor["run"] = {"since": since, "page": page + 1, "top": top}
        elif top:
            cursor["modified_after"] = top
        ctx.commit(cursor, lambda conn: store_orders(ctx, conn, data, refunded))
        ctx.count("orders", page / pages if more else 1.0, orders=len(data))
        if not more:
            return
        page += 1


def _refunds(ctx: SyncContext, client, order: dict) -> list[dict]:
    ctx.check()
    body = client.get_json(f"{API_PATH}/orders/{order['id']}/refunds", params={"per_page": PAGE})
    return [r for r in body or [] if isinstance(r, dict) and r.get("id") is not None]


def store_orders(ctx: SyncContext, conn, data: list[dict], refunded: dict) -> None:
    order_rows, refund_rows, unpaid, touches = [], [], [], 0
    for o in data:
        oid, currency = str(o["id"]), str(o.get("currency") or "").lower()
        amount = minor_units(o.get("total"), currency) if currency else None
        if o.get("status") not in PAID or amount is None:
            unpaid.append(oid)
            continue
        email = email_of((o.get("billing") or {}).get("email"))
        created = _gmt(o.get("date_paid_gmt")) or _gmt(o.get("date_created_gmt"))
        products = "; ".join(dict.fromkeys(i.get("name") for i in o.get("line_items") or []
                                           if isinstance(i, dict) and i.get("name")))
        order_rows.append((ctx.origin, oid, email, None, amount, currency, created, products[:500] or None,
                           "paid", None))
        for r in refunded.get(o["id"], []):
            value = minor_units(r.get("amount"), currency)
            if value:
                refund_rows.append((ctx.origin, f"refund:{r['id']}", oid, abs(value), currency,
                                    _gmt(r.get("date_created_gmt")) or created))
        visit = _attribution(oid, email, created, o.get("meta_data"))
        touches += store_touches(conn, ctx.origin, email, [visit] if visit else [])
    changed = orders(conn, order_rows)
    changed += max(conn.executemany("DELETE FROM orders WHERE origin = ? AND order_id = ?",
                                    [(ctx.origin, oid) for oid in unpaid]).rowcount, 0)
    ctx.add_changed(orders=changed, refunds=refunds(conn, refund_rows), events=touches)


def _attribution(order_id: str, email: str | None, created: str | None, meta) -> dict | None:
    values = {m.get("key", "")[len(ATTRIBUTION):]: m.get("value") for m in meta or []
              if isinstance(m, dict) and str(m.get("key", "")).startswith(ATTRIBUTION)}
    if not email or not created or not values or values.get("source_type") == "admin":
        return None  # an order typed in by staff was not a visit
    when = shift(created, -timedelta(seconds=1))
    try:
        start = parse_ts(str(values.get("session_start_time")))
        if start <= parse_ts(created):
            when = iso_ts(start.isoformat())
    except ValueError:
        pass
    return visit_event(f"woocommerce:{order_id}:visit", email, when, values.get("session_entry"),
                       values.get("referrer"),
                       {"source": values.get("utm_source"), "medium": values.get("utm_medium"),
                        "name": values.get("utm_campaign"), "term": values.get("utm_term"),
                        "content": values.get("utm_content")})
