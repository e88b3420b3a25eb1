"""Fake HubSpot, ActiveCampaign, Kit, Keap and PayPal, each with its own paging and error bodies."""

from __future__ import annotations

import base64
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

    def person(self, email: str, first: str = "Pat", last: str = "Lee", tags: tuple[str, ...] = ()) -> dict:
        t = self.tick()
        p = {"id": len(self.people) + 1, "email": email, "first": first, "last": last, "created": t, "updated": t,
             "tags": list(tags)}
        self.people.append(p)
        return p

    def changed_since(self, since: datetime | None) -> list[dict]:
        return [p for p in self.people if since is None or p["updated"] >= since]


class FakeHubSpot(Clocked):
    auth_error = {"status": "error", "message": "Authentication credentials not found.",
                  "category": "INVALID_AUTHENTICATION", "correlationId": "abc"}
    cap = 10_000

    def route(self, request):
        if request.url.path != "/crm/v3/objects/contacts/search":
            return httpx.Response(404, json={"status": "error", "message": "not found"})
        body = self.body(request)
        gte = int(body["filterGroups"][0]["filters"][0]["value"])
        rows = sorted((p for p in self.people if p["updated"].timestamp() * 1000 >= gte),
                      key=lambda p: (p["updated"], p["id"]))
        after = int(body.get("after") or 0)
        if after >= self.cap:
            return httpx.Response(400, json={"status": "error", "message": "paging beyond 10000 is not allowed"})
        limit = body["limit"]
        page = rows[after:after + limit]
        out = {"total": len(rows), "results": [
            {"id": str(p["id"]), "properties": {"email": p["email"], "firstname": p["first"], "lastname": p["last"],
                                                "createdate": iso(p["created"]), "lastmodifieddate": iso(p["updated"]),
                                                "hs_object_id": str(p["id"])},
             "createdAt": iso(p["created"]), "updatedAt": iso(p["updated"]), "archived": False} for p in page]}
        if after + limit < len(rows):
            out["paging"] = {"next": {"after": str(after + limit), "link": "..."}}
        return httpx.Response(200, json=out)


class FakeActiveCampaign(Clocked):
    auth_error = {"message": "No Result found for Subscriber with id 0"}
    auth_status = 403

    def __init__(self) -> None:
        super().__init__()
        self.tags = {"1": "customer", "2": "webinar"}
        self.contact_tags: list[dict] = []

    def person(self, email, first="Pat", last="Lee", tags=()):
        p = super().person(email, first, last, tags)
        for name in tags:
            tid = next(k for k, v in self.tags.items() if v == name)
            self.contact_tags.append({"id": str(len(self.contact_tags) + 1), "contact": str(p["id"]), "tag": tid,
                                      "cdate": p["created"].isoformat()})
        return p

    def route(self, request):
        q = request.url.params
        limit, offset = int(q.get("limit", 20)), int(q.get("offset", 0))
        path = request.url.path
        if path == "/api/3/contacts":
            since = q.get("filters[updated_after]")
            rows = self.changed_since(parse(since) if since else None)
            page = rows[offset:offset + limit]
            return httpx.Response(200, json={"contacts": [
                {"id": str(p["id"]), "email": p["email"], "firstName": p["first"], "lastName": p["last"],
                 "cdate": p["created"].astimezone(timezone(timedelta(hours=-5))).isoformat(),
                 "udate": p["updated"].isoformat(), "links": {}} for p in page],
                "meta": {"total": str(len(rows)), "page_input": {"limit": limit, "offset": offset}}})
        if path == "/api/3/tags":
            items = [{"id": k, "tag": v, "tagType": "contact"} for k, v in self.tags.items()]
            return httpx.Response(200, json={"tags": items[offset:offset + limit], "meta": {"total": str(len(items))}})
        if path == "/api/3/contactTags":
            return httpx.Response(200, json={"contactTags": self.contact_tags[offset:offset + limit],
                                             "meta": {"total": str(len(self.contact_tags))}})
        return httpx.Response(404, json={"message": "No Result found"})


class FakeKit(Clocked):
    auth_error = {"errors": ["The access token is invalid"]}

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

    def route(self, request):
        q, path = request.url.params, request.url.path
        if path == "/v4/subscribers":
            since = q.get("updated_after")
            paging, page = self._page(self.changed_since(parse(since) if since else None), q)
            return httpx.Response(200, json={"subscribers": [self._subscriber(p) for p in page], **paging})
        if path == "/v4/tags":
            names = sorted({t for p in self.people for t in p["tags"]})
            return httpx.Response(200, json={"tags": [{"id": i + 1, "name": n, "created_at": iso(T0)}
                                                      for i, n in enumerate(names)],
                                             "pagination": {"has_next_page": False, "end_cursor": None}})
        if path.startswith("/v4/tags/"):
            names = sorted({t for p in self.people for t in p["tags"]})
            name = names[int(path.split("/")[3]) - 1]
            since = parse(q["tagged_after"]) if q.get("tagged_after") else None
            rows = [p for p in self.people if name in p["tags"] and (since is None or p["created"] >= since)]
            paging, page = self._page(rows, q)
            return httpx.Response(200, json={"subscribers": [self._subscriber(p, p["created"]) for p in page],
                                             **paging})
        return httpx.Response(404, json={"errors": ["Not Found"]})


