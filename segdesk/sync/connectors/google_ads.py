"""Google Ads: daily cost per campaign and ad group, and which ad each click id (gclid) came from.

Everything is read with GAQL through ``POST /vNN/customers/<id>/googleAds:searchStream``
(https://developers.google.com/google-ads/api/docs/reporting/streaming), which
answers a JSON array of batches, each with ``results``. Headers
(https://developers.google.com/google-ads/api/rest/auth): ``Authorization:
Bearer`` (an access token from the refresh token, google_auth.py),
``developer-token``, and ``login-customer-id`` when the account is reached
through a manager account.

- Currency: ``customer.currency_code``; cost is ``metrics.cost_micros``
  (millionths of the major unit), so ¥1234 is 1234000000 micros.
- Spend: ``FROM ad_group`` with ``segments.date`` per chunk of days, stored as
  adspend.py says (the last 28 days re-read and replaced every sync).
- Clicks: ``click_view`` must be filtered to a single day and reaches 90 days
  back (https://developers.google.com/google-ads/api/fields/latest/click_view),
  so it is read one day per query: the last 90 days on a first sync, then from
  the day before the last day read. Each gclid -> campaign and ad group goes to
  ``click_ids``, and devices with a Google click but no utm campaign are
  marked for a sessions rebuild, which credits the click's campaign
  (core/click_ids.py).

Errors: 401 is a rejected access token; 403 names Google's reason (developer
token not approved, no access to the customer: set --login-customer-id);
429 ``RESOURCE_EXHAUSTED`` is retried after the rate window.
"""

from __future__ import annotations

from datetime import date, timedelta

import httpx
import orjson

from ..context import SyncContext
from ..http import ApiClient, ApiError, error_text
from .adspend import SpendRow, chunks, currency_of, days_to_read, micros_to_minor, store_range, today
from .google_auth import TOKEN_URL, access_token, read_grant

API = "https://googleads.googleapis.com"
VERSION = "v21"
CLICK_DAYS = 90
WINDOW = 30.0  # RESOURCE_EXHAUSTED without a hint: wait this long, doubling
SPEND_QUERY = ("SELECT segments.date, campaign.id, campaign.name, ad_group.id, ad_group.name, "
               "metrics.cost_micros, metrics.clicks, metrics.impressions FROM ad_group "
               "WHERE segments.date BETWEEN '{first}' AND '{last}'")
CLICK_QUERY = ("SELECT click_view.gclid, segments.date, campaign.id, campaign.name, ad_group.id, ad_group.name "
               "FROM click_view WHERE segments.date = '{day}'")
CLICK_SQL = ("INSERT INTO click_ids(click_id, date, source, medium, campaign_id, campaign, ad_group_id, ad_group, "
             "origin) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(click_id) DO UPDATE SET "
             "date = excluded.date, campaign_id = excluded.campaign_id, campaign = excluded.campaign, "
             "ad_group_id = excluded.ad_group_id, ad_group = excluded.ad_group, origin = excluded.origin "
             "WHERE excluded.campaign IS NOT click_ids.campaign OR excluded.ad_group IS NOT click_ids.ad_group")
# Visits that arrived with a gclid and no utm campaign: rebuilt so the click's campaign is credited.
DIRTY_SQL = ("INSERT OR IGNORE INTO sessions_dirty(anonymous_id) SELECT DISTINCT anonymous_id FROM sessions "
             "WHERE source = 'google' AND medium = 'cpc' AND campaign IS NULL")


