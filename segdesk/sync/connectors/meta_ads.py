"""Meta Ads (Marketing API insights): daily spend per ad of one ad account.

``GET /vNN.0/act_<id>/insights`` with ``level=ad``, ``time_increment=1`` and a
``time_range`` answers one row per ad and day; pages follow
``paging.cursors.after`` while the answer has ``paging.next``
(https://developers.facebook.com/docs/marketing-api/insights/ and
https://developers.facebook.com/docs/graph-api/results). A long range (a
first sync reads a year) runs as asynchronous report jobs instead, one per
chunk of days: ``POST .../insights`` answers ``report_run_id``, ``GET /<id>``
reports ``async_status`` and ``async_percent_completion`` until ``Job
Completed``, then ``GET /<id>/insights`` pages the rows
(https://developers.facebook.com/docs/marketing-api/insights/best-practices).

Throttling arrives as an error body with code 4, 17, 613 or 80004 (HTTP 400,
https://developers.facebook.com/docs/marketing-api/overview/rate-limiting):
we wait what ``X-Business-Use-Case-Usage`` says
(``estimated_time_to_regain_access``, minutes) or back off, and try again.
While the usage headers (that one and ``X-Ad-Account-Usage``) say a quota is
nearly used up, the next call waits for it to reset first. Code 190 is a
token Meta no longer accepts: one line, no retry.

``spend`` is a decimal string in the account's currency (``account_currency``),
in major units: "12.34" USD, "1234" JPY.
"""

from __future__ import annotations

from datetime import date

import orjson

from ..context import SyncContext
from ..http import MAX_WAIT, ApiClient, ApiError, AuthError
from .adspend import CHUNK_DAYS, SpendRow, chunks, currency_of, days_to_read, major_to_minor, store_range

API = "https://graph.facebook.com"
VERSION = "v21.0"
FIELDS = ("account_currency,campaign_id,campaign_name,adset_id,adset_name,ad_id,ad_name,"
          "spend,impressions,clicks,date_start")
PAGE = 500
MONTHS_BACK_DAYS = 37 * 30  # insights reach 37 months back
ASYNC_OVER_DAYS = CHUNK_DAYS  # a range longer than this runs as report jobs
THROTTLE_CODES = frozenset({4, 17, 613, 80004})
AUTH_CODES = frozenset({102, 190, 2500})
BUSY_PCT = 95  # usage at or above this: wait for the quota to reset before the next call


def sync(ctx: SyncContext) -> None:
    account = str(ctx.source.config.get("account_id") or "")
    version = ctx.source.config.get("api_version") or VERSION
    client = ctx.client(API, headers={"Authorization": f"Bearer {ctx.secret}"}, auth_words="the access token")
    first, last = days_to_read(ctx, MONTHS_BACK_DAYS)
    use_jobs = (last - first).days + 1 > ASYNC_OVER_DAYS
    spans = list(chunks(first, last))
    for n, (start, end) in enumerate(spans, 1):
        ctx.check()
        params = _params(start, end)
        base = f"/{version}/{account}"
        if use_jobs:
            run_id = _call(ctx, client, "POST", f"{base}/insights", params=params).get("report_run_id")
            if not run_id:
                raise ApiError("Meta started no report job (no report_run_id in its answer)")
            _wait_for_job(ctx, client, f"/{version}/{run_id}")
            rows = _rows(ctx, client, f"/{version}/{run_id}/insights", {"limit": PAGE})
        else:
            rows = _rows(ctx, client, f"{base}/insights", {**params, "limit": PAGE})
        store_range(ctx, start, end, rows, {})
        ctx.count(f"{end.isoformat()} stored", n / len(spans))


def _params(start: date, end: date) -> dict:
    return {"level": "ad", "time_increment": "1", "fields": FIELDS,
            "time_range": orjson.dumps({"since": start.isoformat(), "until": end.isoformat()}).decode()}


