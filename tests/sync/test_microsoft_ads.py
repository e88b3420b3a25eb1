"""Microsoft Advertising against a fake Reporting service on loopback: submit, poll, zipped CSV."""

from __future__ import annotations

import json
from datetime import date, timedelta

from segdesk.sync.engine import run_sync
from segdesk.sync.sources import list_sources, secret_of

from .fakes_ads import FakeMicrosoft
from .helpers import add
from .loopback import Loopback

TODAY = date.today()
SHOES, BRAND = ("5001", "Shoes"), ("5002", "Brand")


def day(n: int) -> date:
    return TODAY - timedelta(days=n)


def source(ws, fake, **config):
    return add(ws, "microsoft-ads", secret=fake.grant(), account_id=fake.account, **config)


def sync(ws, fake, options):
    with Loopback(fake) as transport:
        return run_sync(ws, options=options(**{"microsoft-ads": transport})).sources[0]


def total(ws) -> int:
    return ws.conn.execute("SELECT coalesce(sum(spend), 0) FROM ad_platform_spend").fetchone()[0]


def populated(currency="USD") -> FakeMicrosoft:
    fake = FakeMicrosoft(currency)
    for n in range(40):
        fake.spend(day(n), SHOES, ("7001", "Running"), "10.25")
        fake.spend(day(n), BRAND, ("7002", "Exact"), "1.50")
    return fake


def test_first_sync_then_restated_days(ws, options):
    fake = populated()
    source(ws, fake)
    first = sync(ws, fake, options)
    assert first.ok, first.reason
    assert total(ws) == 40 * (1025 + 150)
    assert len(fake.reports) == 4  # 365 days in reports of 92
    row = ws.conn.execute("SELECT source, medium, campaign, ad_group, currency FROM ad_platform_spend WHERE ad_group_id = ? LIMIT 1", ("7002",))
    assert row.fetchone() == ("bing", "cpc", "Brand", "Exact", "usd")
    fake.spend(day(1), SHOES, ("7001", "Running"), "8.00")  # restated
    second = sync(ws, fake, options)
    assert second.ok, second.reason
    assert total(ws) == 40 * (1025 + 150) - 225
    assert len(fake.reports) == 5  # the 28 re-read days: one report


def test_rotated_refresh_token_is_kept(ws, options):
    fake = populated()
    source(ws, fake, since=day(3).isoformat())
    assert sync(ws, fake, options).ok
    assert json.loads(secret_of(ws, list_sources(ws.conn)[0]))["refresh_token"] == fake.refresh
    assert sync(ws, fake, options).ok  # the old refresh token would be refused now


def test_call_rate_exceeded_waits_the_minute(ws, options, sleeps):
    fake = populated()
    fake.rate_limited = 1
    source(ws, fake, since=day(3).isoformat())
    result = sync(ws, fake, options)
    assert result.ok, result.reason
    assert 60.0 in sleeps and total(ws) == 4 * (1025 + 150)


def test_revoked_consent_is_one_line(ws, options):
    fake = populated()
    source(ws, fake, since=day(3).isoformat())
    assert sync(ws, fake, options).ok
    fake.revoked = True
    result = sync(ws, fake, options)
    assert result.reason == ("Microsoft rejected the refresh token: AADSTS70008: The provided authorization code or "
                             "refresh token has expired due to inactivity.")
    assert total(ws) == 4 * (1025 + 150)


def test_jpy_and_an_empty_range(ws, options):
    fake = FakeMicrosoft("JPY")
    fake.spend(day(1), SHOES, ("7001", "Running"), "1234")
    source(ws, fake, since=day(200).isoformat())  # the older report has no rows and no download URL
    result = sync(ws, fake, options)
    assert result.ok, result.reason
    assert ws.conn.execute("SELECT currency, spend FROM ad_platform_spend").fetchall() == [("jpy", 1234)]