def sync(ctx: SyncContext) -> None:
    grant = read_grant(ctx.secret)
    token = access_token(grant, ctx.options, ctx.source.config.get("token_url") or TOKEN_URL)
    customer = _digits(ctx.source.config.get("customer_id"))
    headers = {"Authorization": f"Bearer {token}", "developer-token": grant["developer_token"]}
    if ctx.source.config.get("login_customer_id"):
        headers["login-customer-id"] = _digits(ctx.source.config["login_customer_id"])
    client = ctx.client(API, headers=headers, auth_words="the access token", window=WINDOW, forbidden=_forbidden)
    path = f"/{ctx.source.config.get('api_version') or VERSION}/customers/{customer}/googleAds:searchStream"

    currency_rows = _search(ctx, client, path, "SELECT customer.currency_code FROM customer")
    currency = currency_of(((currency_rows or [{}])[0].get("customer") or {}).get("currencyCode"), "Google Ads")
    first, last = days_to_read(ctx)
    spans = list(chunks(first, last))
    for n, (start, end) in enumerate(spans, 1):
        ctx.check()
        rows = [_spend_row(r, currency) for r in
                _search(ctx, client, path, SPEND_QUERY.format(first=start.isoformat(), last=end.isoformat()))]
        store_range(ctx, start, end, rows, ctx.cursor)
        ctx.count(f"spend to {end.isoformat()}", 0.5 * n / len(spans))
    _clicks(ctx, client, path)


def _clicks(ctx: SyncContext, client: ApiClient, path: str) -> None:
    last = today()
    read = ctx.cursor.get("clicks_until")
    first = last - timedelta(days=CLICK_DAYS - 1)
    if read:
        first = max(first, date.fromisoformat(read) - timedelta(days=1))
    day, total = first, (last - first).days + 1
    source = (ctx.source.config.get("utm_source") or "google").lower()
    medium = (ctx.source.config.get("utm_medium") or "cpc").lower()
    while day <= last:
        ctx.check()
        found = _search(ctx, client, path, CLICK_QUERY.format(day=day.isoformat()))
        rows = [(str((r.get("clickView") or {}).get("gclid")), (r.get("segments") or {}).get("date") or day.isoformat(),
                 source, medium, str((r.get("campaign") or {}).get("id") or ""),
                 (r.get("campaign") or {}).get("name") or "", str((r.get("adGroup") or {}).get("id") or ""),
                 (r.get("adGroup") or {}).get("name") or "", ctx.origin)
                for r in found if (r.get("clickView") or {}).get("gclid")]

        def write(conn, rows=rows):
            changed = max(conn.executemany(CLICK_SQL, rows).rowcount, 0)
            if changed:
                conn.execute(DIRTY_SQL)
            ctx.add_changed(click_ids=changed)

        ctx.commit({**ctx.cursor, "clicks_until": day.isoformat()}, write)
        ctx.count(f"clicks of {day.isoformat()}", 0.5 + 0.5 * ((day - first).days + 1) / total, click_ids=len(rows))
        day += timedelta(days=1)


def _search(ctx: SyncContext, client: ApiClient, path: str, query: str) -> list[dict]:
    batches = client.post_json(path, json={"query": query})
    if not isinstance(batches, list):
        batches = [batches]
    return [row for batch in batches if isinstance(batch, dict) for row in batch.get("results") or []]


def _spend_row(r: dict, currency: str) -> SpendRow:
    campaign, group, metrics = r.get("campaign") or {}, r.get("adGroup") or {}, r.get("metrics") or {}
    day = (r.get("segments") or {}).get("date")
    if not day or not campaign.get("id"):
        raise ApiError("Google Ads sent a row without segments.date or campaign.id")
    return SpendRow(day, str(campaign["id"]), campaign.get("name") or "", str(group.get("id") or ""),
                    group.get("name") or "", "", "", currency,
                    micros_to_minor(metrics.get("costMicros"), currency, "Google Ads"),
                    int(metrics.get("impressions") or 0), int(metrics.get("clicks") or 0))


def _failure(response: httpx.Response) -> str | None:
    """The first GoogleAdsFailure message: it says why, where the top-level message only says 'denied'."""
    try:
        details = (orjson.loads(response.content).get("error") or {}).get("details") or []
        return next(e["message"] for d in details for e in d.get("errors") or [] if e.get("message"))
    except (orjson.JSONDecodeError, AttributeError, StopIteration, TypeError):
        return None


def _digits(value) -> str:
    return str(value or "").replace("-", "").strip()


def _forbidden(response: httpx.Response) -> str:
    text = _failure(response) or error_text(response)
    hint = " (reaching it through a manager account? add --login-customer-id)" if "customer" in text.lower() else ""
    return f"Google Ads refused {response.request.url.path}: {text}{hint}"