def _rows(ctx: SyncContext, client: ApiClient, path: str, params: dict) -> list[SpendRow]:
    rows: list[SpendRow] = []
    after = None
    while True:
        ctx.check()
        body = _call(ctx, client, "GET", path, params={**params, **({"after": after} if after else {})})
        rows.extend(_row(item) for item in body.get("data") or [])
        paging = body.get("paging") or {}
        after = (paging.get("cursors") or {}).get("after")
        if not paging.get("next") or not after:
            return rows


def _row(item: dict) -> SpendRow:
    currency = currency_of(item.get("account_currency"), "Meta")
    if not item.get("date_start") or not item.get("campaign_id"):
        raise ApiError("Meta sent an insights row without date_start or campaign_id")
    return SpendRow(item["date_start"], str(item["campaign_id"]), item.get("campaign_name") or "",
                    str(item.get("adset_id") or ""), item.get("adset_name") or "",
                    str(item.get("ad_id") or ""), item.get("ad_name") or "", currency,
                    major_to_minor(item.get("spend"), currency, "Meta"),
                    int(item.get("impressions") or 0), int(item.get("clicks") or 0))


def _wait_for_job(ctx: SyncContext, client: ApiClient, path: str) -> None:
    delay = 1.0
    while True:
        ctx.check()
        job = _call(ctx, client, "GET", path)
        status = job.get("async_status")
        if status == "Job Completed" and job.get("async_percent_completion", 100) >= 100:
            return
        if status in ("Job Failed", "Job Skipped"):
            raise ApiError(f"Meta's report job {path.rsplit('/', 1)[-1]} ended with '{status}'")
        ctx.count(f"Meta report {job.get('async_percent_completion', 0)}%")
        ctx.options.sleep(delay)
        delay = min(delay * 2, 30.0)


def _call(ctx: SyncContext, client: ApiClient, method: str, path: str, **kwargs) -> dict:
    """One Graph call: throttling errors wait and retry, a dead token is one line."""
    for attempt in range(1, ctx.options.max_attempts + 1):
        response = client.request(method, path, allow=(400,), **kwargs)
        body = client.json(response)
        error = body.get("error") if isinstance(body, dict) else None
        if response.status_code < 400 and not error:
            _respect_usage(ctx, client, response.headers)
            return body
        error = error or {}
        code, message = error.get("code"), error.get("message") or "unknown error"
        if code in AUTH_CODES:
            raise AuthError(f"Meta rejected the access token: {message}")
        if code in THROTTLE_CODES and attempt < ctx.options.max_attempts:
            regain = _regain_seconds(response.headers)
            client._backoff(attempt, regain if regain else 60.0 * 2 ** (attempt - 1))
            continue
        raise ApiError(f"Meta answered {response.status_code} for {path}: {message} (code {code})")
    raise AssertionError("unreachable: the loop returns or raises")


def _usage(headers) -> tuple[float, float]:
    """(highest use percentage, seconds until access is regained) from the usage headers."""
    pct, regain = 0.0, 0.0
    buc = _json_header(headers, "x-business-use-case-usage")
    for entries in (buc.values() if isinstance(buc, dict) else ()):
        for e in entries if isinstance(entries, list) else ():
            pct = max(pct, *(float(e.get(k) or 0) for k in ("call_count", "total_cputime", "total_time")))
            regain = max(regain, float(e.get("estimated_time_to_regain_access") or 0) * 60)
    account = _json_header(headers, "x-ad-account-usage")
    if isinstance(account, dict):
        used = float(account.get("acc_id_util_pct") or 0)
        pct = max(pct, used)
        if used >= BUSY_PCT:
            regain = max(regain, float(account.get("reset_time_duration") or 0))
    return pct, regain


def _regain_seconds(headers) -> float:
    return _usage(headers)[1]


def _respect_usage(ctx: SyncContext, client: ApiClient, headers) -> None:
    pct, regain = _usage(headers)
    if pct >= BUSY_PCT or regain:
        wait = min(regain or 60.0, MAX_WAIT)
        client.window.paused_until = ctx.options.clock() + wait
        client.waits.append(wait)


def _json_header(headers, name: str):
    value = headers.get(name)
    if not value:
        return None
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        return None
