"""Meta Ads spend against a fake Marketing API on loopback: first sync, restated days, throttling, JPY."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from segdesk.core.importing.csv_import import import_orders
from segdesk.core.importing.events import import_events
from segdesk.core.reports import build_report
from segdesk.errors import InvalidInput
from segdesk.sync.engine import run_sync

from ..core.wire import identify, page
from .fakes_ads import FakeMeta
from .helpers import add
from .loopback import Loopback

TODAY = date.today()


def day(n: int) -> date:
    """n days ago."""
    return TODAY - timedelta(days=n)


def meta_source(ws, **config):
    return add(ws, "meta-ads", secret=FakeMeta.token, account_id="act_1234", **config)


def spend(ws, where: str = "1", args=()) -> list[tuple]:
    return ws.conn.execute(f"SELECT date, campaign_id, ad_id, currency, spend FROM ad_platform_spend WHERE {where} "
                           "ORDER BY date, ad_id", args).fetchall()


def total(ws) -> int:
    return ws.conn.execute("SELECT coalesce(sum(spend), 0) FROM ad_platform_spend").fetchone()[0]


def sync(ws, fake, options):
    with Loopback(fake) as transport:
        report = run_sync(ws, options=options(**{"meta-ads": transport}))
    return report.sources[0]


@pytest.fixture
def fake():
    f = FakeMeta()
    for n in range(40):
        f.ad(day(n), "a1", "12.34")
        f.ad(day(n), "a2", "0.50", adset=("s2", "Retargeting"))
        f.ad(day(n), "a3", "7", campaign=("c2", "Brand"), adset=("s3", "Brand"))
    f.page_cap = 100  # forces several pages per range
    return f


def test_first_sync_reads_a_year_through_report_jobs(ws, fake, options):
    meta_source(ws)
    result = sync(ws, fake, options)
    assert result.ok, result.reason
    assert ws.conn.execute("SELECT count(*) FROM ad_platform_spend").fetchone()[0] == 120
    assert total(ws) == 40 * (1234 + 50 + 700)
    posts = [r for r in fake.log if r.method == "POST"]
    assert len(posts) == 12  # 365 days in 31-day jobs
    assert all("after" not in r.url.params or r.url.path.endswith("/insights") for r in fake.log)
    row = ws.conn.execute("SELECT source, medium, campaign, ad_group, ad, impressions, clicks FROM ad_platform_spend "
                          "WHERE ad_id = 'a2' LIMIT 1").fetchone()
    assert row == ("facebook", "cpc", "Spring Sale", "Retargeting", "Ad", 100, 5)


def test_restated_days_replace_and_never_add(ws, fake, options):
    meta_source(ws)
    assert sync(ws, fake, options).ok
    fake.ad(day(3), "a1", "10.00")          # restated: 12.34 -> 10.00
    del fake.spend[(day(5).isoformat(), "a2")]  # an invalid-click credit removed the day's spend
    fake.ad(day(35), "a1", "99.00")         # older than the 28 re-read days: not read again
    before = len(fake.log)
    result = sync(ws, fake, options)
    assert result.ok, result.reason
    assert not [r for r in fake.log[before:] if r.method == "POST"]  # 28 days: a plain read, no job
    assert total(ws) == 40 * (1234 + 50 + 700) - 234 - 50
    assert spend(ws, "date = ? AND ad_id = 'a1'", (day(3).isoformat(),)) == [(day(3).isoformat(), "c1", "a1", "usd", 1000)]
    assert result.changed == {"spend": 2}  # one row restated, one removed
    again = sync(ws, fake, options)
    assert again.ok and again.changed == {} and total(ws) == 40 * (1234 + 50 + 700) - 284


def test_throttling_waits_what_meta_says(ws, fake, options, sleeps):
    meta_source(ws, since=day(10).isoformat())
    fake.faults = [("throttle", 80004, 2), ("throttle", 17, 0)]
    result = sync(ws, fake, options)
    assert result.ok, result.reason
    assert total(ws) == 11 * (1234 + 50 + 700)
    assert 120.0 in sleeps            # estimated_time_to_regain_access: 2 minutes
    assert any(s >= 60.0 for s in sleeps[1:])  # code 17 without an estimate: the one-minute window at least
    assert result.retries == 2


def test_busy_account_waits_for_the_reset_before_the_next_call(ws, fake, options, sleeps):
    meta_source(ws, since=day(10).isoformat())
    fake.page_cap = 10
    fake.usage = {"acc_id_util_pct": 97.5, "reset_time_duration": 42, "ads_api_access_tier": "standard_access"}
    assert sync(ws, fake, options).ok
    assert len([s for s in sleeps if 41 < s <= 42]) == 3  # pages 2-4 of 4 each waited the reset


def test_revoked_token_is_one_line_and_keeps_data(ws, fake, options):
    meta_source(ws)
    assert sync(ws, fake, options).ok
    fake.revoked = True
    result = sync(ws, fake, options)
    assert not result.ok
    assert result.reason == ("Meta rejected the access token: Error validating access token: The session has been "
                             "invalidated because the user changed their password.")
    assert total(ws) == 40 * (1234 + 50 + 700)


def test_jpy_spend_has_no_minor_unit(ws, options):
    fake = FakeMeta(currency="JPY")
    fake.ad(day(1), "a1", "1234")
    fake.ad(day(2), "a1", "1234.6")  # sub-yen precision rounds half up
    meta_source(ws, since=day(5).isoformat())
    assert sync(ws, fake, options).ok
    assert spend(ws) == [(day(2).isoformat(), "c1", "a1", "jpy", 1235), (day(1).isoformat(), "c1", "a1", "jpy", 1234)]


def test_account_id_is_checked_before_anything_is_stored(ws):
    with pytest.raises(InvalidInput, match="act_NUMBER"):
        add(ws, "meta-ads", secret="x", account_id="1234")
    assert ws.conn.execute("SELECT count(*) FROM sources").fetchone()[0] == 0


def test_spend_meets_touches_by_campaign_name_or_id(ws, options):
    """Spring Sale is tagged by name in another case, Brand by its campaign id; Video has no touches."""
    fake = FakeMeta()
    fake.ad(day(2), "a1", "30.00", campaign=("120330001", "Spring Sale"))
    fake.ad(day(2), "a2", "20.00", campaign=("120330002", "Brand"))
    fake.ad(day(2), "a3", "5.00", campaign=("120330003", "Video"))
    meta_source(ws, since=day(5).isoformat())
    ts = (day(2).isoformat() + "T10:00:00.000Z", day(2).isoformat() + "T10:01:00.000Z")
    shop = "https://shop.example.com/?utm_source=facebook&utm_medium=cpc&utm_campaign="
    import_events(ws, [page("p1", ts[0], shop + "SPRING+SALE"), identify("p1", ts[1], email="p@x.com"),
                       page("q1", ts[0], shop + "120330002"), identify("q1", ts[1], email="q@x.com")], origin="test")
    import_orders(ws, f"order_id,email,amount,currency,created_at\no1,p@x.com,90.00,usd,{ts[1]}\n")
    assert sync(ws, fake, options).ok  # the sync's refresh builds sessions and touches
    report = build_report(ws.conn, "roas", by="campaign").to_json()
    rows = {r["key"]: r for r in report["rows"]}
    assert rows["spring sale"]["spend"] == {"usd": 3000} and rows["spring sale"]["roas"] == {"usd": 3.0}
    assert rows["120330002"]["spend"] == {"usd": 2000} and rows["120330002"]["leads"] == 1
    assert report["unmatched_spend"] == [{"source": "facebook", "medium": "cpc", "campaign": "video",
                                          "currency": "usd", "spend": 500}]


def test_utm_source_and_medium_are_what_the_ads_are_tagged_with(ws, options):
    """Ads tagged utm_source=fb&utm_medium=paid_social: the spend meets those visits, not facebook / cpc."""
    fake = FakeMeta()
    fake.ad(day(2), "a1", "30.00", campaign=("120330001", "Spring Sale"))
    meta_source(ws, since=day(5).isoformat(), utm_source="FB", utm_medium="Paid_Social")
    ts = day(2).isoformat() + "T10:00:00.000Z"
    import_events(ws, [page("p1", ts, "https://shop.example.com/?utm_source=fb&utm_medium=paid_social"
                                      "&utm_campaign=spring+sale")], origin="test")
    assert sync(ws, fake, options).ok
    assert ws.conn.execute("SELECT source, medium, campaign, spend FROM spend_rows").fetchall() == [
        ("fb", "paid_social", "spring sale", 3000)]
    assert build_report(ws.conn, "roas", by="campaign").to_json()["unmatched_spend"] == []


def test_the_roas_text_names_spend_that_matches_no_visit(ws, options, capsys):
    from segdesk.cli import main

    fake = FakeMeta()
    fake.ad(day(2), "a3", "5.00", campaign=("120330003", "Video"))
    meta_source(ws, since=day(5).isoformat())
    assert sync(ws, fake, options).ok
    assert main(["--workspace", str(ws.path), "report", "roas", "--by", "campaign"]) == 0
    assert "spend matching no visit: facebook / cpc / video: 5.00 USD" in capsys.readouterr().out