class FakeKeap(Clocked):
    auth_error = {"fault": {"faultstring": "Invalid Access Token",
                            "detail": {"errorcode": "keymanagement.service.invalid_access_token"}}}

    def __init__(self) -> None:
        super().__init__()
        self.tag_names = {91: "Customer", 92: "Lead"}
        self.orders: list[dict] = []

    def order(self, person: dict, total: float, refund: float = 0.0, when: datetime | None = None) -> dict:
        t = when or self.tick()
        o = {"id": 1000 + len(self.orders), "title": "Course", "status": "PAID", "total": total,
             "total_paid": total, "total_due": 0.0, "refund_total": refund, "order_date": iso(t),
             "creation_date": iso(t), "modification_date": iso(t),
             "contact": {"id": person["id"], "email": person["email"], "first_name": person["first"],
                         "last_name": person["last"]}, "order_items": [{"name": "Course", "price": total}]}
        self.orders.append(o)
        return o

    def route(self, request):
        q, path = request.url.params, request.url.path
        limit, offset = int(q.get("limit", 1000)), int(q.get("offset", 0))
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
            rows = [o for o in self.orders if since is None or parse(o["modification_date"]) >= since]
            return httpx.Response(200, json={"orders": rows[offset:offset + limit], "count": len(rows)})
        return httpx.Response(404, json={"message": "not found"})


class FakePayPal(FakeVendor):
    auth_error = {"error": "invalid_client", "error_description": "Client Authentication failed"}

    def __init__(self, now: datetime) -> None:
        super().__init__()
        self.txns: list[dict] = []
        self.page_size_seen: list[int] = []
        self.now = now

    def payment(self, email: str, value: str, currency: str = "USD", when: datetime | None = None) -> dict:
        return self._add("T0006", value, currency, email, when)

    def refund(self, payment: dict, value: str, when: datetime | None = None) -> dict:
        t = self._add("T1107", "-" + value, payment["transaction_info"]["transaction_amount"]["currency_code"],
                      None, when)
        t["transaction_info"]["paypal_reference_id"] = payment["transaction_info"]["transaction_id"]
        return t

    def _add(self, code, value, currency, email, when):
        t = when or self.now - timedelta(days=2, minutes=len(self.txns))
        txn = {"transaction_info": {
            "paypal_account_id": "ACCT", "transaction_id": f"TX{len(self.txns):06d}", "transaction_event_code": code,
            "transaction_initiation_date": t.strftime("%Y-%m-%dT%H:%M:%S+0000"),
            "transaction_updated_date": t.strftime("%Y-%m-%dT%H:%M:%S+0000"),
            "transaction_amount": {"currency_code": currency, "value": value}, "transaction_status": "S"},
            "payer_info": {"account_id": "P1", "email_address": email, "address_status": "Y",
                           "payer_name": {"given_name": "Pat", "surname": "Lee"}} if email else {},
            "cart_info": {"item_details": [{"item_name": "Ebook", "item_quantity": "1"}]} if email else {}}
        self.txns.append(txn)
        return txn

    def route(self, request):
        if request.url.path == "/v1/oauth2/token":
            user = base64.b64decode(request.headers["authorization"].split()[1]).decode()
            if user != "client-1:paypal-secret":
                return httpx.Response(401, json=self.auth_error)
            return httpx.Response(200, json={"access_token": "A21AA-token", "token_type": "Bearer",
                                             "expires_in": 32400})
        if request.headers.get("authorization") != "Bearer A21AA-token":
            return httpx.Response(401, json={"name": "AUTHENTICATION_FAILURE", "message": "token expired"})
        q = request.url.params
        start, end = parse(q["start_date"]), parse(q["end_date"])
        assert end - start <= timedelta(days=31), "PayPal refuses windows over 31 days"
        rows = [t for t in self.txns
                if start <= datetime.strptime(t["transaction_info"]["transaction_initiation_date"],
                                              "%Y-%m-%dT%H:%M:%S%z") <= end]
        size, page = int(q["page_size"]), int(q["page"])
        total_pages = max(1, -(-len(rows) // size))
        return httpx.Response(200, json={
            "transaction_details": rows[(page - 1) * size: page * size], "account_number": "ACCT",
            "start_date": q["start_date"], "end_date": q["end_date"],
            "last_refreshed_datetime": self.now.strftime("%Y-%m-%dT%H:%M:%S+0000"),
            "page": page, "total_items": len(rows), "total_pages": total_pages, "links": []})
