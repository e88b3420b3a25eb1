"""Fake Shopify (GraphQL Admin API 2025-01) and WooCommerce (REST v3) shaped like the real APIs.

Served over real HTTP on 127.0.0.1 by tests/sync/loopback.py. Each checks its
vendor's auth exactly (Shopify: ``X-Shopify-Access-Token`` on ``POST
/admin/api/2025-01/graphql.json``; WooCommerce: HTTP Basic with the consumer
key and secret) and answers errors in the vendor's own bodies. Shopify's
answers carry ``extensions.cost`` with a throttle status; faults ``("throttled",
requested, available)`` (a THROTTLED error, HTTP 200) and ``("low", available)``
(a normal answer whose bucket is nearly empty) and ``("denied",)`` (ACCESS_DENIED) come on top of FakeVendor's 429s.
"""

from __future__ import annotations

import base64
import json
import re

import httpx

from .fakes import FakeVendor

SHOPIFY_PATH = "/admin/api/2025-01/graphql.json"
SHOPIFY_TOKEN = "shpat_test_token"
QUERY_COST, BUCKET, RESTORE = 112, 2000.0, 100.0


def money(amount: str, currency: str) -> dict:
    return {"shopMoney": {"amount": amount, "currencyCode": currency},
            "presentmentMoney": {"amount": "0.0", "currencyCode": "XXX"}}  # never the one to read


class FakeShopify(FakeVendor):
    auth_error = {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}

    def __init__(self) -> None:
        super().__init__()
        self.orders: list[dict] = []
        self.clock = 1_700_000_000
        self.next_id = 450789469

    def tick(self) -> str:
        self.clock += 60
        return _iso(self.clock)

    def order(self, email: str | None, amount: str, currency: str = "USD", *, status: str = "PAID",
              journey: dict | None = None, test: bool = False, products=("Mug",)) -> dict:
        self.next_id += 1
        now = self.tick()
        o = {"id": f"gid://shopify/Order/{self.next_id}", "legacyResourceId": str(self.next_id),
             "name": f"#{self.next_id - 450788469}", "createdAt": now, "processedAt": now, "updatedAt": now,
             "test": test, "email": email, "displayFinancialStatus": status, "customer": {"email": email},
             "totalPriceSet": money(amount, currency), "refunds": [],
             "lineItems": {"nodes": [{"name": p} for p in products]},
             "customerJourneySummary": journey}
        self.orders.append(o)
        return o

    def refund(self, order: dict, amount: str) -> None:
        now = self.tick()
        currency = order["totalPriceSet"]["shopMoney"]["currencyCode"]
        order["refunds"].append({"id": f"gid://shopify/Refund/{len(order['refunds']) + 1}{order['legacyResourceId']}",
                                 "createdAt": now, "totalRefundedSet": money(amount, currency)})
        order["displayFinancialStatus"] = "PARTIALLY_REFUNDED"
        order["updatedAt"] = now

    def authorize(self, request: httpx.Request) -> httpx.Response | None:
        if request.url.path != SHOPIFY_PATH or request.method != "POST":
            return httpx.Response(404, json={"errors": "Not Found"})
        if request.headers.get("x-shopify-access-token") != SHOPIFY_TOKEN:
            return httpx.Response(401, json=self.auth_error)
        if request.headers.get("content-type", "").split(";")[0] != "application/json":
            return httpx.Response(400, json={"errors": "Content-Type must be application/json"})
        return None

    def cost(self, available: float = BUCKET - QUERY_COST, actual=QUERY_COST, requested=QUERY_COST) -> dict:
        return {"cost": {"requestedQueryCost": requested, "actualQueryCost": actual,
                         "throttleStatus": {"maximumAvailable": BUCKET, "currentlyAvailable": available,
                                            "restoreRate": RESTORE}}}

    def handle(self, request: httpx.Request) -> httpx.Response:
        if self.faults and self.faults[0][0] in ("throttled", "low", "denied") and not self.revoked:
            refused = self.authorize(request)
            if refused is None:
                self.log.append(request)
                fault = self.faults.pop(0)
                if fault[0] == "throttled":
                    return httpx.Response(200, json={
                        "errors": [{"message": "Throttled", "extensions": {
                            "code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"}}],
                        "extensions": self.cost(fault[2], None, fault[1])})
                if fault[0] == "denied":  # a token without access to protected customer data
                    return httpx.Response(200, json={
                        "data": None, "errors": [{"message": "Access denied for customerJourneySummary field.",
                                                  "extensions": {"code": "ACCESS_DENIED"}}],
                        "extensions": self.cost()})
                response = self.route(request)
                body = json.loads(response.content)
                body["extensions"] = self.cost(fault[1])
                return httpx.Response(200, json=body)
        return super().handle(request)

    def route(self, request: httpx.Request) -> httpx.Response:
        body = self.body(request)
        query, variables = body.get("query", ""), body.get("variables") or {}
        for field in ("sortKey: UPDATED_AT", "pageInfo", "hasNextPage", "endCursor", "shopMoney",
                      "customerJourneySummary", "utmParameters", "totalRefundedSet"):
            if field not in query:
                return httpx.Response(200, json={"errors": [{"message": f"query lacks {field}"}]})
        first = int(variables.get("first") or 0)
        if not 1 <= first <= 250:
            return httpx.Response(200, json={"errors": [{"message": "The first argument must be 1 to 250",
                                                         "extensions": {"code": "BAD_REQUEST"}}]})
        since = None
        if variables.get("query"):
            found = re.fullmatch(r"updated_at:>='([0-9T:.\-]+Z)'", variables["query"])
            if not found:
                return httpx.Response(200, json={"errors": [{"message": f"bad search {variables['query']}"}]})
            since = found.group(1)
        listed = sorted((o for o in self.orders if since is None or o["updatedAt"] >= since[:19] + "Z"),
                        key=lambda o: (o["updatedAt"], o["id"]))
        start = int(base64.b64decode(variables["after"])) if variables.get("after") else 0
        page = listed[start:start + first]
        more = start + first < len(listed)
        return httpx.Response(200, json={
            "data": {"orders": {"nodes": page, "pageInfo": {
                "hasNextPage": more, "endCursor": base64.b64encode(str(start + first).encode()).decode()}}},
            "extensions": self.cost()})


