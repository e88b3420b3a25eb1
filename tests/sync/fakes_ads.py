"""Fake ad platforms, as strict as the vendors where a connector could get them wrong.

Meta (Marketing API insights): a ``Bearer`` token or the Graph error body
with code 190; ``level=ad``, ``time_increment=1`` and a JSON ``time_range``
are required; pages of at most ``limit`` rows chained by
``paging.cursors.after`` with ``paging.next`` only while more follow;
report jobs (POST insights -> report_run_id, GET /<id> until Job Completed,
GET /<id>/insights); throttling as HTTP 400 with codes 4, 17, 80004 and the
``X-Business-Use-Case-Usage`` header. Spend is a decimal string in the
account currency's major unit ("1234" for JPY).

Microsoft Advertising: see :class:`FakeMicrosoft`.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import re
import secrets
import zipfile
from datetime import date
from urllib.parse import urlencode

import httpx

from .fakes import FakeVendor


def _cursor(n: int) -> str:
    return base64.b64encode(f"offset:{n}".encode()).decode()


def _offset(cursor: str | None) -> int:
    return int(base64.b64decode(cursor).decode().split(":")[1]) if cursor else 0


class FakeMeta(FakeVendor):
    token = "EAAB-meta-token"
    account = "act_1234"
    version = "v21.0"
    auth_status = 400
    auth_error = {"error": {"message": "Error validating access token: The session has been invalidated "
                            "because the user changed their password.", "type": "OAuthException", "code": 190,
                            "error_subcode": 460, "fbtrace_id": "A1b2"}}

    def __init__(self, currency: str = "USD") -> None:
        super().__init__()
        self.currency = currency
        self.spend: dict[tuple[str, str], dict] = {}  # (date, ad_id) -> row
        self.jobs: dict[str, dict] = {}
        self.polls_before_done = 1
        self.usage: dict | None = None  # X-Ad-Account-Usage to send on every answer
        self.page_cap = 5000

    def ad(self, day: date, ad_id: str, spend: str, campaign=("c1", "Spring Sale"), adset=("s1", "Lookalike"),
           name: str = "Ad", impressions: int = 100, clicks: int = 5) -> None:
        self.spend[(day.isoformat(), ad_id)] = {
            "account_currency": self.currency, "campaign_id": campaign[0], "campaign_name": campaign[1],
            "adset_id": adset[0], "adset_name": adset[1], "ad_id": ad_id, "ad_name": name, "spend": spend,
            "impressions": str(impressions), "clicks": str(clicks), "date_start": day.isoformat(),
            "date_stop": day.isoformat()}

    def authorize(self, request):
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return httpx.Response(400, json={"error": {"message": "Invalid OAuth access token - Cannot parse "
                                                       "access token", "type": "OAuthException", "code": 190,
                                                       "fbtrace_id": "Zz"}})
        return None

    def handle(self, request):
        if self.faults and self.faults[0][0] == "throttle":
            _, code, minutes = self.faults.pop(0)
            self.log.append(request)
            usage = {"1234": [{"type": "ads_insights", "call_count": 100, "total_cputime": 40, "total_time": 60,
                               "estimated_time_to_regain_access": minutes}]}
            return httpx.Response(400, headers={"x-business-use-case-usage": json.dumps(usage)}, json={
                "error": {"message": "(#80004) There have been too many calls to this ad-account. Wait a bit "
                          "and try again.", "type": "OAuthException", "code": code, "error_subcode": 2446079,
                          "fbtrace_id": "Tt"}})
        response = super().handle(request)
        if self.usage is not None:
            response.headers["x-ad-account-usage"] = json.dumps(self.usage)
        return response

    def _bad(self, message: str) -> httpx.Response:
        return httpx.Response(400, json={"error": {"message": message, "type": "OAuthException", "code": 100,
                                                   "fbtrace_id": "Pp"}})

    def route(self, request):
        parts = request.url.path.strip("/").split("/")
        if parts[0] != self.version:
            return self._bad(f"Unknown path components: /{parts[0]}")
        q = request.url.params
        if len(parts) == 3 and parts[1] == self.account and parts[2] == "insights":
            query = dict(q)
            if request.method == "POST":
                query.update(dict(httpx.QueryParams(request.content.decode())) if request.content else {})
            refused = self._check_query(query)
            if refused is not None:
                return refused
            if request.method == "POST":
                run_id = str(6000000 + len(self.jobs))
                self.jobs[run_id] = {"query": query, "polls": 0}
                return httpx.Response(200, json={"report_run_id": run_id})
            return self._page(query, q)
        if len(parts) == 2 and parts[1] in self.jobs:
            job = self.jobs[parts[1]]
            job["polls"] += 1
            done = job["polls"] > self.polls_before_done
            return httpx.Response(200, json={"id": parts[1], "async_status": "Job Completed" if done else
                                             "Job Running", "async_percent_completion": 100 if done else 40})
        if len(parts) == 3 and parts[1] in self.jobs and parts[2] == "insights":
            job = self.jobs[parts[1]]
            if job["polls"] <= self.polls_before_done:
                return self._bad("Report not ready yet")
            return self._page(job["query"], q)
        return self._bad(f"Unsupported get request. Object with ID '{parts[1]}' does not exist")

    def _check_query(self, query: dict):
        if query.get("level") != "ad" or query.get("time_increment") != "1":
            return self._bad("this fake serves level=ad, time_increment=1 only")
        fields = set((query.get("fields") or "").split(","))
        if not {"spend", "campaign_id", "adset_id", "ad_id", "date_start", "account_currency"} <= fields:
            return self._bad("fields must name spend, ids, date_start and account_currency")
        try:
            span = json.loads(query["time_range"])
            date.fromisoformat(span["since"]), date.fromisoformat(span["until"])
        except (KeyError, ValueError, TypeError):
            return self._bad("(#100) time_range must be {'since':'YYYY-MM-DD','until':'YYYY-MM-DD'}")
        return None

    def _page(self, query: dict, q) -> httpx.Response:
        span = json.loads(query["time_range"])
        rows = [r for (day, _), r in sorted(self.spend.items()) if span["since"] <= day <= span["until"]]
        # Graph may answer fewer rows than asked for (it caps pages by cost): follow the cursor, not the count.
        limit = min(int(q.get("limit") or 25), self.page_cap)
        start = _offset(q.get("after"))
        page = rows[start:start + limit]
        paging = {"cursors": {"before": _cursor(start), "after": _cursor(start + len(page))}}
        if start + limit < len(rows):
            paging["next"] = f"https://graph.facebook.com/{self.version}/next?after={_cursor(start + limit)}"
        return httpx.Response(200, json={"data": page, "paging": paging})


class FakeMicrosoft(FakeVendor):
    """Microsoft Advertising's Reporting REST API, its identity platform token endpoint and report storage.

    Submit needs an ``AdGroupPerformanceReportRequest`` with daily aggregation,
    a CSV format and a custom date range; Poll answers Pending once, then
    Success with a pre-signed download URL (none when the range is empty); the
    download is a zip with one CSV (a BOM, then the column header). Errors are
    ``ApiFaultDetail`` bodies; the token endpoint rotates refresh tokens.

    Sign-in (the Microsoft identity platform, v2.0 authorization code flow with
    PKCE: https://learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-auth-code-flow):
    ``/common/oauth2/v2.0/authorize`` checks the client id, a registered
    ``http://localhost`` redirect URI (any port, as the platform allows for
    loopback: .../identity-platform/reply-url), ``response_type=code``, the
    msads.manage and offline_access scopes and an S256 challenge, then
    redirects with a code and the state; the token endpoint's
    ``authorization_code`` grant needs that code, the same redirect URI and a
    verifier whose SHA-256 is the challenge (``AADSTS501481`` otherwise), and
    refuses a ``client_secret`` from a public client (``AADSTS700025``).
    """

    developer_token = "BBD37VB98"
    client_id = "4c0b021c-00c3-4508-838f-d3127e8167ff"
    account = "149876543"

    def __init__(self, currency: str = "USD") -> None:
        super().__init__()
        self.currency = currency
        self.refresh = "M.R3_BAY.refresh-1"
        self.access: set[str] = set()
        self.rows: dict[tuple[str, str], dict] = {}  # (date, ad group id) -> CSV row
        self.reports: dict[str, dict] = {}
        self.rate_limited = 0  # this many Submit calls answer CallRateExceeded first
        self.codes: dict[str, tuple[str, str]] = {}  # sign-in code -> (challenge, redirect_uri)

    def grant(self) -> str:
        return json.dumps({"developer_token": self.developer_token, "client_id": self.client_id,
                           "refresh_token": self.refresh})

    def spend(self, day: date, campaign: tuple[str, str], group: tuple[str, str], amount: str) -> None:
        self.rows[(day.isoformat(), group[0])] = {
            "TimePeriod": day.isoformat(), "CampaignId": campaign[0], "CampaignName": campaign[1],
            "AdGroupId": group[0], "AdGroupName": group[1], "CurrencyCode": self.currency, "Spend": amount,
            "Impressions": "200", "Clicks": "7"}

    @staticmethod
    def fault(status: int, code: int, error: str, message: str) -> httpx.Response:
        return httpx.Response(status, json={"OperationErrors": [{"Code": code, "Details": None, "ErrorCode": error,
                                                                 "Message": message}], "BatchErrors": [],
                                            "TrackingId": "5a1f", "Type": "ApiFaultDetail"})

    def handle(self, request):
        if self.revoked:  # the user removed the app's consent: the refresh token is dead
            self.refresh, self.revoked = "", False
        return super().handle(request)

    def authorize(self, request):
        if request.url.host != "reporting.api.bingads.microsoft.com":
            return None
        if request.headers.get("authorization", "").removeprefix("Bearer ") not in self.access:
            return self.fault(401, 105, "InvalidCredentials", "Authentication failed. Either supplied credentials "
                              "are invalid or the account is inactive")
        if request.headers.get("developertoken") != self.developer_token:
            return self.fault(400, 106, "UserIsNotAuthorized", "The user does not represent a authorized developer.")
        if request.headers.get("customeraccountid") != self.account:
            return self.fault(400, 1030, "AccountNotAuthorized", "You do not have permission to access the account.")
        return None

    def route(self, request):
        host, path = request.url.host, request.url.path
        if host == "login.microsoftonline.com" and path == "/common/oauth2/v2.0/authorize":
            return self._consent(request.url.params)
        if host == "login.microsoftonline.com" and path == "/common/oauth2/v2.0/token":
            form = dict(httpx.QueryParams(request.content.decode()))
            if form.get("client_id") != self.client_id or "msads.manage" not in form.get("scope", ""):
                return httpx.Response(400, json={"error": "invalid_client", "error_description": "AADSTS700016"})
            if "client_secret" in form:
                return httpx.Response(401, json={"error": "invalid_client", "error_description": "AADSTS700025: "
                                                 "Client is public so neither 'client_assertion' nor 'client_secret' "
                                                 "should be presented.\r\nTrace ID: 2"})
            if form.get("grant_type") == "authorization_code":
                return self._redeem(form)
            if not self.refresh or form.get("refresh_token") != self.refresh:
                return httpx.Response(400, json={"error": "invalid_grant", "error_description":
                                                 "AADSTS70008: The provided authorization code or refresh token has "
                                                 "expired due to inactivity.\r\nTrace ID: 1"})
            self.refresh = f"M.R3_BAY.refresh-{len(self.access) + 2}"
            token = f"EwB-{len(self.access)}"
            self.access.add(token)
            return httpx.Response(200, json={"token_type": "Bearer", "scope": form["scope"], "expires_in": 3600,
                                             "access_token": token, "refresh_token": self.refresh})
        if host == "reporting.api.bingads.microsoft.com" and path == "/Reporting/v13/GenerateReport/Submit":
            if self.rate_limited:
                self.rate_limited -= 1
                return self.fault(400, 117, "CallRateExceeded", "You have exceeded the number of calls that you "
                                  "are allowed to make in a minute. Please reduce the number of calls.")
            req = self.body(request).get("ReportRequest") or {}
            t = req.get("Time") or {}
            if (req.get("Type") != "AdGroupPerformanceReportRequest" or req.get("Aggregation") != "Daily"
                    or req.get("Format") != "Csv" or "CustomDateRangeStart" not in t):
                return self.fault(400, 2001, "InvalidReportRequest", "The report request is not valid.")
            span = tuple(date(d["Year"], d["Month"], d["Day"]).isoformat()
                         for d in (t["CustomDateRangeStart"], t["CustomDateRangeEnd"]))
            report_id = f"R{len(self.reports) + 1}"
            self.reports[report_id] = {"span": span, "polls": 0}
            return httpx.Response(200, json={"ReportRequestId": report_id})
        if host == "reporting.api.bingads.microsoft.com" and path == "/Reporting/v13/GenerateReport/Poll":
            report = self.reports.get(self.body(request).get("ReportRequestId"))
            if report is None:
                return self.fault(400, 2003, "InvalidReportId", "The report request id is not valid.")
            report["polls"] += 1
            if report["polls"] == 1:
                return httpx.Response(200, json={"ReportRequestStatus": {"ReportDownloadUrl": None,
                                                                         "Status": "Pending"}})
            rid = self.body(request)["ReportRequestId"]
            has_rows = any(report["span"][0] <= d <= report["span"][1] for d, _ in self.rows)
            url = f"https://bingadsappsstorageprod.blob.core.windows.net/reports/{rid}.zip?sv=2023&sig=abc"
            return httpx.Response(200, json={"ReportRequestStatus": {
                "ReportDownloadUrl": url if has_rows else None, "Status": "Success"}})
        if host == "bingadsappsstorageprod.blob.core.windows.net" and path.startswith("/reports/"):
            if "authorization" in request.headers or request.url.params.get("sig") != "abc":
                return httpx.Response(403, text="AuthenticationFailed")
            report = self.reports[path.rsplit("/", 1)[1].removesuffix(".zip")]
            return httpx.Response(200, content=self._zip(report["span"]),
                                  headers={"content-type": "application/octet-stream"})
        return self.fault(404, 0, "NotFound", f"No route {path}")

    def _consent(self, q) -> httpx.Response:
        redirect = q.get("redirect_uri") or ""
        scopes = set((q.get("scope") or "").split())
        if (q.get("client_id") != self.client_id or not re.fullmatch(r"http://localhost:\d+/", redirect)
                or q.get("response_type") != "code"
                or not {"https://ads.microsoft.com/msads.manage", "offline_access"} <= scopes
                or q.get("code_challenge_method") != "S256" or len(q.get("code_challenge") or "") != 43):
            return httpx.Response(400, text="AADSTS50011: The redirect URI or request does not match the app's "
                                            "registration.")
        code = "M.C5_BAY." + secrets.token_urlsafe(16)
        self.codes[code] = (q["code_challenge"], redirect)
        return httpx.Response(302, headers={"location": redirect + "?" + urlencode(
            {"code": code, "state": q.get("state")})})

    def _redeem(self, form: dict) -> httpx.Response:
        challenge, redirect = self.codes.pop(form.get("code"), (None, None))
        digest = base64.urlsafe_b64encode(hashlib.sha256((form.get("code_verifier") or "").encode()).digest())
        if challenge is None or redirect != form.get("redirect_uri"):
            return httpx.Response(400, json={"error": "invalid_grant", "error_description": "AADSTS70000: The "
                                             "provided authorization code is invalid.\r\nTrace ID: 3"})
        if digest.rstrip(b"=").decode() != challenge:
            return httpx.Response(400, json={"error": "invalid_grant", "error_description": "AADSTS501481: The "
                                             "Code_Verifier does not match the code_challenge supplied in the "
                                             "authorization request.\r\nTrace ID: 4"})
        self.refresh = "M.R3_BAY." + secrets.token_urlsafe(12)
        token = f"EwB-{len(self.access)}"
        self.access.add(token)
        return httpx.Response(200, json={"token_type": "Bearer", "scope": form["scope"], "expires_in": 3600,
                                         "access_token": token, "refresh_token": self.refresh})

    def _zip(self, span: tuple[str, str]) -> bytes:
        out = io.StringIO()
        columns = ["TimePeriod", "CampaignId", "CampaignName", "AdGroupId", "AdGroupName", "CurrencyCode", "Spend",
                   "Impressions", "Clicks"]
        writer = csv.DictWriter(out, columns, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
        writer.writeheader()
        for (d, _), row in sorted(self.rows.items()):
            if span[0] <= d <= span[1]:
                writer.writerow(row)
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("report.csv", "\ufeff" + out.getvalue())
        return buffer.getvalue()
