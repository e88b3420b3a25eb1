"""Fake HubSpot: CRM search over contacts and deals, Lists API v3, and deal-to-contact associations.

As strict as HubSpot where a connector could get it wrong:
- search (https://developers.hubspot.com/docs/api-reference/search/guide): at most 10,000 results per
  query (paging past it is a 400), 200 per page, one sort, a filter on a property the object does not
  have is a 400 (deals have ``hs_lastmodifieddate``, not ``lastmodifieddate``), only the properties asked
  for come back, and new changes reach the index late;
- every endpoint needs its scope, and a 403 ``MISSING_SCOPES`` names it;
- lists (https://developers.hubspot.com/docs/guides/api/crm/lists/overview): ``POST /crm/v3/lists/search``
  pages by ``offset``/``count`` (at most 500) with ``hasMore``, company lists among the contact lists;
  ``GET /crm/v3/lists/{listId}/memberships`` pages by ``after``, at most 250, in ``recordId`` order
  (https://developers.hubspot.com/docs/api-reference/legacy/crm/lists/memberships/get-memberships-by-id);
- associations (https://developers.hubspot.com/docs/api-reference/legacy/crm/associations/associate-records/batch/get-associations):
  a deal without contacts is an error in a 207 answer.
A person's ``tags`` are the contact lists they are on.
"""

from __future__ import annotations

from datetime import datetime

import httpx

from .fakes_crm import Clocked, iso

SCOPES = {"contacts": "crm.objects.contacts.read", "deals": "crm.objects.deals.read", "lists": "crm.lists.read"}
# object -> (its last-modified property, the properties it has)
OBJECTS = {
    "contacts": ("lastmodifieddate", {"email", "firstname", "lastname", "createdate", "lastmodifieddate",
                                      "lifecyclestage", "hs_object_id"}),
    "deals": ("hs_lastmodifieddate", {"dealname", "amount", "deal_currency_code", "closedate", "dealstage",
                                      "hs_is_closed_won", "hs_lastmodifieddate", "createdate", "pipeline",
                                      "hs_object_id"}),
}
WON_STAGES = {"closedwon", "contractsigned"}  # the default pipeline's and a custom pipeline's won stage


