"""Fake vendor servers shaped like the real APIs, as httpx handlers.

Each fake answers ``handle(request) -> httpx.Response`` so it runs as an
``httpx.MockTransport`` or, through tests/sync/loopback.py, as a real HTTP
server on 127.0.0.1. Faults are queued and consumed in order by data
requests: ``429`` (with Retry-After), ``500``, ``timeout``; ``revoked`` turns
every request into the vendor's own 401; ``kill_after`` raises
:class:`Killed` (a stand-in for the process dying) once that many data pages
were served.
"""

from __future__ import annotations

import bisect
import copy
import json
from pathlib import Path

import httpx
import orjson

# Stripe's own example objects (tests/fixtures/stripe/README.md: source and licence).
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "stripe"


class Killed(BaseException):
    """The sync process 'dies' here: not an Exception, so nothing catches it as a source failure."""


class FakeVendor:
    auth_error = {"message": "unauthorized"}
    auth_status = 401

    def __init__(self) -> None:
        self.faults: list[tuple] = []
        self.revoked = False
        self.kill_after: int | None = None
        self.log: list[httpx.Request] = []
        self.served = 0

    # -- plumbing --------------------------------------------------------------
    def handle(self, request: httpx.Request) -> httpx.Response:
        self.log.append(request)
        if self.revoked:
            return httpx.Response(self.auth_status, json=self.auth_error)
        if self.faults:
            fault = self.faults.pop(0)
            if fault[0] == "429":
                return httpx.Response(429, headers={"Retry-After": str(fault[1])}, json={"message": "slow down"})
            if fault[0] == "500":
                return httpx.Response(500, json={"message": "internal error"})
            if fault[0] == "timeout":
                raise httpx.ReadTimeout("timed out", request=request)
        if self.kill_after is not None and self.served >= self.kill_after:
            raise Killed()
        self.served += 1
        return self.route(request)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def route(self, request: httpx.Request) -> httpx.Response:
        raise NotImplementedError

    @staticmethod
    def body(request: httpx.Request) -> dict:
        return json.loads(request.content or b"{}")

    def paths(self) -> list[str]:
        return [r.url.path for r in self.log]


# -- Stripe ---------------------------------------------------------------------


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / f"{name}.json").read_text())


class StripeList:
    """One Stripe list, newest first, answering created[gte] + starting_after in O(page)."""

    def __init__(self) -> None:
        self.objects: list[dict] = []
        self.keys: list[tuple] = []
        self.raw: dict[str, bytes] = {}
        self._index: dict[str, int] | None = None

    def add(self, obj: dict) -> None:
        key = (-obj["created"], obj["id"])
        i = bisect.bisect_left(self.keys, key)
        self.keys.insert(i, key)
        self.objects.insert(i, obj)
        self.raw.pop(obj["id"], None)
        self._index = None

    def extend_sorted(self, objs: list[dict]) -> None:
        """Bulk load (benchmark): objects already newest first."""
        self.objects.extend(objs)
        self.keys.extend((-o["created"], o["id"]) for o in objs)
        self._index = None

    def page(self, gte: int | None, after: str | None, limit: int) -> tuple[list[dict], bool]:
        end = bisect.bisect_right(self.keys, (-gte, "\uffff")) if gte is not None else len(self.keys)
        start = 0
        if after:
            if self._index is None:
                self._index = {o["id"]: i for i, o in enumerate(self.objects)}
            start = self._index[after] + 1 if after in self._index else end
        return self.objects[start:min(end, start + limit)], start + limit < end

    def dumps(self, obj: dict) -> bytes:
        raw = self.raw.get(obj["id"])
        if raw is None:
            raw = self.raw[obj["id"]] = orjson.dumps(obj)
        return raw


