"""Fake vendor servers shaped like the real APIs, as httpx handlers.

Each fake answers ``handle(request) -> httpx.Response`` so it runs as an
``httpx.MockTransport`` or, through tests/sync/loopback.py, as a real HTTP
server on 127.0.0.1. Every fake checks the auth header and scheme its vendor
requires (``authorize``) before anything else. Faults are queued and consumed
in order by data requests: ``("429", s)`` (JSON body, ``Retry-After: s``),
``("429-text",)`` (plain text, no Retry-After, like Kit), ``("429-json",)``
(JSON, no Retry-After), ``500``, ``timeout``; ``revoked`` turns every request
into the vendor's own 401; ``kill_after`` raises :class:`Killed` (a stand-in
for the process dying) once that many data pages were served.
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
        refused = self.authorize(request)
        if refused is not None:
            return refused
        if self.faults:
            fault = self.faults.pop(0)
            if fault[0] == "429":
                return httpx.Response(429, headers={"Retry-After": str(fault[1])}, json={"message": "slow down"})
            if fault[0] == "429-text":
                return httpx.Response(429, text="Retry later", headers={"content-type": "text/plain"})
            if fault[0] == "429-json":
                return httpx.Response(429, json={"message": "Too many requests"})
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

    def authorize(self, request: httpx.Request) -> httpx.Response | None:
        """The vendor's answer when the auth header or its scheme is wrong; None lets the request in."""
        raise NotImplementedError

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


# The version the connector pins; the fake serves that version's shapes (Stripe's published
# spec, stripe/openapi, from which the fixtures come). An invoice no longer carries `charge` or
# `payment_intent`; its `payments` appear only when expanded
# (https://docs.stripe.com/changelog/basil/2025-03-31/add-support-for-multiple-partial-payments-on-invoices),
# and a charge no longer embeds its refunds (https://docs.stripe.com/changelog/2022-11-15).
STRIPE_VERSION = "2025-03-31.basil"
EXPANDABLE = {"invoices": {"data.payments", "data.customer", "data.subscription"}}
PERMISSIONS = {"customers": "rak_customer_read", "charges": "rak_charge_read", "refunds": "rak_refund_read",
               "disputes": "rak_dispute_read", "invoices": "rak_invoice_read",
               "subscriptions": "rak_subscription_read"}


def stripe_error(status: int, message: str, kind: str = "invalid_request_error") -> httpx.Response:
    return httpx.Response(status, json={"error": {"message": message, "type": kind}})


