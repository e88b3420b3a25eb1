"""Microsoft Advertising: daily spend per campaign and ad group from the Reporting service.

Reporting is asynchronous
(https://learn.microsoft.com/en-us/advertising/reporting-service/submitgeneratereport,
https://learn.microsoft.com/en-us/advertising/guides/request-download-report):
``POST /Reporting/v13/GenerateReport/Submit`` with an
``AdGroupPerformanceReportRequest`` (daily aggregation, a custom date range)
answers ``ReportRequestId``; ``POST .../GenerateReport/Poll`` answers
``ReportRequestStatus`` with ``Status`` Pending, Success or Error and, on
success, ``ReportDownloadUrl`` (absent when the range has no data); the URL
gives a zip holding one CSV. Headers: ``Authorization: Bearer`` (a Microsoft
identity platform access token), ``DeveloperToken``, ``CustomerId`` and
``CustomerAccountId``.

The secret is the JSON ``{"developer_token", "client_id", "refresh_token"}``
(plus ``client_secret`` for a web app registration). Each sync exchanges the
refresh token at ``login.microsoftonline.com/common/oauth2/v2.0/token`` for the
``https://ads.microsoft.com/msads.manage`` scope; Microsoft rotates refresh
tokens, so the new one is written back to the keychain at once.

Errors are ``{"OperationErrors": [{"Code", "ErrorCode", "Message"}], "Type":
"ApiFaultDetail"}``; ``CallRateExceeded`` (code 117) and HTTP 429 are retried
after the minute Microsoft counts calls in.
"""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date
from urllib.parse import urlsplit

import orjson

from ..context import SyncContext
from ..http import ApiClient, ApiError, AuthError
from ..secrets import update_secret
from .adspend import SpendRow, chunks, currency_of, days_to_read, major_to_minor, store_range

API = "https://reporting.api.bingads.microsoft.com"
TOKEN_URL = "https://login.microsoftonline.com/common/oauth2/v2.0/token"
SCOPE = "https://ads.microsoft.com/msads.manage offline_access"
WINDOW = 60.0
COLUMNS = ["TimePeriod", "CampaignId", "CampaignName", "AdGroupId", "AdGroupName", "CurrencyCode", "Spend",
           "Impressions", "Clicks"]
THROTTLED = frozenset({"CallRateExceeded"})


def sync(ctx: SyncContext) -> None:
    grant = _grant(ctx.secret)
    token = _access_token(ctx, grant)
    config = ctx.source.config
    headers = {"Authorization": f"Bearer {token}", "DeveloperToken": grant["developer_token"],
               "CustomerAccountId": str(config["account_id"])}
    if config.get("customer_id"):
        headers["CustomerId"] = str(config["customer_id"])
    client = ctx.client(API, headers=headers, auth_words="the access token", window=WINDOW)
    first, last = days_to_read(ctx)
    spans = list(chunks(first, last, 92))  # a report per quarter: few jobs, small downloads
    for n, (start, end) in enumerate(spans, 1):
        ctx.check()
        report_id = _call(ctx, client, "/Reporting/v13/GenerateReport/Submit",
                          {"ReportRequest": _request(config["account_id"], start, end)}).get("ReportRequestId")
        if not report_id:
            raise ApiError("Microsoft Advertising started no report (no ReportRequestId)")
        url = _wait(ctx, client, report_id)
        rows = _download(ctx, url) if url else []
        store_range(ctx, start, end, rows, {})
        ctx.count(f"spend to {end.isoformat()}", n / len(spans))


def _request(account_id, start: date, end: date) -> dict:
    day = lambda d: {"Day": d.day, "Month": d.month, "Year": d.year}  # noqa: E731
    return {"Type": "AdGroupPerformanceReportRequest", "ReportName": "SegDesk spend", "Format": "Csv",
            "FormatVersion": "2.0", "ExcludeColumnHeaders": False, "ExcludeReportHeader": True,
            "ExcludeReportFooter": True, "ReturnOnlyCompleteData": False, "Aggregation": "Daily",
            "Columns": COLUMNS, "Scope": {"AccountIds": [int(account_id)]},
            "Time": {"CustomDateRangeStart": day(start), "CustomDateRangeEnd": day(end)}}