class FakeStripe(FakeVendor):
    auth_error = {"error": {"message": "Invalid API Key provided: sk_test_****oked",
                            "type": "invalid_request_error"}}
    KINDS = ("customers", "charges", "refunds", "invoices", "subscriptions")

    def __init__(self) -> None:
        super().__init__()
        self.lists = {k: StripeList() for k in self.KINDS}
        self.n = 0
        self.clock = 1_700_000_000

    def _next(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}_{self.n:08d}"

    def customer(self, email: str | None, name: str | None = None, created: int | None = None) -> dict:
        c = fixture("customer") | {"id": self._next("cus"), "email": email, "name": name,
                                   "created": created or self.tick()}
        self.lists["customers"].add(c)
        return c

    def tick(self, seconds: int = 60) -> int:
        self.clock += seconds
        return self.clock

    def charge(self, amount: int, currency: str = "usd", customer: str | None = None, email: str | None = None,
               status: str = "succeeded", created: int | None = None, captured: bool = True) -> dict:
        c = copy.deepcopy(fixture("charge"))
        cid = self._next("ch")
        c.update(id=cid, amount=amount, amount_captured=amount if captured else 0, captured=captured,
                 currency=currency, customer=customer, status=status, paid=status == "succeeded",
                 created=created or self.tick(), payment_intent=cid.replace("ch_", "pi_"), receipt_email=None)
        c["billing_details"]["email"] = email
        c["refunds"] = {"object": "list", "data": [], "has_more": False, "url": f"/v1/charges/{cid}/refunds"}
        self.lists["charges"].add(c)
        return c

    def refund(self, charge: dict, amount: int, created: int | None = None) -> dict:
        r = fixture("refund") | {"id": self._next("re"), "charge": charge["id"], "amount": amount,
                                 "currency": charge["currency"], "created": created or self.tick(),
                                 "payment_intent": charge["payment_intent"], "status": "succeeded"}
        self.lists["refunds"].add(r)
        charge["amount_refunded"] = charge.get("amount_refunded", 0) + amount
        self.lists["charges"].raw.pop(charge["id"], None)
        return r

    def invoice(self, customer: str, charge: dict, description: str, email: str | None = None) -> dict:
        inv = copy.deepcopy(fixture("invoice"))
        inv.update(id=self._next("in"), customer=customer, customer_email=email, status="paid",
                   created=self.tick(), amount_paid=charge["amount"], currency=charge["currency"])
        inv["lines"]["data"][0].update(description=description, amount=charge["amount"])
        inv["payments"] = {"object": "list", "data": [{"payment": {"type": "payment_intent",
                                                                   "payment_intent": charge["payment_intent"]}}]}
        self.lists["invoices"].add(inv)
        return inv

    def subscription(self, customer: str, status: str = "active") -> dict:
        s = copy.deepcopy(fixture("subscription"))
        s.update(id=self._next("sub"), customer=customer, status=status, created=self.tick(), canceled_at=None)
        item = s["items"]["data"][0]
        item["price"] = fixture("price")
        item["quantity"] = 1
        self.lists["subscriptions"].add(s)
        return s

    def route(self, request: httpx.Request) -> httpx.Response:
        if request.headers.get("authorization", "")[:10] != "Bearer sk_":
            return httpx.Response(401, json=self.auth_error)
        parts = request.url.path.strip("/").split("/")
        if len(parts) == 3 and parts[1] == "charges":
            obj = next((o for o in self.lists["charges"].objects if o["id"] == parts[2]), None)
            if obj is None:
                return httpx.Response(404, json={"error": {"message": f"No such charge: '{parts[2]}'"}})
            return httpx.Response(200, json=obj)
        kind = parts[1] if len(parts) == 2 else ""
        if kind not in self.lists:
            return httpx.Response(404, json={"error": {"message": "Unrecognized request URL"}})
        q = request.url.params
        gte = int(q["created[gte]"]) if "created[gte]" in q else None
        lst = self.lists[kind]
        data, more = lst.page(gte, q.get("starting_after"), int(q.get("limit", 10)))
        if kind == "subscriptions" and q.get("status") != "all":
            data = [s for s in data if s["status"] != "canceled"]
        content = (b'{"object":"list","url":"/v1/' + kind.encode() + b'","has_more":'
                   + (b"true" if more else b"false") + b',"data":['
                   + b",".join(lst.dumps(o) for o in data) + b"]}")
        return httpx.Response(200, content=content, headers={"content-type": "application/json"})
