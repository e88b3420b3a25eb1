"""Fake Ontraport (REST API v1), as strict as Ontraport where a connector could get it wrong.

Sources: https://api.ontraport.com/doc/ (authentication, rate limiting,
pagination, criteria), as summarised in api-evangelist/ontraport
(conventions/ontraport-conventions.yml, rate-limits/ontraport-rate-limits.yml);
transaction status codes as in mysteryx93/OntraportApi.NET
(OntraportApi/Models/ApiTransaction.cs: 0 unpaid, 1 paid, 2 refunded,
3 partially refunded, 4 void, 5 declined, 6 written off, 7 pending).

- Both ``Api-Appid`` and ``Api-Key`` are required; a wrong pair is a 401.
- ``start``/``range``: a range over 50 is cut to 50 without a word, as Ontraport does.
- ``condition`` is the JSON criteria array (``field``/``op``/``value``; ops
  ``>``, ``=``); ``sort``/``sortDir``; ``listFields`` limits the fields returned.
- Answers are ``{"code": 0, "data": [...], "account_id": "…"}`` with numbers as text,
  and carry ``X-Rate-Limit-Limit: 180``, ``-Remaining``, ``-Reset``.
"""

from __future__ import annotations

import json
import time

import httpx

from .fakes import FakeVendor

APP_ID = "2_123456_AbCdEfGhI"
KEY = "OntraportKey0123456789"


class FakeOntraport(FakeVendor):
    auth_error = "Your App ID and API Key do not authenticate."
    max_range = 50

    def __init__(self) -> None:
        super().__init__()
        self.clock = int(time.time()) - 86_400
        self.contacts: dict[str, dict] = {}  # id -> contact
        self.tags: dict[str, str] = {}  # tag id -> name
        self.transactions: dict[str, dict] = {}
        self.remaining = 180

    def tick(self) -> int:
        self.clock += 1
        return self.clock

    def catch_up(self) -> None:
        self.clock = max(self.clock, int(time.time()))

    def tag(self, name: str) -> str:
        tid = next((k for k, v in self.tags.items() if v == name), str(len(self.tags) + 1))
        self.tags[tid] = name
        return tid

    def contact(self, email: str, first: str = "", last: str = "", tags: tuple[str, ...] = ()) -> dict:
        t = self.tick()
        c = next((c for c in self.contacts.values() if c["email"].lower() == email.lower()), None)
        if c is None:
            c = self.contacts.setdefault(str(len(self.contacts) + 1), {"id": str(len(self.contacts) + 1),
                                                                      "email": email, "date": str(t)})
        ids = [self.tag(n) for n in tags]
        c.update(firstname=first, lastname=last, dlm=str(t),
                 contact_cat="".join(f"*/*{i}" for i in ids) + "*/*" if ids else "")
        return c

    def transaction(self, contact: dict, total: str, status: int = 1, product: str = "Course") -> dict:
        tid = str(len(self.transactions) + 1)
        offer = json.dumps({"products": [{"id": "1", "name": product, "quantity": "1", "price": [{"price": total}]}]})
        self.transactions[tid] = {"id": tid, "hidden": "0", "status": str(status), "contact_id": contact["id"],
                                  "order_id": "0", "date": str(self.tick()), "subtotal": total, "tax": "0",
                                  "shipping": "0", "total": total, "offer_data": offer}
        return self.transactions[tid]

    # -- HTTP ------------------------------------------------------------------
    def handle(self, request):
        if self.revoked:  # Ontraport's 401 is a line of text, not JSON
            self.log.append(request)
            return httpx.Response(401, text=self.auth_error)
        return super().handle(request)

    def authorize(self, request):
        if request.headers.get("api-appid") != APP_ID or request.headers.get("api-key") != KEY:
            return httpx.Response(401, text=self.auth_error)
        return None

    def route(self, request):
        self.remaining = self.remaining - 1 if self.remaining > 0 else 179  # a used-up minute has rolled over
        headers = {"X-Rate-Limit-Limit": "180", "X-Rate-Limit-Remaining": str(self.remaining),
                   "X-Rate-Limit-Reset": "37"}
        q = request.url.params
        path = request.url.path
        if path == "/1/Contacts":
            items = list(self.contacts.values())
        elif path == "/1/Tags":
            items = [{"tag_id": k, "tag_name": v, "object_type_id": "0"} for k, v in self.tags.items()]
        elif path == "/1/Transactions":
            items = list(self.transactions.values())
        else:
            return httpx.Response(400, headers=headers, text="Invalid object")
        for clause in json.loads(q.get("condition") or "[]"):
            field, op, value = clause["field"]["field"], clause["op"], clause["value"]["value"]
            items = [i for i in items if (float(i.get(field) or 0) > float(value) if op == ">"
                                          else str(i.get(field)) == str(value))]
        if q.get("sort"):
            items.sort(key=lambda i: float(i.get(q["sort"]) or 0), reverse=q.get("sortDir") == "desc")
        if q.get("listFields"):
            fields = q["listFields"].split(",")
            items = [{f: i.get(f) for f in fields} for i in items]
        start, size = int(q.get("start", 0)), min(int(q.get("range", 50)), self.max_range)
        return httpx.Response(200, headers=headers, json={"code": 0, "data": items[start:start + size],
                                                          "account_id": "123456", "misc": []})
