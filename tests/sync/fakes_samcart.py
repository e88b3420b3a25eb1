"""A fake SamCart Public API (v1), shaped like SamCart's OpenAPI document.

Sources: https://developer.samcart.com/ (the spec, https://developer.samcart.com/specs/openapi.yaml):
the ``sc-api`` header (401 ``{"message": "No API key found in request"}`` without it,
``{"message": "Invalid authentication credentials"}`` for a wrong one, as SamCart's
gateway words them); bulk lists ``{"data", "pagination": {"next", "prev"}}`` paged by
``offset`` (the id of the last record) and ``dir``, ``limit`` at most 100 (more is a
validation error ``{"success": false, "error": ..., "data": null}``); filters
``created_at_min/max`` as ISO 8601 with a zone or a bare date (a bare max is
23:59:59), ``test_mode``; record times ``YYYY-MM-DD HH:MM:SS`` UTC; amounts integer
"cents"; every authenticated answer carries ``RateLimit-Limit/-Remaining/-Reset``.

Assumed where the documents are silent: lists run in ascending id order; ``next``
carries only ``offset``, ``dir`` and ``limit`` (the documented example's shape), so a
client must keep its own filters; ``GET /refunds`` has no date filter.

A marketplace whose plan lacks the API (``no_api``) answers 403 (the status is documented, the
message is ours). Faults on top of FakeVendor's: ``("throttle", seconds)`` is SamCart's 429 (``{"message":
"Too many requests"}``, Retry-After and RateLimit-* headers); ``("spent", seconds)`` answers
normally with ``RateLimit-Remaining: 0`` and ``RateLimit-Reset: seconds``.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from urllib.parse import urlencode

import httpx

from .fakes import FakeVendor

KEY = "sc_test_key_0123456789"
LIMIT, START = 120, datetime(2023, 11, 14, 22, 0, tzinfo=timezone.utc)
LISTS = ("orders", "charges", "customers", "refunds")
DATE = re.compile(r"\d{4}-\d\d-\d\d")
STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)")


def validation(error: str) -> httpx.Response:
    return httpx.Response(400, json={"success": False, "error": error, "data": None})


class FakeSamCart(FakeVendor):
    auth_error = {"message": "Invalid authentication credentials"}

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, list[dict]] = {name: [] for name in LISTS}
        self.clock = START
        self.ids = 1000
        self.no_api = False

    # -- the marketplace's data -----------------------------------------------------------------
    def tick(self, minutes: int = 1) -> str:
        self.clock += timedelta(minutes=minutes)
        return self.clock.strftime("%Y-%m-%d %H:%M:%S")

    def _id(self) -> int:
        self.ids += 1
        return self.ids

    def customer(self, email: str, first: str | None = None, last: str | None = None) -> dict:
        now = self.tick()
        c = {"id": self._id(), "first_name": first, "last_name": last, "email": email, "phone": None,
             "customer_tags": [], "lifetime_value": 0, "created_at": now, "updated_at": now, "addresses": []}
        self.rows["customers"].append(c)
        return c

    def order(self, customer: dict, items: list[tuple[str, int]], currency: str = "USD", *,
              status: str = "charged", test: bool = False) -> dict:
        """One checkout: its cart items (name, total in cents) paid by one charge."""
        now = self.tick()
        charge = {"id": self._id(), "customer_id": customer["id"], "affiliate_id": None, "order_id": None,
                  "subscription_rebill_id": None, "test_mode": test, "processor_name": "Stripe",
                  "processor_transaction_id": f"ch_{self.ids}", "currency": currency, "card_used": "4242",
                  "charge_refund_status": None, "order_date": now, "created_at": now,
                  "total": sum(total for _name, total in items)}
        o = {"id": self._id(), "customer_id": customer["id"], "affiliate_id": None, "test_mode": test,
             "order_date": now, "cart_items": [], "subtotal": charge["total"], "discount": 0, "taxes": 0,
             "shipping": 0, "total": charge["total"], "card_used": "4242", "processor_name": "Stripe",
             "custom_fields": {}}
        for name, total in items:
            o["cart_items"].append({
                "id": self._id(), "product_id": 7000 + len(name), "subscription_id": None, "sku": None,
                "internal_product_name": None, "product_name": name, "charge_id": charge["id"],
                "pricing_type": "one_time", "processor_transaction_id": charge["processor_transaction_id"],
                "currency": currency, "quantity": 1, "status": status,
                "initial_price": {"subtotal": total, "taxes": 0, "shipping": 0, "total": total}})
        charge["order_id"] = o["id"]
        self.rows["orders"].append(o)
        if status != "pending":
            self.rows["charges"].append(charge)
        return o

    def charge_of(self, order: dict) -> dict:
        return next(c for c in self.rows["charges"] if c["order_id"] == order["id"]
                    and c["subscription_rebill_id"] is None)

    def settle(self, order: dict) -> None:
        """A pending charge goes through (the order keeps its date)."""
        for item in order["cart_items"]:
            item["status"] = "charged"
        now = self.tick()
        self.rows["charges"].append({"id": order["cart_items"][0]["charge_id"], "customer_id": order["customer_id"],
                                     "order_id": order["id"], "subscription_rebill_id": None, "test_mode": False,
                                     "currency": order["cart_items"][0]["currency"], "charge_refund_status": None,
                                     "order_date": order["order_date"], "created_at": now, "total": order["total"]})

    def rebill(self, order: dict, total: int) -> dict:
        now = self.tick(60 * 24 * 30)
        first = self.charge_of(order)
        c = {**first, "id": self._id(), "subscription_rebill_id": self._id(), "charge_refund_status": None,
             "created_at": now, "total": total}
        self.rows["charges"].append(c)
        return c

    def refund(self, charge: dict, amount: int) -> dict:
        now = self.tick()
        r = {"id": self._id(), "charge_id": charge["id"], "cart_item_id": None, "created_at": now,
             "test_mode": charge["test_mode"], "currency": charge["currency"], "refund_amount": amount}
        self.rows["refunds"].append(r)
        refunded = sum(x["refund_amount"] for x in self.rows["refunds"] if x["charge_id"] == charge["id"])
        charge["charge_refund_status"] = "refunded" if refunded >= charge["total"] else "partially_refunded"
        for o in self.rows["orders"]:
            for item in o["cart_items"]:
                if item["charge_id"] == charge["id"]:
                    item["status"] = charge["charge_refund_status"]
        return r

    # -- the API ---------------------------------------------------------------------------------
    def authorize(self, request: httpx.Request) -> httpx.Response | None:
        key = request.headers.get("sc-api")
        if not key:
            return httpx.Response(401, json={"message": "No API key found in request"})
        if key != KEY:
            return httpx.Response(401, json=self.auth_error)
        if self.no_api:
            return httpx.Response(403, json={"message": "API access is not available on this plan"})
        return None

    def quota(self, remaining: int | None = None, reset: int = 60) -> dict:
        left = max(LIMIT - len(self.log), 0) if remaining is None else remaining
        return {"RateLimit-Limit": str(LIMIT), "RateLimit-Remaining": str(left), "RateLimit-Reset": str(reset)}

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.faults and self.faults[0][0] in ("throttle", "spent") and not self.revoked:
            refused = self.authorize(request)
            if refused is not None:
                self.log.append(request)
                return refused
            kind, seconds = self.faults.pop(0)
            self.log.append(request)
            if kind == "throttle":
                return httpx.Response(429, json={"message": "Too many requests"},
                                      headers={"Retry-After": str(seconds), **self.quota(0, seconds)})
            response = self.route(request)
            return httpx.Response(response.status_code, content=response.content,
                                  headers={"content-type": "application/json", **self.quota(0, seconds)})
        return super().handle(request)

    def route(self, request: httpx.Request) -> httpx.Response:
        parts = request.url.path.strip("/").split("/")
        if request.method != "GET" or len(parts) < 2 or parts[0] != "v1" or parts[1] not in LISTS:
            return httpx.Response(404, json={"message": "no Route matched with those values"})
        if len(parts) == 3:
            found = next((r for r in self.rows[parts[1]] if str(r["id"]) == parts[2]), None)
            if found is None:
                return httpx.Response(404, json={"message": "Object could not be found"})
            return httpx.Response(200, json=found, headers=self.quota())
        if len(parts) != 2:
            return httpx.Response(404, json={"message": "no Route matched with those values"})
        return self.listing(request, parts[1])

    def listing(self, request: httpx.Request, name: str) -> httpx.Response:
        q = request.url.params
        try:
            limit = int(q.get("limit", 100))
            offset = int(q["offset"]) if "offset" in q else None
        except ValueError:
            return validation("The limit and offset must be integers.")
        if not 1 <= limit <= 100:
            return validation("The limit may not be greater than 100.")
        if q.get("dir", "next") not in ("next", "prev"):
            return validation("The selected dir is invalid.")
        rows = list(self.rows[name])
        for field in ("created_at_min", "created_at_max"):
            if field not in q:
                continue
            if name == "refunds":
                return validation(f"The {field} parameter is not accepted here.")
            bound = _bound(q[field], field.endswith("max"))
            if bound is None:
                return validation(f"The {field} must be an ISO 8601 date or date-time with a timezone.")
            rows = [r for r in rows if (_created(r) >= bound if field.endswith("min") else _created(r) <= bound)]
        if "test_mode" in q:
            if q["test_mode"] not in ("true", "false"):
                return validation("The test_mode field must be true or false.")
            rows = [r for r in rows if r.get("test_mode") is (q["test_mode"] == "true")]
        rows.sort(key=lambda r: r["id"])
        if offset is not None and q.get("dir", "next") == "prev":
            before = [r for r in rows if r["id"] < offset]
            page = before[-limit:]
        else:
            after = [r for r in rows if offset is None or r["id"] > offset]
            page = after[:limit]
        more = page and any(r["id"] > page[-1]["id"] for r in rows)
        host = request.headers.get("host") or "api.samcart.com"
        scheme = "http" if host.startswith(("127.0.0.1", "localhost")) else "https"
        link = f"{scheme}://{host}/v1/{name}?"
        body = {"data": page, "pagination": {
            "next": link + urlencode({"offset": page[-1]["id"], "dir": "next", "limit": limit}) if more else None,
            "prev": link + urlencode({"offset": page[0]["id"], "dir": "prev", "limit": limit})
            if page and offset is not None else None}}
        return httpx.Response(200, json=body, headers=self.quota())


def _created(row: dict) -> str:
    return row.get("created_at") or row["order_date"]  # an order's creation time is its order_date


def _bound(value: str, is_max: bool) -> str | None:
    """A filter value as the record times' text form, or None when SamCart would refuse it."""
    if DATE.fullmatch(value):
        return value + (" 23:59:59" if is_max else " 00:00:00")
    if not STAMP.fullmatch(value):
        return None
    when = datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc)
    return when.strftime("%Y-%m-%d %H:%M:%S")
