"""Fake HighLevel (API v2), as strict as HighLevel where a connector could get it wrong.

Sources: https://marketplace.gohighlevel.com/docs/ (Get Contacts, Search
Opportunity, private integrations), the shapes as GoHighLevel/highlevel-api-sdk
and its scraped reference pages show them (oscarcandoit/support-docs
api/ghl-api/), rate limits from the API FAQ.

- ``Authorization: Bearer <token>`` and ``Version: 2021-07-28`` are both
  required: a missing version is a 400, a wrong token a 401 ``Invalid JWT``.
- The token is for one location: another ``locationId``/``location_id`` is a
  403 "The token does not have access to this location.".
- ``GET /contacts/?locationId&limit`` (limit at most 100, more is a 422),
  oldest first; ``GET /opportunities/search?location_id&status&limit``.
  Both page by ``startAfter`` (epoch ms) and ``startAfterId``; ``meta`` has
  ``total``, ``nextPageUrl`` (null on the last page), ``startAfter``, ``startAfterId``.
- Answers carry ``X-RateLimit-Max: 100``, ``X-RateLimit-Remaining`` (per 10 s),
  ``X-RateLimit-Interval-Milliseconds: 10000``; errors are ``{"statusCode", "message"}``.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import httpx

from .fakes import FakeVendor

TOKEN = "pit-0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d"
LOCATION = "ve9EPM428h8vShlRW1KT"
API = "https://services.leadconnectorhq.com"


def _error(status: int, message) -> httpx.Response:
    return httpx.Response(status, json={"statusCode": status, "message": message})


def iso_ms(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")


class FakeHighLevel(FakeVendor):
    auth_error = {"statusCode": 401, "message": "Invalid JWT"}
    max_limit = 100

    def __init__(self) -> None:
        super().__init__()
        self.now = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(days=2)
        self.contacts: dict[str, dict] = {}
        self.opportunities: dict[str, dict] = {}

    def tick(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now

    def contact(self, email: str, first: str = "", last: str = "", tags: tuple[str, ...] = (),
                first_touch: dict | None = None, last_touch: dict | None = None, added: str | None = None) -> dict:
        t = iso_ms(self.tick())
        c = next((c for c in self.contacts.values() if c["email"].lower() == email.lower()), None)
        if c is None:
            cid = f"hlC{len(self.contacts) + 1:017d}"
            c = self.contacts[cid] = {"id": cid, "locationId": LOCATION, "email": email, "dateAdded": added or t,
                                      "type": "lead", "source": None, "customFields": []}
        c.update(firstName=first or None, lastName=last or None, tags=list(tags), dateUpdated=t)
        if first_touch is not None:
            c["attributionSource"] = first_touch
        if last_touch is not None:
            c["lastAttributionSource"] = last_touch
        return c

    def opportunity(self, contact: dict, value: float, name: str = "Coaching", status: str = "won",
                    when: str | None = None) -> dict:
        t = iso_ms(self.tick())
        oid = f"hlO{len(self.opportunities) + 1:017d}"
        self.opportunities[oid] = {
            "id": oid, "name": name, "monetaryValue": value, "pipelineId": "p1", "pipelineStageId": "s3",
            "status": status, "source": None, "contactId": contact["id"], "createdAt": t, "updatedAt": t,
            "lastStatusChangeAt": when or t,
            "contact": {"id": contact["id"], "name": contact.get("firstName"), "email": contact["email"], "tags": []}}
        return self.opportunities[oid]

    # -- HTTP ------------------------------------------------------------------
    def authorize(self, request):
        if request.headers.get("authorization") != f"Bearer {TOKEN}":
            return httpx.Response(401, json=self.auth_error)
        if request.headers.get("version") != "2021-07-28":
            return _error(400, "Version header is missing or invalid")
        return None

    def route(self, request):
        headers = {"X-RateLimit-Max": "100", "X-RateLimit-Remaining": "99",
                   "X-RateLimit-Interval-Milliseconds": "10000"}
        q = request.url.params
        limit = int(q.get("limit", 20))
        if limit > self.max_limit:
            return _error(422, ["limit must not be greater than 100"])
        if request.url.path == "/contacts/":
            if q.get("locationId") != LOCATION:
                return _error(403, "The token does not have access to this location.")
            key, items, stamp = "contacts", list(self.contacts.values()), "dateAdded"
        elif request.url.path == "/opportunities/search":
            if q.get("location_id") != LOCATION:
                return _error(403, "The token does not have access to this location.")
            key, stamp = "opportunities", "createdAt"
            items = [o for o in self.opportunities.values() if q.get("status") in (None, "all", o["status"])]
        else:
            return _error(404, "Not Found")
        order = sorted(items, key=lambda i: (_ms(i[stamp]), i["id"]))
        if q.get("startAfterId"):
            after = (int(q["startAfter"]), q["startAfterId"])
            order = [i for i in order if (_ms(i[stamp]), i["id"]) > after]
        page = order[:limit]
        meta = {"total": len(items), "nextPageUrl": None, "startAfterId": None, "startAfter": None,
                "currentPage": None, "nextPage": None, "prevPage": None}
        if len(order) > limit:
            last = page[-1]
            meta.update(startAfterId=last["id"], startAfter=_ms(last[stamp]))
            meta["nextPageUrl"] = str(httpx.URL(f"{API}{request.url.path}", params={
                **dict(q), "startAfter": str(_ms(last[stamp])), "startAfterId": last["id"]}))
        return httpx.Response(200, headers=headers, json={key: page, "meta": meta})


def _ms(value: str) -> int:
    return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)
