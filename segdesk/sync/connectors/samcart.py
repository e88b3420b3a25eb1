"""SamCart: orders, subscription rebills and refunds through the SamCart Public API (v1).

Followed: SamCart's OpenAPI document (https://developer.samcart.com/, the spec
at https://developer.samcart.com/specs/openapi.yaml; base
``https://api.samcart.com/v1``). The key (from SamCart Support) goes in the
``sc-api`` header with ``Accept: application/json``; a missing or wrong key is
a 401 ``{"message": "Invalid authentication credentials"}``, a plan without API
access a 403. Bulk lists answer ``{"data": [...], "pagination": {"next", "prev"}}``
where ``next`` is a whole URL paged by ``offset`` (a record id) and ``dir``, at
most ``limit=100`` a page. We request the next URL's path and query on our own
host (never the key to another host), adding back the filters it lacks (the
documented example carries only ``offset`` and ``dir``). Every authenticated answer
carries ``RateLimit-Limit/-Remaining/-Reset`` (120 or 240 requests a minute per
marketplace, by plan): we keep to 120 a minute, pause when Remaining reaches 0,
and a 429 waits its Retry-After, else the minute.

What is read, each list to its end with the next page's URL in the cursor (a
resumed run goes on where it stopped):

- ``/customers`` (``created_at_min``): the buyer's email and name, kept as the
  payment customer ``samcart:<customer id>``; an order's customer created before
  the window is read alone (``/customers/{id}``).
- ``/orders`` (``created_at_min``, ``test_mode=false``): an order is
  ``samcart:<order id>`` (the key the relay's SamCart webhooks use, so one order
  from both routes is one), its ``total``, the cart items' currency, product
  names and ``order_date``. Money received: cart items ``charged``, ``fulfilled``,
  ``refunded`` or ``partially_refunded``; ``pending``, ``declined`` and
  ``reversed`` items are not (an order with none paid is removed if stored), and
  a partly paid order counts its paid items' ``initial_price.total``.
- ``/charges`` (``created_at_min``, ``test_mode=false``): a subscription rebill
  (``subscription_rebill_id`` set) is money of its own, ``samcart:charge:<id>``,
  with its order's products; a first charge is its order, already counted.
- ``/refunds``: documented without a date filter, so read whole every sync
  (refunds are few, and a stored one changes nothing); ``refund_amount`` is
  netted from the charge's order (``/charges/{id}`` names it).

Where the documentation is silent we assumed: amounts "in cents" are the
currency's minor unit (Stripe's convention, which SamCart's processors use):
``4900`` JPY is ¥4,900; record times ``YYYY-MM-DD HH:MM:SS`` are UTC. The
windows come from SamCart's own times (the newest ``created_at`` seen, less an
hour), and reach back to the oldest order still pending (up to 30 days), so an
order read while its charge was pending is read again until it settles.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit

from ...core.money import ISO_CODES
from ...core.timeutil import shift
from ..context import SyncContext
from ..http import RateLimit, error_text
from ..records import contacts, email_of, iso_ts, keys, orders, refunds
from .toolkit import link_pages

API = "https://api.samcart.com"
PAGE = 100
RATE = RateLimit(120, 60.0)  # the smaller plan's limit
WINDOW = 60.0
OVERLAP = timedelta(hours=1)
PENDING_REACH = timedelta(days=30)
PAID = frozenset({"charged", "fulfilled", "refunded", "partially_refunded"})
LISTS = ("customers", "orders", "charges", "refunds")


def order_key(order_id) -> str:
    return f"samcart:{order_id}"


def rebill_key(charge_id) -> str:
    return f"samcart:charge:{charge_id}"


def customer_key(customer_id) -> str:
    return f"samcart:{customer_id}"


def _forbidden(response) -> str:
    return (f"SamCart refused the API key: {error_text(response)} (the plan may not include API access, "
            "or the account is not active)")


def _cents(value) -> int | None:
    """SamCart's integer amounts ("in cents": the currency's minor unit); None when not a whole number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value)
    return None


def _next_of(params: dict):
    """The next page as a path on our host, with the filters its URL left out."""

    def next_of(response, body) -> str | None:
        url = (body.get("pagination") or {}).get("next") if isinstance(body, dict) else None
        if not url or not isinstance(url, str):
            return None
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        return f"{parts.path}?{urlencode({**{k: str(v) for k, v in params.items()}, **query})}"

    return next_of


