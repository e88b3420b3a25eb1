"""Fake ActiveCampaign, Kit and Keap (HubSpot: fakes_hubspot.py), each with its own paging, limits and error bodies.

Each is as strict as its vendor where a connector could get it wrong: the auth
header and scheme, page-size maxima, result caps, which field a date filter
reads, how a time zone is interpreted. The vendor documentation each rule
follows is named beside it (and listed in docs/connectors.md).
"""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone

import httpx

from .fakes import FakeVendor

T0 = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=3)


def iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


class Clocked(FakeVendor):
    """Records with an 'updated' time that moves forward as people are added or changed."""

    def __init__(self) -> None:
        super().__init__()
        self.now = T0
        self.people: list[dict] = []

    def tick(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now

    def catch_up(self) -> None:
        """Records made from now on are newer than any sync that already ran."""
        self.now = max(self.now, datetime.now(timezone.utc))

    def person(self, email: str, first: str = "Pat", last: str = "Lee", tags: tuple[str, ...] = (),
               updated: datetime | None = None) -> dict:
        t = updated or self.tick()
        p = {"id": len(self.people) + 1, "email": email, "first": first, "last": last, "created": t, "updated": t,
             "tags": list(tags)}
        self.people.append(p)
        return p

    def changed_since(self, since: datetime | None) -> list[dict]:
        return [p for p in self.people if since is None or p["updated"] >= since]


class FakeActiveCampaign(Clocked):
    """API v3: an account answers times with its own offset and reads a filter's wall-clock time in its
    own zone; lists take limit <= 100 (https://developers.activecampaign.com/reference/pagination) and
    keep a stable order only when asked for one (``orders[id]=ASC``). E-commerce orders
    (https://developers.activecampaign.com/reference/list-all-orders) carry ``totalPrice`` in cents and
    name their buyer by ``customerid`` (an ``ecomCustomer``; the order's own ``email`` may be empty);
    abandoned carts are orders without ``externalid``. Deals carry ``value`` in cents and ``status``
    0 open, 1 won, 2 lost."""

    auth_error = {"message": "No Result found for Subscriber with id 0"}
    auth_status = 403
    zone = timezone(timedelta(hours=-5))  # the account's time zone
    token = "ac-token"

    def __init__(self) -> None:
        super().__init__()
        self.tags = {"1": "customer", "2": "webinar"}
        self.contact_tags: list[dict] = []
        self.customers: dict[str, str] = {}  # ecomCustomer id -> email
        self.ecom: list[dict] = []
        self.deals: list[dict] = []

    def order(self, email: str, cents: int, currency: str = "USD", cart: bool = False,
              with_email: bool = False) -> dict:
        cid = next((k for k, v in self.customers.items() if v == email), None)
        if cid is None:
            cid = str(len(self.customers) + 1)
            self.customers[cid] = email
        t = self.tick().astimezone(self.zone).isoformat()
        o = {"id": str(len(self.ecom) + 1), "externalid": None if cart else f"shop-{len(self.ecom) + 1}",
             "externalcheckoutid": f"chk-{len(self.ecom) + 1}", "email": email if with_email else "",
             "totalPrice": str(cents), "currency": currency, "customerid": cid, "connectionid": "1",
             "orderDate": t, "createdDate": t, "updatedDate": t}
        self.ecom.append(o)
        return o

    def deal(self, contact: dict, cents: int, status: str = "1", currency: str = "usd") -> dict:
        t = self.tick()
        d = {"id": str(len(self.deals) + 1), "contact": str(contact["id"]), "value": str(cents),
             "currency": currency, "status": status, "title": f"Deal {len(self.deals) + 1}", "updated": t,
             "created": t}
        self.deals.append(d)
        return d

    def move_deal(self, deal: dict, status: str) -> None:
        deal["status"], deal["updated"] = status, self.tick()

    def person(self, email, first="Pat", last="Lee", tags=(), updated=None):
        p = super().person(email, first, last, tags, updated)
        for name in tags:
            tid = next(k for k, v in self.tags.items() if v == name)
            self.contact_tags.append({"id": str(len(self.contact_tags) + 1), "contact": str(p["id"]), "tag": tid,
                                      "cdate": p["created"].astimezone(self.zone).isoformat()})
        return p

    def authorize(self, request):
        if request.headers.get("api-token") != self.token:
            return httpx.Response(403, json=self.auth_error)
        return None

    def local(self, value: str) -> datetime:
        """A filter's date as the account reads it: its wall-clock time in the account's zone."""
        return datetime.fromisoformat(value.replace("Z", "")).replace(tzinfo=None).replace(tzinfo=self.zone)

    def route(self, request):
        q = request.url.params
        limit, offset = int(q.get("limit", 20)), int(q.get("offset", 0))
        if limit > 100:
            return httpx.Response(400, json={"message": "limit must be at most 100"})
        path = request.url.path
        if path == "/api/3/contacts":
            since = q.get("filters[updated_after]")
            rows = self.changed_since(self.local(since) if since else None)
            page = rows[offset:offset + limit]
            return httpx.Response(200, json={"contacts": [
                {"id": str(p["id"]), "email": p["email"], "firstName": p["first"], "lastName": p["last"],
                 "cdate": p["created"].astimezone(self.zone).isoformat(),
                 "udate": p["updated"].astimezone(self.zone).isoformat(), "links": {}} for p in page],
                "meta": {"total": str(len(rows)), "page_input": {"limit": limit, "offset": offset}}})
        if path == "/api/3/tags":
            items = [{"id": k, "tag": v, "tagType": "contact"} for k, v in self.tags.items()]
            return httpx.Response(200, json={"tags": items[offset:offset + limit], "meta": {"total": str(len(items))}})
        if path == "/api/3/contactTags":
            # Without an order the listing promises none; newest first here, which shifts offsets as tags arrive.
            order = q.get("orders[id]")
            rows = sorted(self.contact_tags, key=lambda t: int(t["id"]), reverse=order != "ASC")
            return httpx.Response(200, json={"contactTags": rows[offset:offset + limit],
                                             "meta": {"total": str(len(rows))}})
        if path == "/api/3/ecomOrders":
            rows = sorted(self.ecom, key=lambda o: int(o["id"]), reverse=q.get("orders[id]") != "ASC")
            return httpx.Response(200, json={"ecomOrders": rows[offset:offset + limit],
                                             "meta": {"total": str(len(rows))}})
        if path.startswith("/api/3/ecomCustomers/"):
            cid = path.rsplit("/", 1)[1]
            if cid not in self.customers:
                return httpx.Response(404, json={"message": f"No Result found for EcomCustomer with id {cid}"})
            return httpx.Response(200, json={"ecomCustomer": {"id": cid, "email": self.customers[cid],
                                                              "connectionid": "1", "externalid": f"c{cid}"}})
        if path == "/api/3/deals":
            since = q.get("filters[updated_after]")
            rows = [d for d in self.deals if not since or d["updated"] >= self.local(since)]
            if q.get("filters[status]") is not None:
                rows = [d for d in rows if d["status"] == q["filters[status]"]]
            page = rows[offset:offset + limit]
            return httpx.Response(200, json={"deals": [
                {k: v for k, v in d.items() if k not in ("updated", "created")}
                | {"mdate": d["updated"].astimezone(self.zone).isoformat(),
                   "cdate": d["created"].astimezone(self.zone).isoformat(), "edate": None} for d in page],
                "meta": {"total": str(len(rows)), "currencies": {}}})
        return httpx.Response(404, json={"message": "No Result found"})


class FakeKit(Clocked):
    """API v4 with an API key (https://developers.kit.com/api-reference/authentication): the key in
    ``X-Kit-Api-Key``; 120 requests per 60 s per key, over which a plain-text 429 without Retry-After
    (https://developers.kit.com/api-reference/rate-limits); cursor paging, per_page <= 1000. Purchases
    (https://developers.kit.com/api-reference/purchases/list-purchases) come newest first, with no date
    filter, and their cursors encode the last id (``WzFd`` is ``[1]``), so new ones never shift a page."""

    auth_error = {"errors": ["The access token is invalid"]}
    key = "kit_key"

    def __init__(self) -> None:
        super().__init__()
        self.limit: tuple[int, float, object] | None = None  # (calls, seconds, clock) when enforced
        self.recent: list[float] = []
        self.purchases: list[dict] = []

    def purchase(self, email: str, total: float, currency: str = "USD", products: tuple[str, ...] = ("Course",),
                 status: str = "paid") -> dict:
        t = self.tick()
        p = {"id": len(self.purchases) + 1, "transaction_id": f"txn-{len(self.purchases) + 1}", "subscriber_id": None,
             "status": status, "email_address": email, "currency": currency, "transaction_time": iso(t),
             "subtotal": total, "discount": 0, "tax": 0, "total": total,
             "products": [{"quantity": 1, "lid": f"l{i}", "unit_price": total / len(products), "sku": None,
                           "name": name, "pid": f"p-{name}"} for i, name in enumerate(products)]}
        self.purchases.append(p)
        return p

    def _purchases(self, q) -> dict:
        per = int(q.get("per_page", 500))
        rows = sorted(self.purchases, key=lambda p: -p["id"])
        if q.get("after"):
            last = json.loads(base64.b64decode(q["after"]))[0]
            rows = [p for p in rows if p["id"] < last]
        page = rows[:per]

        def cursor(p):
            return base64.b64encode(json.dumps([p["id"]]).encode()).decode() if p else None

        return {"purchases": page, "pagination": {
            "has_previous_page": bool(q.get("after")), "has_next_page": len(rows) > per,
            "start_cursor": cursor(page[0] if page else None), "end_cursor": cursor(page[-1] if page else None),
            "per_page": per}}

    def authorize(self, request):
        if request.headers.get("x-kit-api-key") != self.key:
            return httpx.Response(401, json=self.auth_error)
        if self.limit:
            calls, per, clock = self.limit
            now = clock()
            self.recent = [t for t in self.recent if now - t < per]
            if len(self.recent) >= calls:
                return httpx.Response(429, text="Retry later", headers={"content-type": "text/plain"})
            self.recent.append(now)
        return None

    def untag(self, person: dict, name: str) -> None:
        person["tags"].remove(name)

    def _subscriber(self, p, tagged=None):
        out = {"id": p["id"], "first_name": p["first"], "email_address": p["email"], "state": "active",
               "created_at": iso(p["created"]), "fields": {}}
        if tagged:
            out["tagged_at"] = iso(tagged)
        return out

    def _page(self, rows, q):
        per, start = int(q.get("per_page", 500)), int(q.get("after") or 0)
        page = rows[start:start + per]
        more = start + per < len(rows)
        return {"pagination": {"has_previous_page": start > 0, "has_next_page": more,
                               "start_cursor": str(start), "end_cursor": str(start + per) if more else None,
                               "per_page": per}}, page

    def tag_names(self) -> list[str]:
        return sorted({t for p in self.people for t in p["tags"]} | set(getattr(self, "extra_tags", ())))

    def route(self, request):
        q, path = request.url.params, request.url.path
        if int(q.get("per_page", 500)) > 1000:
            return httpx.Response(422, json={"errors": ["per_page must be at most 1000"]})
        if path == "/v4/subscribers":
            since = q.get("updated_after")
            paging, page = self._page(self.changed_since(parse(since) if since else None), q)
            return httpx.Response(200, json={"subscribers": [self._subscriber(p) for p in page], **paging})
        if path == "/v4/tags":
            tags = [{"id": i + 1, "name": n, "created_at": iso(T0)} for i, n in enumerate(self.tag_names())]
            paging, page = self._page(tags, q)
            return httpx.Response(200, json={"tags": page, **paging})
        if path == "/v4/purchases":
            return httpx.Response(200, json=self._purchases(q))
        if path.startswith("/v4/tags/"):
            name = self.tag_names()[int(path.split("/")[3]) - 1]
            since = parse(q["tagged_after"]) if q.get("tagged_after") else None
            rows = [p for p in self.people if name in p["tags"] and (since is None or p["created"] >= since)]
            paging, page = self._page(rows, q)
            return httpx.Response(200, json={"subscribers": [self._subscriber(p, p["created"]) for p in page],
                                             **paging})
        return httpx.Response(404, json={"errors": ["Not Found"]})


class FakeKeap(Clocked):
    """REST v1: Personal Access Tokens and Service Account Keys in ``X-Keap-API-Key``, OAuth access tokens
    as Bearer (https://developer.infusionsoft.com/pat-and-sak); limit <= 1000; ``/orders`` takes ``order``
    in {order_date, update_date} (newest first) and ``since`` reads the ORDER date, so a refund of an old
    order is not "since" anything."""

    auth_error = {"fault": {"faultstring": "Invalid Access Token",
                            "detail": {"errorcode": "keymanagement.service.invalid_access_token"}}}
    api_keys = {"KeapAK-token"}

    client = ("client-id", "client-secret")  # the OAuth app

    def __init__(self) -> None:
        super().__init__()
        self.tag_names = {91: "Customer", 92: "Lead"}
        self.orders: list[dict] = []
        self.oauth_tokens: set[str] = set()
        self.refresh_tokens: set[str] = set()
        self.refreshes = 0

    def _token(self, request) -> httpx.Response:
        """POST /token (https://developer.infusionsoft.com/getting-started-oauth-keys/): a refresh rotates both."""
        scheme, _, blob = request.headers.get("authorization", "").partition(" ")
        if scheme != "Basic" or base64.b64decode(blob).decode() != ":".join(self.client):
            return httpx.Response(401, json={"error": "invalid_client", "error_description": "Invalid client"})
        form = dict(pair.split("=", 1) for pair in request.content.decode().split("&"))
        if form.get("grant_type") != "refresh_token" or form.get("refresh_token") not in self.refresh_tokens:
            return httpx.Response(400, json={"error": "invalid_grant", "error_description": "Invalid refresh token"})
        self.refreshes += 1
        self.refresh_tokens.discard(form["refresh_token"])
        access, refresh = f"oauth-access-{self.refreshes}", f"oauth-refresh-{self.refreshes}"
        self.oauth_tokens.add(access)
        self.refresh_tokens.add(refresh)
        return httpx.Response(200, json={"access_token": access, "refresh_token": refresh, "expires_in": 86400,
                                         "token_type": "bearer", "scope": "full|ab123.infusionsoft.com"})

    def authorize(self, request):
        if request.url.path == "/token":
            return None  # its own Basic auth, checked in _token
        if request.headers.get("x-keap-api-key") in self.api_keys:
            return None
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme == "Bearer" and token in self.oauth_tokens:
            return None
        return httpx.Response(401, json=self.auth_error)

    def order(self, person: dict, total: float, refund: float = 0.0, when: datetime | None = None,
              items: tuple[tuple[str, str], ...] = (("Product", "Course"),), title: str = "Course") -> dict:
        """``items``: (type, product name) pairs; an item's name is what the order form printed, its
        ``product`` the catalogue entry (a Shipping or Tax item has none)."""
        t = when or self.tick()
        o = {"id": 1000 + len(self.orders), "title": title, "status": "PAID", "total": total,
             "total_paid": total, "total_due": 0.0, "refund_total": refund, "order_date": iso(t),
             "creation_date": iso(t), "modification_date": iso(t),
             "contact": {"id": person["id"], "email": person["email"], "first_name": person["first"],
                         "last_name": person["last"]},
             "order_items": [{"id": 5000 + n, "type": kind, "name": f"{name} (order form)", "quantity": 1,
                              "price": total / len(items), "description": "", "notes": "",
                              **({"product": {"id": 700 + n, "name": name, "sku": None, "description": "",
                                              "shippable": False, "taxable": False}}
                                 if kind.lower() not in ("shipping", "tax") else {})}
                             for n, (kind, name) in enumerate(items)]}
        self.orders.append(o)
        return o

    def refund_order(self, order: dict, amount: float) -> None:
        """A refund recorded today on an order of any age: only its modification date moves."""
        order["refund_total"] = amount
        order["modification_date"] = iso(self.tick())

    def route(self, request):
        q, path = request.url.params, request.url.path
        if path == "/token" and request.method == "POST":
            return self._token(request)
        limit, offset = int(q.get("limit", 1000)), int(q.get("offset", 0))
        if limit > 1000:
            return httpx.Response(400, json={"message": "limit must be at most 1000"})
        since = parse(q["since"]) if q.get("since") else None
        if path == "/crm/rest/v1/tags":
            items = [{"id": k, "name": v, "category": None} for k, v in self.tag_names.items()]
            return httpx.Response(200, json={"tags": items[offset:offset + limit], "count": len(items)})
        if path == "/crm/rest/v1/contacts":
            rows = self.changed_since(since)
            return httpx.Response(200, json={"contacts": [
                {"id": p["id"], "given_name": p["first"], "family_name": p["last"],
                 "email_addresses": [{"email": p["email"], "field": "EMAIL1"}],
                 "date_created": iso(p["created"]), "last_updated": iso(p["updated"]),
                 "tag_ids": [k for k, v in self.tag_names.items() if v in p["tags"]]}
                for p in rows[offset:offset + limit]], "count": len(rows), "next": "", "previous": ""})
        if path == "/crm/rest/v1/orders":
            order = q.get("order", "order_date")
            if order not in ("order_date", "update_date"):
                return httpx.Response(400, json={"message": f"Invalid order field: {order}"})
            field = "order_date" if order == "order_date" else "modification_date"
            rows = [o for o in self.orders if since is None or parse(o["order_date"]) >= since]
            rows.sort(key=lambda o: (o[field], o["id"]), reverse=True)
            return httpx.Response(200, json={"orders": rows[offset:offset + limit], "count": len(rows)})
        return httpx.Response(404, json={"message": "not found"})
