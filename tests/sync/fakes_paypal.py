"""Fake PayPal Transaction Search, with PayPal's window, page-size and result-set limits."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta

import httpx

from .fakes import FakeVendor
from .fakes_crm import parse


class FakePayPal(FakeVendor):
    """Transaction Search (https://developer.paypal.com/docs/api/transaction-search/v1/): OAuth client
    credentials; windows of at most 31 days; page_size <= 500; more than ``cap`` matches (10,000 at
    PayPal) is RESULTSET_TOO_LARGE; an app without the Transaction Search permission gets a 403."""

    auth_error = {"error": "invalid_client", "error_description": "Client Authentication failed"}
    cap = 10_000

    def __init__(self, now: datetime) -> None:
        super().__init__()
        self.txns: list[dict] = []
        self.page_size_seen: list[int] = []
        self.now = now
        self.reporting = True  # the app has the Transaction Search permission

    def payment(self, email: str, value: str, currency: str = "USD", when: datetime | None = None,
                status: str = "S") -> dict:
        t = self._add("T0006", value, currency, email, when)
        t["transaction_info"]["transaction_status"] = status
        return t

    def refund(self, payment: dict, value: str, when: datetime | None = None, code: str = "T1107") -> dict:
        t = self._add(code, "-" + value, payment["transaction_info"]["transaction_amount"]["currency_code"],
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

    def authorize(self, request):
        if request.url.path == "/v1/oauth2/token":
            scheme, _, blob = request.headers.get("authorization", "").partition(" ")
            user = base64.b64decode(blob).decode() if scheme == "Basic" else ""
            return None if user == "client-1:paypal-secret" else httpx.Response(401, json=self.auth_error)
        if request.headers.get("authorization") != "Bearer A21AA-token":
            return httpx.Response(401, json={"name": "AUTHENTICATION_FAILURE", "message": "token expired"})
        if not self.reporting:
            return httpx.Response(403, json={"name": "NOT_AUTHORIZED", "debug_id": "abc",
                                             "message": "Authorization failed due to insufficient permissions.",
                                             "details": [{"issue": "PERMISSION_DENIED",
                                                          "description": "You do not have permission to access "
                                                                         "or perform operations on this resource."}]})
        return None

    @staticmethod
    def _invalid(issue: str) -> httpx.Response:
        return httpx.Response(400, json={"name": "INVALID_REQUEST", "message": "Request is not well-formed.",
                                         "details": [{"issue": issue}]})

    def route(self, request):
        if request.url.path == "/v1/oauth2/token":
            return httpx.Response(200, json={"access_token": "A21AA-token", "token_type": "Bearer",
                                             "expires_in": 32400})
        q = request.url.params
        start, end = parse(q["start_date"]), parse(q["end_date"])
        if end - start > timedelta(days=31) or end < start:
            return self._invalid("Date range is greater than 31 days")
        size, page = int(q["page_size"]), int(q["page"])
        if size > 500:
            return self._invalid("page_size must be at most 500")
        rows = [t for t in self.txns
                if start <= datetime.strptime(t["transaction_info"]["transaction_initiation_date"],
                                              "%Y-%m-%dT%H:%M:%S%z") <= end
                and q.get("transaction_id") in (None, t["transaction_info"]["transaction_id"])]
        if len(rows) > self.cap:
            return httpx.Response(400, json={
                "name": "RESULTSET_TOO_LARGE", "debug_id": "abc",
                "message": "Result set size is greater than the maximum limit. Change the filter criteria and "
                           "try again."})
        total_pages = max(1, -(-len(rows) // size))
        return httpx.Response(200, json={
            "transaction_details": rows[(page - 1) * size: page * size], "account_number": "ACCT",
            "start_date": q["start_date"], "end_date": q["end_date"],
            "last_refreshed_datetime": self.now.strftime("%Y-%m-%dT%H:%M:%S+0000"),
            "page": page, "total_items": len(rows), "total_pages": total_pages, "links": []})
