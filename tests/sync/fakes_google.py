"""A fake Google: the OAuth consent page and token endpoint, and the Google Ads searchStream API.

One server answers the three hosts (the loopback transport keeps the host):

- ``accounts.google.com/o/oauth2/v2/auth``: checks client id, a loopback
  ``redirect_uri``, ``response_type=code``, the adwords scope and an S256
  ``code_challenge``, then redirects (302) to the redirect URI with a code and
  the state, as the consent page does once the user agrees.
- ``oauth2.googleapis.com/token``: ``authorization_code`` needs the code, the
  same redirect URI and a ``code_verifier`` whose SHA-256 is the challenge;
  ``refresh_token`` needs a live refresh token (else ``invalid_grant``,
  "Token has been expired or revoked.").
- ``googleads.googleapis.com/vNN/customers/<id>/googleAds:searchStream``:
  Bearer access token, ``developer-token``, and ``login-customer-id`` when the
  customer sits under a manager; GAQL ``FROM customer``, ``FROM ad_group``
  with a date range, ``FROM click_view`` with exactly one day in the last 90.
  Errors are Google's shape: ``{"error": {"code", "message", "status",
  "details": [{"@type": ...GoogleAdsFailure, "errors": [{"errorCode", "message"}]}]}}``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
from datetime import date, timedelta
from urllib.parse import parse_qs, urlencode

import httpx

from .fakes import FakeVendor

FAILURE = "type.googleapis.com/google.ads.googleads.v21.errors.GoogleAdsFailure"


def _error(status: int, name: str, message: str, code: dict, detail: str) -> httpx.Response:
    return httpx.Response(status, json={"error": {"code": status, "message": message, "status": name, "details": [
        {"@type": FAILURE, "errors": [{"errorCode": code, "message": detail}], "requestId": "rq1"}]}})


class FakeGoogle(FakeVendor):
    client_id = "123-abc.apps.googleusercontent.com"
    client_secret = "GOCSPX-secret"
    developer_token = "dev-token-1"
    customer = "1234567890"

    def __init__(self, currency: str = "USD") -> None:
        super().__init__()
        self.currency = currency
        self.manager: str | None = None  # set: the customer is reached through this manager only
        self.codes: dict[str, tuple[str, str]] = {}  # code -> (challenge, redirect_uri)
        self.refresh_tokens = {"1//refresh-live"}
        self.access_tokens: set[str] = set()
        self.groups: dict[tuple[str, str], dict] = {}  # (date, ad_group_id) -> row
        self.clicks: dict[str, list[dict]] = {}  # date -> click_view rows
        self.exhausted = 0  # this many Ads API calls answer RESOURCE_EXHAUSTED first

    def grant(self) -> str:
        return json.dumps({"developer_token": self.developer_token, "client_id": self.client_id,
                           "client_secret": self.client_secret, "refresh_token": "1//refresh-live"})

    def cost(self, day: date, campaign: tuple[str, str], group: tuple[str, str], micros: int,
             clicks: int = 10, impressions: int = 300) -> None:
        self.groups[(day.isoformat(), group[0])] = {
            "campaign": {"resourceName": f"customers/{self.customer}/campaigns/{campaign[0]}", "id": campaign[0],
                         "name": campaign[1]},
            "adGroup": {"resourceName": f"customers/{self.customer}/adGroups/{group[0]}", "id": group[0],
                        "name": group[1]},
            "metrics": {"costMicros": str(micros), "clicks": str(clicks), "impressions": str(impressions)},
            "segments": {"date": day.isoformat()}}

    def click(self, day: date, gclid: str, campaign: tuple[str, str], group: tuple[str, str]) -> None:
        self.clicks.setdefault(day.isoformat(), []).append({
            "clickView": {"resourceName": f"customers/{self.customer}/clickViews/{day}~{gclid}", "gclid": gclid},
            "campaign": {"id": campaign[0], "name": campaign[1]}, "adGroup": {"id": group[0], "name": group[1]},
            "segments": {"date": day.isoformat()}})

    # -- plumbing: revoked means the refresh token is dead ---------------------
    def handle(self, request):
        if self.revoked:
            self.refresh_tokens.clear()
            self.revoked = False
        if self.exhausted and request.url.host == "googleads.googleapis.com":
            self.exhausted -= 1
            self.log.append(request)
            return _error(429, "RESOURCE_EXHAUSTED", "Resource has been exhausted (e.g. check quota).",
                          {"quotaError": "RESOURCE_TEMPORARILY_EXHAUSTED"},
                          "Too many requests. Retry in 30 seconds.")
        return super().handle(request)

    def authorize(self, request):
        if request.url.host != "googleads.googleapis.com":
            return None  # the OAuth endpoints check their own parameters
        if request.headers.get("authorization", "").removeprefix("Bearer ") not in self.access_tokens:
            return httpx.Response(401, json={"error": {
                "code": 401, "status": "UNAUTHENTICATED",
                "message": "Request had invalid authentication credentials. Expected OAuth 2 access token."}})
        if request.headers.get("developer-token") != self.developer_token:
            return _error(401, "UNAUTHENTICATED", "Request is missing required authentication credential.",
                          {"authenticationError": "DEVELOPER_TOKEN_INVALID"}, "The developer token is not valid.")
        if self.manager and request.headers.get("login-customer-id") != self.manager:
            return _error(403, "PERMISSION_DENIED", "The caller does not have permission",
                          {"authorizationError": "USER_PERMISSION_DENIED"},
                          "User doesn't have permission to access customer. Note: If you're accessing a client "
                          "customer, the manager's customer id must be set in the 'login-customer-id' header.")
        return None

    def route(self, request):
        host = request.url.host
        if host == "accounts.google.com" and request.url.path == "/o/oauth2/v2/auth":
            return self._consent(request.url.params)
        if host == "oauth2.googleapis.com" and request.url.path == "/token":
            return self._token({k: v[0] for k, v in parse_qs(request.content.decode()).items()})
        m = re.fullmatch(r"/v\d+/customers/(\d+)/googleAds:searchStream", request.url.path)
        if host == "googleads.googleapis.com" and m and request.method == "POST":
            if m.group(1) != self.customer:
                return _error(403, "PERMISSION_DENIED", "The caller does not have permission",
                              {"authorizationError": "USER_PERMISSION_DENIED"},
                              "User doesn't have permission to access customer.")
            return self._search(self.body(request).get("query") or "")
        return httpx.Response(404, json={"error": {"code": 404, "message": "Not Found", "status": "NOT_FOUND"}})

    def _consent(self, q) -> httpx.Response:
        redirect = q.get("redirect_uri") or ""
        if (q.get("client_id") != self.client_id or not re.fullmatch(r"http://127\.0\.0\.1:\d+/", redirect)
                or q.get("response_type") != "code" or q.get("scope") != "https://www.googleapis.com/auth/adwords"
                or q.get("code_challenge_method") != "S256" or len(q.get("code_challenge") or "") != 43):
            return httpx.Response(400, text="Error 400: invalid_request")
        code = "4/" + secrets.token_urlsafe(16)
        self.codes[code] = (q["code_challenge"], redirect)
        return httpx.Response(302, headers={"location": redirect + "?" + urlencode(
            {"state": q.get("state"), "code": code, "scope": q["scope"]})})

    def _token(self, form: dict) -> httpx.Response:
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return httpx.Response(401, json={"error": "invalid_client", "error_description": "Unauthorized"})
        if form.get("grant_type") == "authorization_code":
            challenge, redirect = self.codes.pop(form.get("code"), (None, None))
            verifier = form.get("code_verifier") or ""
            digest = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
            if challenge is None or redirect != form.get("redirect_uri") or digest != challenge:
                return httpx.Response(400, json={"error": "invalid_grant", "error_description": "Bad Request"})
            refresh = "1//" + secrets.token_urlsafe(16)
            self.refresh_tokens.add(refresh)
            return httpx.Response(200, json={"access_token": self._access(), "expires_in": 3599,
                                             "refresh_token": refresh, "scope": "https://www.googleapis.com/auth/"
                                             "adwords", "token_type": "Bearer"})
        if form.get("grant_type") == "refresh_token":
            if form.get("refresh_token") not in self.refresh_tokens:
                return httpx.Response(400, json={"error": "invalid_grant",
                                                 "error_description": "Token has been expired or revoked."})
            return httpx.Response(200, json={"access_token": self._access(), "expires_in": 3599,
                                             "token_type": "Bearer"})
        return httpx.Response(400, json={"error": "unsupported_grant_type"})

    def _access(self) -> str:
        token = "ya29." + secrets.token_urlsafe(12)
        self.access_tokens.add(token)
        return token

    def _search(self, query: str) -> httpx.Response:
        source = re.search(r"\bFROM\s+(\w+)", query)
        if source is None:
            return _error(400, "INVALID_ARGUMENT", "Request contains an invalid argument.",
                          {"queryError": "UNEXPECTED_END_OF_QUERY"}, "Error in query: unexpected end of query.")
        table = source.group(1)
        if table == "customer":
            return httpx.Response(200, json=[{"results": [{"customer": {
                "resourceName": f"customers/{self.customer}", "currencyCode": self.currency}}],
                "fieldMask": "customer.currencyCode", "requestId": "r0"}])
        if table == "ad_group":
            span = re.search(r"segments\.date BETWEEN '(\d{4}-\d\d-\d\d)' AND '(\d{4}-\d\d-\d\d)'", query)
            if span is None:
                return _error(400, "INVALID_ARGUMENT", "Request contains an invalid argument.",
                              {"queryError": "EXPECTED_FILTERS_ON_DATE_RANGE"},
                              "segments.date must be filtered with a finite range.")
            rows = [r for (d, _), r in sorted(self.groups.items()) if span.group(1) <= d <= span.group(2)]
            # A stream answers in batches of up to 10,000 rows.
            batches = [{"results": rows[i:i + 10000], "requestId": "r1"} for i in range(0, len(rows), 10000)]
            return httpx.Response(200, json=batches or [{"requestId": "r1"}])
        if table == "click_view":
            one = re.fullmatch(r".*WHERE segments\.date = '(\d{4}-\d\d-\d\d)'\s*", query, re.S)
            if one is None:
                return _error(400, "INVALID_ARGUMENT", "Request contains an invalid argument.",
                              {"queryError": "EXPECTED_FILTERS_ON_DATE_RANGE"},
                              "A filter on a single day is required for queries against click_view.")
            if date.fromisoformat(one.group(1)) < date.today() - timedelta(days=90):
                return _error(400, "INVALID_ARGUMENT", "Request contains an invalid argument.",
                              {"queryError": "DATE_RANGE_TOO_WIDE"}, "click_view covers the last 90 days.")
            rows = self.clicks.get(one.group(1), [])
            return httpx.Response(200, json=[{"results": rows, "requestId": "r2"}] if rows else [{"requestId": "r2"}])
        return _error(400, "INVALID_ARGUMENT", "Request contains an invalid argument.",
                      {"queryError": "INVALID_RESOURCE_NAME"}, f"Unknown resource {table}.")