def sync(ctx: SyncContext) -> None:
    client = ctx.client(API, headers={"sc-api": (ctx.secret or "").strip(), "Accept": "application/json"},
                        rate=RATE, window=WINDOW, auth_words="the API key", forbidden=_forbidden)
    run = ctx.cursor["run"] = {"done": [], "top": {}, "pending": None, **(ctx.cursor.get("run") or {})}
    since = ctx.cursor.get("since") or {}
    for name in LISTS:
        if name in run["done"]:
            continue
        params = {"limit": PAGE}
        window = since.get(name)
        if name == "orders" and ctx.cursor.get("pending"):
            window = min(window or ctx.cursor["pending"], ctx.cursor["pending"])
        if window and name != "refunds":
            params["created_at_min"] = window[:19] + "Z"
        if name in ("orders", "charges"):
            params["test_mode"] = "false"
        _read(ctx, client, name, params)
    tops = ctx.cursor["run"]["top"]
    cursor = {"since": {k: shift(v, -OVERLAP) if k in tops else v for k, v in {**since, **tops}.items()}}
    if ctx.cursor["run"].get("pending"):
        cursor["pending"] = ctx.cursor["run"]["pending"]
    ctx.commit(cursor)
    ctx.count("done", 1.0)


def _read(ctx: SyncContext, client, name: str, params: dict) -> None:
    run = ctx.cursor["run"]
    resumed = run.get("next") if run.get("at") == name else None
    pages = link_pages(ctx, client, resumed or f"/v1/{name}", "data", params=None if resumed else params,
                       next_of=_next_of(params))
    for page in pages:
        items = page.body.get("data") if isinstance(page.body, dict) else None
        items = [items] if isinstance(items, dict) else [i for i in items or [] if isinstance(i, dict)]
        items = [i for i in items if i.get("id") is not None]  # GET /refunds' data is documented as one object
        extra = PREPARE[name](ctx, client, items)
        state = {**ctx.cursor["run"], "at": name, "next": page.next}
        created = [c for c in (iso_ts(i.get("created_at") or i.get("order_date")) for i in items) if c]
        if created and name != "refunds":
            state["top"] = {**state["top"], name: max([state["top"].get(name, ""), *created])}
        if not page.more:
            state["done"] = [*state["done"], name]
        if name == "orders":
            state["pending"] = _oldest_pending(items, state.get("pending"), state["top"].get(name))
        ctx.commit({**ctx.cursor, "run": state},
                   lambda conn, items=items, extra=extra: STORE[name](ctx, conn, items, extra))
        ctx.count(name, None, **{name: len(items)})


def _oldest_pending(items: list[dict], oldest: str | None, top: str | None) -> str | None:
    for o in items:
        statuses = {i.get("status") for i in o.get("cart_items") or [] if isinstance(i, dict)}
        when = iso_ts(o.get("order_date") or o.get("created_at"))
        if "pending" in statuses and when and (top is None or when >= shift(top, -PENDING_REACH)):
            oldest = min(oldest or when, when)
    return oldest


# -- customers ---------------------------------------------------------------------------------


def _customer_rows(ctx: SyncContext, found: list[dict]) -> tuple[list, list]:
    people, ids = [], []
    for c in found:
        email = email_of(c.get("email"))
        if email:
            people.append((email, c.get("first_name") or None, c.get("last_name") or None, iso_ts(c.get("created_at"))))
        ids.append((customer_key(c["id"]), "customer", email, ctx.origin,
                    iso_ts(c.get("updated_at")) or iso_ts(c.get("created_at"))))
    return people, ids


def store_customers(ctx: SyncContext, conn, found: list[dict], _extra=None) -> None:
    people, ids = _customer_rows(ctx, found)
    ctx.add_changed(contacts=contacts(conn, people, authoritative=False), customer_ids=keys(conn, ids))


def _missing_customers(ctx: SyncContext, client, items: list[dict]) -> list[dict]:
    """Buyers of these orders or charges not read yet (created before the window): read one by one."""
    wanted = {str(i["customer_id"]) for i in items if i.get("customer_id") is not None}
    if not wanted:
        return []

    def known(ws) -> set[str]:
        marks = ",".join("?" * len(wanted))
        rows = ws.conn.execute(f"SELECT key FROM contact_keys WHERE origin = ? AND key IN ({marks})",
                               (ctx.origin, *(customer_key(c) for c in wanted)))
        return {key for (key,) in rows}

    have = ctx.write(known)
    found = []
    for cid in sorted(c for c in wanted if customer_key(c) not in have):
        ctx.check()
        response = client.request("GET", f"/v1/customers/{cid}", allow=(404,))
        body = client.json(response) if response.status_code == 200 else None
        if isinstance(body, dict) and body.get("id") is not None:
            found.append(body)
    return found


def _emails(ctx: SyncContext, conn, found: list[dict], items: list[dict]) -> dict[str, str | None]:
    store_customers(ctx, conn, found)
    ids = {customer_key(i["customer_id"]) for i in items if i.get("customer_id") is not None}
    if not ids:
        return {}
    rows = conn.execute(f"SELECT key, email FROM contact_keys WHERE origin = ? AND key IN ({','.join('?' * len(ids))})",
                        (ctx.origin, *ids))
    return dict(rows.fetchall())


# -- orders and rebills --------------------------------------------------------------------------