def _wait(ctx: SyncContext, client: ApiClient, report_id: str) -> str | None:
    delay = 1.0
    while True:
        ctx.check()
        status = _call(ctx, client, "/Reporting/v13/GenerateReport/Poll",
                       {"ReportRequestId": report_id}).get("ReportRequestStatus") or {}
        if status.get("Status") == "Success":
            return status.get("ReportDownloadUrl")
        if status.get("Status") != "Pending":
            raise ApiError(f"Microsoft Advertising's report {report_id} ended with status {status.get('Status')}")
        ctx.options.sleep(delay)
        delay = min(delay * 2, 30.0)


def _download(ctx: SyncContext, url: str) -> list[SpendRow]:
    parts = urlsplit(url)
    # The download URL is pre-signed storage on another host: no credentials go there.
    download = ctx.client(f"{parts.scheme}://{parts.netloc}")
    response = download.request("GET", parts.path + (f"?{parts.query}" if parts.query else ""))
    try:
        with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
            text = archive.read(archive.namelist()[0]).decode("utf-8-sig")
    except (zipfile.BadZipFile, IndexError):
        raise ApiError("Microsoft Advertising's report download is not a zip holding a CSV") from None
    rows = []
    for line in csv.DictReader(io.StringIO(text)):
        currency = currency_of(line.get("CurrencyCode"), "Microsoft Advertising")
        rows.append(SpendRow(line["TimePeriod"][:10], line["CampaignId"], line.get("CampaignName") or "",
                             line.get("AdGroupId") or "", line.get("AdGroupName") or "", "", "", currency,
                             major_to_minor(line.get("Spend"), currency, "Microsoft Advertising"),
                             int(line.get("Impressions") or 0), int(line.get("Clicks") or 0)))
    return rows


def _call(ctx: SyncContext, client: ApiClient, path: str, body: dict) -> dict:
    for attempt in range(1, ctx.options.max_attempts + 1):
        response = client.request("POST", path, json=body, allow=(400,))
        answer = client.json(response)
        errors = (answer.get("OperationErrors") or []) if isinstance(answer, dict) else []
        if response.status_code < 400 and not errors:
            return answer
        first = errors[0] if errors else {}
        if first.get("ErrorCode") in ("AuthenticationTokenExpired", "InvalidCredentials"):
            raise AuthError(f"Microsoft Advertising rejected the access token: {first.get('Message')}")
        if first.get("ErrorCode") in THROTTLED and attempt < ctx.options.max_attempts:
            client._backoff(attempt, WINDOW * 2 ** (attempt - 1))
            continue
        raise ApiError(f"Microsoft Advertising refused {path}: {first.get('Message') or 'no reason given'} "
                       f"({first.get('ErrorCode')})")
    raise AssertionError("unreachable: the loop returns or raises")


def _grant(secret: str | None) -> dict:
    try:
        grant = orjson.loads(secret or "")
    except orjson.JSONDecodeError:
        grant = None
    missing = [k for k in ("developer_token", "client_id", "refresh_token")
               if not isinstance(grant, dict) or not grant.get(k)]
    if missing:
        raise AuthError(f"the Microsoft Advertising secret lacks {', '.join(missing)} (JSON "
                        '{"developer_token", "client_id", "refresh_token"})')
    return grant


def _access_token(ctx: SyncContext, grant: dict) -> str:
    parts = urlsplit(ctx.source.config.get("token_url") or TOKEN_URL)
    client = ctx.client(f"{parts.scheme}://{parts.netloc}", auth_words="the OAuth client")
    form = {"grant_type": "refresh_token", "refresh_token": grant["refresh_token"], "client_id": grant["client_id"],
            "scope": SCOPE, **({"client_secret": grant["client_secret"]} if grant.get("client_secret") else {})}
    response = client.request("POST", parts.path, data=form, allow=(400,))
    body = client.json(response)
    if response.status_code == 400 or not body.get("access_token"):
        reason = (body.get("error_description") or body.get("error") or "no access token").splitlines()[0]
        raise AuthError(f"Microsoft rejected the refresh token: {reason}")
    if body.get("refresh_token") and body["refresh_token"] != grant["refresh_token"]:
        update_secret(ctx.ws.path, ctx.source.secret_ref, orjson.dumps({**grant, "refresh_token":
                                                                         body["refresh_token"]}).decode())
    return body["access_token"]