class FakeStripe(FakeVendor):
    auth_error = {"error": {"message": "Invalid API Key provided: sk_test_****oked",
                            "type": "invalid_request_error"}}
    KINDS = ("customers", "charges", "refunds", "disputes", "invoices", "subscriptions")

    def __init__(self) -> None:
        super().__init__()
        self.lists = {k: StripeList() for k in self.KINDS}
        self.n = 0
        self.clock = 1_700_000_000
        self.granted: dict[str, set[str]] = {}  # restricted key -> its permissions

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
        c.pop("refunds", None)  # not part of a charge since 2022-11-15
        self.lists["charges"].add(c)
        return c

    def refund(self, charge: dict, amount: int, created: int | None = None, status: str = "succeeded") -> dict:
        r = fixture("refund") | {"id": self._next("re"), "charge": charge["id"], "amount": amount,
                                 "currency": charge["currency"], "created": created or self.tick(),
                                 "payment_intent": charge["payment_intent"], "status": status}
        self.lists["refunds"].add(r)
        charge["amount_refunded"] = charge.get("amount_refunded", 0) + amount
        self.lists["charges"].raw.pop(charge["id"], None)
        return r

    def dispute(self, charge: dict, amount: int | None = None, status: str = "needs_response") -> dict:
        d = {"id": self._next("dp"), "object": "dispute", "amount": charge["amount"] if amount is None else amount,
             "currency": charge["currency"], "charge": charge["id"], "payment_intent": charge["payment_intent"],
             "created": self.tick(), "status": status, "reason": "fraudulent", "livemode": False,
             "is_charge_refundable": False, "balance_transactions": [], "metadata": {}}
        self.lists["disputes"].add(d)
        return d

    def update(self, kind: str, obj: dict, **changes) -> None:
        """A later change that keeps the object's `created` (a refund failing, a dispute closing)."""
        obj.update(changes)
        self.lists[kind].raw.pop(obj["id"], None)

    def invoice(self, customer: str, charge: dict, description: str, email: str | None = None) -> dict:
        inv = copy.deepcopy(fixture("invoice"))
        inv.update(id=self._next("in"), customer=customer, customer_email=email, status="paid",
                   created=self.tick(), amount_paid=charge["amount"], currency=charge["currency"])
        inv["lines"]["data"][0].update(description=description, amount=charge["amount"])
        inv["_payments"] = {"object": "list", "has_more": False, "url": "/v1/invoice_payments", "data": [
            {"id": self._next("inpay"), "object": "invoice_payment", "amount_paid": charge["amount"],
             "currency": charge["currency"], "invoice": inv["id"], "is_default": True, "status": "paid",
             "payment": {"type": "payment_intent", "payment_intent": charge["payment_intent"]}}]}
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

    def authorize(self, request):
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        if scheme != "Bearer" or not key.startswith(("sk_", "rk_")):
            return httpx.Response(401, json=self.auth_error)
        version = request.headers.get("stripe-version")
        if version != STRIPE_VERSION:
            # Without the header Stripe answers in the account's default version: here an older one,
            # whose shapes the connector would misread. Refusing makes a missing pin visible.
            return stripe_error(400, f"Invalid Stripe API version: {version}")
        kind = request.url.path.strip("/").split("/")[1] if request.url.path.count("/") >= 2 else ""
        if key.startswith("rk_") and kind in PERMISSIONS and PERMISSIONS[kind] not in self.granted.get(key, set()):
            return stripe_error(403, f"The provided key '{key[:8]}****{key[-4:]}' does not have the required "
                                     f"permissions for this endpoint on account 'acct_1Fake'. Having the "
                                     f"'{PERMISSIONS[kind]}' permission would allow this request to continue.")
        return None

    def _shape(self, kind: str, obj: dict, expand: set[str]) -> bytes:
        if kind == "invoices":
            out = {k: v for k, v in obj.items() if k != "_payments"}
            if "data.payments" in expand or "payments" in expand:
                out["payments"] = obj["_payments"]
            return orjson.dumps(out)
        return self.lists[kind].dumps(obj)

    def route(self, request: httpx.Request) -> httpx.Response:
        parts = request.url.path.strip("/").split("/")
        if len(parts) == 3 and parts[1] in ("charges", "refunds", "disputes"):
            obj = next((o for o in self.lists[parts[1]].objects if o["id"] == parts[2]), None)
            if obj is None:
                return stripe_error(404, f"No such {parts[1][:-1]}: '{parts[2]}'")
            return httpx.Response(200, json=obj)
        kind = parts[1] if len(parts) == 2 else ""
        if kind not in self.lists:
            return stripe_error(404, "Unrecognized request URL")
        q = request.url.params
        expand = set(q.get_list("expand[]"))
        for field in expand - EXPANDABLE.get(kind, set()):
            return stripe_error(400, f"This property cannot be expanded because it doesn't exist: "
                                     f"{field.removeprefix('data.')}")
        if int(q.get("limit", 10)) > 100:
            return stripe_error(400, "Invalid integer: limit must be at most 100")
        gte = int(q["created[gte]"]) if "created[gte]" in q else None
        lst = self.lists[kind]
        data, more = lst.page(gte, q.get("starting_after"), int(q.get("limit", 10)))
        if kind == "subscriptions" and q.get("status") != "all":
            data = [s for s in data if s["status"] != "canceled"]
        content = (b'{"object":"list","url":"/v1/' + kind.encode() + b'","has_more":'
                   + (b"true" if more else b"false") + b',"data":['
                   + b",".join(self._shape(kind, o, expand) for o in data) + b"]}")
        return httpx.Response(200, content=content, headers={"content-type": "application/json"})