def _iso(seconds: int) -> str:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


WOO_KEY, WOO_SECRET = "ck_test_key", "cs_test_secret"


class FakeWoo(FakeVendor):
    auth_error = {"code": "woocommerce_rest_authentication_error", "message": "Consumer key is invalid.",
                  "data": {"status": 401}}

    def __init__(self) -> None:
        super().__init__()
        self.orders: list[dict] = []
        self.refunds: dict[int, list[dict]] = {}
        self.clock = 1_700_000_000

    def tick(self) -> str:
        self.clock += 60
        return _iso(self.clock)[:-1]  # *_gmt dates carry no offset

    def order(self, email: str | None, total: str, currency: str = "USD", status: str = "completed",
              attribution: dict | None = None) -> dict:
        now = self.tick()
        o = {"id": 700 + len(self.orders) + 1, "number": str(700 + len(self.orders) + 1), "status": status,
             "currency": currency, "total": total, "date_created_gmt": now, "date_modified_gmt": now,
             "date_paid_gmt": now if status in ("processing", "completed") else None,
             "billing": {"email": email or ""}, "line_items": [{"name": "Poster"}], "refunds": [],
             "meta_data": [{"id": i, "key": f"_wc_order_attribution_{k}", "value": v}
                           for i, (k, v) in enumerate((attribution or {}).items(), 1)]}
        self.orders.append(o)
        return o

    def refund(self, order: dict, amount: str) -> None:
        now = self.tick()
        refund = {"id": 900 + sum(len(v) for v in self.refunds.values()) + 1, "date_created_gmt": now,
                  "amount": amount, "reason": ""}
        self.refunds.setdefault(order["id"], []).append(refund)
        order["refunds"].append({"id": refund["id"], "reason": "", "total": f"-{amount}"})
        order["date_modified_gmt"] = now
        if sum(float(r["amount"]) for r in self.refunds[order["id"]]) >= float(order["total"]):
            order["status"] = "refunded"

    def authorize(self, request: httpx.Request) -> httpx.Response | None:
        expected = "Basic " + base64.b64encode(f"{WOO_KEY}:{WOO_SECRET}".encode()).decode()
        if request.headers.get("authorization") != expected:
            return httpx.Response(401, json=self.auth_error)
        return None

    def route(self, request: httpx.Request) -> httpx.Response:
        path, params = request.url.path, request.url.params
        per_page = int(params.get("per_page", 10))
        if not 1 <= per_page <= 100:
            return httpx.Response(400, json={"code": "rest_invalid_param", "message": "Invalid parameter(s): per_page",
                                             "data": {"status": 400, "params": {"per_page": "per_page must be between 1 (inclusive) and 100 (inclusive)"}}})
        found = re.fullmatch(r"/wp-json/wc/v3/orders/(\d+)/refunds", path)
        if found:
            return httpx.Response(200, json=self.refunds.get(int(found.group(1)), []))
        if path != "/wp-json/wc/v3/orders":
            return httpx.Response(404, json={"code": "rest_no_route", "message": "No route was found matching the URL and request method.", "data": {"status": 404}})
        listed = list(self.orders)
        if "modified_after" in params:
            if params.get("dates_are_gmt") != "true":
                return httpx.Response(400, json={"code": "rest_invalid_param", "message": "expected GMT dates"})
            listed = [o for o in listed if o["date_modified_gmt"] > params["modified_after"]]
        if (params.get("orderby"), params.get("order")) == ("id", "asc"):
            listed.sort(key=lambda o: o["id"])
        page = int(params.get("page", 1))
        total_pages = max(1, -(-len(listed) // per_page))
        data = listed[(page - 1) * per_page:page * per_page]
        return httpx.Response(200, json=data, headers={"X-WP-Total": str(len(listed)),
                                                       "X-WP-TotalPages": str(total_pages)})