def _products(cart_items: list[dict]) -> str | None:
    names = "; ".join(dict.fromkeys(str(i.get("product_name") or i.get("internal_product_name"))
                                    for i in cart_items if i.get("product_name") or i.get("internal_product_name")))
    return names[:500] or None


def _currency(*candidates) -> str | None:
    for value in candidates:
        code = str(value or "").strip().lower()
        if code in ISO_CODES:
            return code
    return None


def _order_amount(o: dict, items: list[dict]) -> int | None:
    """What the order brought in: its total when every item was paid, else its paid items' totals."""
    paid = [i for i in items if i.get("status") in PAID]
    if items and not paid:
        return None
    if len(paid) == len(items):
        return _cents(o.get("total"))
    parts = [_cents((i.get("initial_price") or {}).get("total")) for i in paid]
    return None if None in parts else sum(parts)


def store_orders(ctx: SyncContext, conn, data: list[dict], found: list[dict]) -> None:
    emails = _emails(ctx, conn, found, data)
    rows, unpaid = [], []
    for o in data:
        items = [i for i in o.get("cart_items") or [] if isinstance(i, dict)]
        key = order_key(o["id"])
        currency = _currency(*(i.get("currency") for i in items), o.get("currency"))
        amount = _order_amount(o, items)
        created = iso_ts(o.get("order_date")) or iso_ts(o.get("created_at"))
        if o.get("test_mode") or amount is None or currency is None or created is None:
            unpaid.append(key)
            continue
        customer = customer_key(o["customer_id"]) if o.get("customer_id") is not None else None
        rows.append((ctx.origin, key, emails.get(customer), customer, amount, currency, created,
                     _products(items), "paid", None))
    changed = orders(conn, rows)
    changed += max(conn.executemany("DELETE FROM orders WHERE origin = ? AND order_id = ?",
                                    [(ctx.origin, k) for k in unpaid]).rowcount, 0)
    ctx.add_changed(orders=changed)


def store_rebills(ctx: SyncContext, conn, charges: list[dict], found: list[dict]) -> None:
    rebills = [c for c in charges if c.get("subscription_rebill_id") is not None and not c.get("test_mode")]
    emails = _emails(ctx, conn, found, rebills)
    rows = []
    for c in rebills:
        amount, currency, created = _cents(c.get("total")), _currency(c.get("currency")), iso_ts(c.get("created_at"))
        if amount is None or currency is None or created is None:
            continue
        first = conn.execute("SELECT product FROM orders WHERE origin = ? AND order_id = ?",
                             (ctx.origin, order_key(c.get("order_id")))).fetchone()
        customer = customer_key(c["customer_id"]) if c.get("customer_id") is not None else None
        rows.append((ctx.origin, rebill_key(c["id"]), emails.get(customer), customer, amount, currency, created,
                     first[0] if first else None, "paid", None))
    ctx.add_changed(orders=orders(conn, rows))


# -- refunds -------------------------------------------------------------------------------------


def _refunded_orders(ctx: SyncContext, client, data: list[dict]) -> dict[str, str]:
    """refund id -> the order key its charge belongs to, asking SamCart only about refunds not stored yet."""
    live = [r for r in data if not r.get("test_mode") and r.get("charge_id") is not None]

    def stored(ws) -> dict[str, str]:
        return dict(ws.conn.execute("SELECT refund_id, order_id FROM refunds WHERE origin = ?", (ctx.origin,)))

    have = ctx.write(stored) if live else {}
    out, charges = {}, {}
    for r in live:
        rid = str(r["id"])
        if rid in have:
            out[rid] = have[rid]
            continue
        cid = str(r["charge_id"])
        if cid not in charges:
            ctx.check()
            response = client.request("GET", f"/v1/charges/{cid}", allow=(404,))
            charges[cid] = client.json(response) if response.status_code == 200 else None
        charge = charges[cid]
        if not isinstance(charge, dict):
            continue
        if charge.get("subscription_rebill_id") is not None:
            out[rid] = rebill_key(cid)
        elif charge.get("order_id") is not None:
            out[rid] = order_key(charge["order_id"])
    return out


def store_refunds(ctx: SyncContext, conn, data: list[dict], order_of: dict[str, str]) -> None:
    rows = []
    for r in data:
        rid = str(r["id"])
        amount, currency = _cents(r.get("refund_amount")), _currency(r.get("currency"))
        created = iso_ts(r.get("created_at"))
        if rid not in order_of or not amount or currency is None or created is None:
            continue
        rows.append((ctx.origin, rid, order_of[rid], abs(amount), currency, created))
    ctx.add_changed(refunds=refunds(conn, rows))


PREPARE = {"customers": lambda ctx, client, items: None, "orders": _missing_customers,
           "charges": lambda ctx, client, items: _missing_customers(
               ctx, client, [c for c in items if c.get("subscription_rebill_id") is not None]),
           "refunds": _refunded_orders}
STORE = {"customers": store_customers, "orders": store_orders, "charges": store_rebills, "refunds": store_refunds}