class FakeHubSpot(Clocked):
    auth_error = {"status": "error", "message": "Authentication credentials not found.",
                  "category": "INVALID_AUTHENTICATION", "correlationId": "abc"}
    cap = 10_000
    token = "pat-na1-xyz"

    def __init__(self) -> None:
        super().__init__()
        self.scopes = set(SCOPES.values())
        self.unindexed: set[int] = set()  # changed, but not yet searchable (index lag)
        self.deals: list[dict] = []
        self.company_lists = ["Target accounts"]

    # -- data ---------------------------------------------------------------------------------
    def person(self, email, first="Pat", last="Lee", tags=(), updated=None):
        p = super().person(email, first, last, tags, updated)
        p["lifecycle"] = "lead"
        return p

    def set_stage(self, person: dict, stage: str) -> None:
        person["lifecycle"], person["updated"] = stage, self.tick()

    def leave(self, person: dict, list_name: str) -> None:
        person["tags"].remove(list_name)  # leaving a list does not change the contact's modified date

    def deal(self, contacts: list[dict], amount: str, stage: str = "closedwon", currency: str | None = "USD",
             closed: datetime | None = None) -> dict:
        t = self.tick()
        d = {"id": 9000 + len(self.deals), "amount": amount, "currency": currency, "stage": stage,
             "closed": closed or t, "created": t, "updated": t, "contacts": [c["id"] for c in contacts],
             "name": f"Deal {len(self.deals) + 1}"}
        self.deals.append(d)
        return d

    def move_deal(self, deal: dict, stage: str) -> None:
        deal["stage"], deal["updated"] = stage, self.tick()

    def lists(self) -> list[dict]:
        names = sorted({t for p in self.people for t in p["tags"]})
        contact = [{"listId": str(100 + i), "name": n, "objectTypeId": "0-1", "processingType": "MANUAL"}
                   for i, n in enumerate(names)]
        company = [{"listId": str(900 + i), "name": n, "objectTypeId": "0-2", "processingType": "DYNAMIC"}
                   for i, n in enumerate(self.company_lists)]
        return sorted(contact + company, key=lambda x: x["name"])

    # -- shapes ---------------------------------------------------------------------------------
    def _properties(self, kind: str, row: dict) -> dict:
        if kind == "contacts":
            return {"email": row["email"], "firstname": row["first"], "lastname": row["last"],
                    "createdate": iso(row["created"]), "lastmodifieddate": iso(row["updated"]),
                    "lifecyclestage": row["lifecycle"], "hs_object_id": str(row["id"])}
        return {"dealname": row["name"], "amount": row["amount"], "deal_currency_code": row["currency"],
                "closedate": iso(row["closed"]), "dealstage": row["stage"],
                "hs_is_closed_won": "true" if row["stage"] in WON_STAGES else "false",
                "hs_lastmodifieddate": iso(row["updated"]), "createdate": iso(row["created"]),
                "pipeline": "default", "hs_object_id": str(row["id"])}

    # -- HTTP ---------------------------------------------------------------------------------
    def authorize(self, request):
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return httpx.Response(401, json=self.auth_error)
        path = request.url.path
        needs = ([SCOPES["lists"]] if path.startswith("/crm/v3/lists") else
                 [SCOPES["deals"], SCOPES["contacts"]] if path.startswith("/crm/v4/associations/deals") else
                 [SCOPES["deals"]] if "/deals/" in path else [SCOPES["contacts"]])
        missing = [s for s in needs if s not in self.scopes]
        if missing:
            return httpx.Response(403, json={
                "status": "error", "category": "MISSING_SCOPES", "correlationId": "def",
                "message": "This app hasn't been granted all required scopes to make this call.",
                "errors": [{"message": "One or more of the following scopes are required.",
                            "context": {"requiredGranularScopes": missing}}]})
        return None

    @staticmethod
    def _bad(message: str) -> httpx.Response:
        return httpx.Response(400, json={"status": "error", "message": message, "category": "VALIDATION_ERROR"})

    def route(self, request):
        path = request.url.path
        for kind in OBJECTS:
            if path == f"/crm/v3/objects/{kind}/search" and request.method == "POST":
                return self._search(kind, self.body(request))
        if path == "/crm/v3/lists/search" and request.method == "POST":
            return self._list_search(self.body(request))
        if path.startswith("/crm/v3/lists/") and path.endswith("/memberships"):
            return self._memberships(path.split("/")[4], request.url.params)
        if path == "/crm/v4/associations/deals/contacts/batch/read" and request.method == "POST":
            return self._associations(self.body(request))
        return httpx.Response(404, json={"status": "error", "message": "not found"})

    def _search(self, kind: str, body: dict) -> httpx.Response:
        modified, known = OBJECTS[kind]
        limit, sorts = int(body.get("limit", 10)), body.get("sorts") or []
        if limit > 200:
            return self._bad("limit must be at most 200")
        if len(sorts) > 1:
            return self._bad("only one sort is supported")
        rows = ([p for p in self.people if p["id"] not in self.unindexed] if kind == "contacts" else list(self.deals))
        for group in body.get("filterGroups") or []:
            for f in group["filters"]:
                if f["propertyName"] not in (modified, "hs_object_id"):
                    return self._bad(f"Property \"{f['propertyName']}\" does not exist on {kind}")
                rows = [r for r in rows if self._match(r, f)]
        field = sorts[0]["propertyName"] if sorts else "hs_object_id"
        if field not in known:
            return self._bad(f"Property \"{field}\" does not exist on {kind}")
        rows.sort(key=(lambda r: (r["updated"], r["id"])) if field == modified else (lambda r: r["id"]))
        after = int(body.get("after") or 0)
        if after >= self.cap:
            return self._bad("paging beyond 10000 is not allowed")
        asked = set(body.get("properties") or []) & known
        page = rows[after:after + limit]
        out = {"total": len(rows), "results": [
            {"id": str(r["id"]),
             "properties": {k: v for k, v in self._properties(kind, r).items() if k in asked | {"hs_object_id"}},
             "createdAt": iso(r["created"]), "updatedAt": iso(r["updated"]), "archived": False} for r in page]}
        if after + limit < len(rows):
            out["paging"] = {"next": {"after": str(after + limit), "link": "..."}}
        return httpx.Response(200, json=out)

    @staticmethod
    def _match(row: dict, f: dict) -> bool:
        value = int(f["value"])
        mine = row["id"] if f["propertyName"] == "hs_object_id" else int(row["updated"].timestamp() * 1000)
        return {"GTE": mine >= value, "GT": mine > value, "EQ": mine == value, "LT": mine < value,
                "LTE": mine <= value}[f["operator"]]

    def _list_search(self, body: dict) -> httpx.Response:
        count, offset = int(body.get("count", 20)), int(body.get("offset", 0))
        if count > 500:
            return self._bad("count must be at most 500")
        found = self.lists()
        page = found[offset:offset + count]
        return httpx.Response(200, json={"lists": page, "hasMore": offset + count < len(found),
                                         "offset": offset + len(page), "total": len(found)})

    def _memberships(self, list_id: str, q) -> httpx.Response:
        lst = next((x for x in self.lists() if x["listId"] == list_id), None)
        if lst is None:
            return httpx.Response(404, json={"status": "error", "message": f"List {list_id} does not exist."})
        limit, start = int(q.get("limit", 100)), int(q.get("after") or 0)
        if limit > 250:
            return self._bad("limit must be at most 250")
        members = sorted((p for p in self.people if lst["name"] in p["tags"]), key=lambda p: p["id"])
        page = members[start:start + limit]
        out = {"results": [{"recordId": str(p["id"]), "membershipTimestamp": iso(p["created"])} for p in page],
               "total": len(members)}
        if start + limit < len(members):
            out["paging"] = {"next": {"after": str(start + limit)}}
        return httpx.Response(200, json=out)

    def _associations(self, body: dict) -> httpx.Response:
        inputs = body.get("inputs") or []
        if len(inputs) > 1000:
            return self._bad("at most 1000 inputs")
        deals = {str(d["id"]): d for d in self.deals}
        results, errors = [], []
        for i in inputs:
            d = deals.get(str(i["id"]))
            if d and d["contacts"]:
                results.append({"from": {"id": str(d["id"])}, "to": [
                    {"toObjectId": c, "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": 3,
                                                            "label": None}]} for c in d["contacts"]]})
            else:
                errors.append({"status": "error", "category": "OBJECT_NOT_FOUND",
                               "message": f"No contacts are associated with deal {i['id']}.",
                               "context": {"fromObjectId": [str(i["id"])]}})
        out = {"status": "COMPLETE", "results": results, "startedAt": iso(self.now), "completedAt": iso(self.now)}
        if errors:
            out.update(errors=errors, numErrors=len(errors))
        return httpx.Response(207 if errors else 200, json=out)
