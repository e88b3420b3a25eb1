"""What every ad-platform connector shares: which days to read, and storing a range of days.

Platforms restate recent days (late conversions, invalid-click credits), so
each sync reads again the last ``RESYNC_DAYS`` before the last day it stored,
and a range is stored by replacing every row the source holds for those days
in one transaction with the new cursor: a restated day replaces, never adds,
and a crash mid-range leaves the previous rows and cursor untouched.

Rows keep the platform's ids (campaign, ad group / ad set, ad) so a renamed
campaign still replaces its own rows. ``source`` and ``medium`` are what the
marketer tags the platform's ads with (facebook / google / bing and cpc by
default, ``--utm-source`` / ``--utm-medium`` per source); reports match spend
to touches on them and on the campaign name or id (core/schema/ spend_rows).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from ...core.money import exponent, normalise_currency
from ..context import SyncContext
from ..http import ApiError

RESYNC_DAYS = 28
FIRST_DAYS = 365  # a first sync reads a year back unless the source says --since
CHUNK_DAYS = 31   # days stored per transaction (and per report job) on a long first sync

COLUMNS = ("origin", "date", "campaign_id", "ad_group_id", "ad_id", "campaign", "ad_group", "ad", "source",
           "medium", "currency", "spend", "impressions", "clicks")
INSERT_SQL = (f"INSERT INTO ad_platform_spend({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))}) "
              "ON CONFLICT(origin, date, campaign_id, ad_group_id, ad_id) DO UPDATE SET "
              "spend = spend + excluded.spend, impressions = impressions + excluded.impressions, "
              "clicks = clicks + excluded.clicks")


@dataclass
class SpendRow:
    date: str
    campaign_id: str
    campaign: str
    ad_group_id: str
    ad_group: str
    ad_id: str
    ad: str
    currency: str
    spend: int  # minor units of currency
    impressions: int = 0
    clicks: int = 0


def today() -> date:
    """The last day to read. Platforms report in the account's time zone; reading to the UTC
    date and re-reading the last weeks every sync covers accounts east and west of UTC."""
    return date.today()


def days_to_read(ctx: SyncContext, vendor_limit_days: int | None = None) -> tuple[date, date]:
    """(first, last) day this sync reads: the last RESYNC_DAYS before what is stored, to today."""
    last = today()
    stored = ctx.cursor.get("stored_until")
    if stored:
        first = date.fromisoformat(stored) - timedelta(days=RESYNC_DAYS - 1)
    elif ctx.source.config.get("since"):
        first = date.fromisoformat(ctx.source.config["since"][:10])
    else:
        first = last - timedelta(days=FIRST_DAYS - 1)
    if vendor_limit_days:
        first = max(first, last - timedelta(days=vendor_limit_days - 1))
    return min(first, last), last


def chunks(first: date, last: date, size: int = CHUNK_DAYS):
    """[first, last] cut into consecutive ranges of at most ``size`` days, oldest first."""
    start = first
    while start <= last:
        end = min(last, start + timedelta(days=size - 1))
        yield start, end
        start = end + timedelta(days=1)


def major_to_minor(amount, currency: str, vendor: str) -> int:
    """A platform's spend in major units ("12.34", "1234" for JPY) as an integer of minor units.
    Platforms may send sub-minor precision; it is rounded half up, the way invoices round."""
    try:
        value = Decimal(str(amount if amount not in (None, "") else "0"))
    except InvalidOperation:
        raise ApiError(f"{vendor} sent a spend that is not a number: {amount!r}") from None
    return int(value.scaleb(exponent(currency)).quantize(Decimal(1), ROUND_HALF_UP))


def micros_to_minor(micros, currency: str, vendor: str) -> int:
    """Google's and Microsoft's micros (a millionth of the major unit) as minor units."""
    try:
        value = Decimal(str(micros or 0))
    except InvalidOperation:
        raise ApiError(f"{vendor} sent a cost that is not a number: {micros!r}") from None
    return int(value.scaleb(exponent(currency) - 6).quantize(Decimal(1), ROUND_HALF_UP))


def currency_of(code, vendor: str) -> str:
    try:
        return normalise_currency(str(code or ""))
    except ValueError:
        raise ApiError(f"{vendor} sent no usable account currency ({code!r})") from None


def store_range(ctx: SyncContext, first: date, last: date, rows: list[SpendRow], cursor: dict) -> None:
    """Replace the source's rows for [first, last] with ``rows`` and move the cursor, atomically."""
    source = (ctx.source.config.get("utm_source") or DEFAULT_SOURCE[ctx.source.kind]).lower()
    medium = (ctx.source.config.get("utm_medium") or "cpc").lower()
    values = [(ctx.origin, r.date, r.campaign_id, r.ad_group_id, r.ad_id, r.campaign, r.ad_group, r.ad, source,
               medium, r.currency, r.spend, r.impressions, r.clicks) for r in rows]
    span = (ctx.origin, first.isoformat(), last.isoformat())

    def rows_now(conn) -> dict:
        return {r[:5]: r[5:] for r in conn.execute(f"SELECT {', '.join(COLUMNS)} FROM ad_platform_spend "
                                                   "WHERE origin = ? AND date BETWEEN ? AND ?", span)}

    def write(conn) -> None:
        before = rows_now(conn)
        conn.execute("DELETE FROM ad_platform_spend WHERE origin = ? AND date BETWEEN ? AND ?", span)
        conn.executemany(INSERT_SQL, values)
        after = rows_now(conn)
        # What really changed (per day and ad): a re-read day the platform did not restate counts nothing.
        ctx.add_changed(spend=sum(before.get(k) != after.get(k) for k in before.keys() | after.keys()))

    stored = max(last.isoformat(), ctx.cursor.get("stored_until") or "")
    ctx.commit({**cursor, "stored_until": stored}, write)
    ctx.count(None, None, spend_rows=len(rows))


DEFAULT_SOURCE = {"meta-ads": "facebook", "google-ads": "google", "microsoft-ads": "bing"}
