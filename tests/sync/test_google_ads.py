"""Google Ads against a fake Google on loopback: sign-in with PKCE, spend, restated days, clicks to campaigns."""

from __future__ import annotations

import json
from datetime import date, timedelta

import httpx
import pytest

from segdesk.core.importing.csv_import import import_orders
from segdesk.core.importing.events import import_events
from segdesk.core.refresh import refresh_after_import
from segdesk.core.reports import build_report
from segdesk.sync.connectors import google_auth, oauth_loopback
from segdesk.sync.engine import run_sync
from segdesk.sync.http import AuthError, HttpOptions

from ..core.wire import identify, page
from .fakes_google import FakeGoogle
from .helpers import add
from .loopback import Loopback

TODAY = date.today()
SHOES, BRAND = ("111", "Search - Shoes"), ("222", "Brand")
RUNNING, CORE = ("901", "Running"), ("902", "Core terms")


def day(n: int) -> date:
    return TODAY - timedelta(days=n)


def google_source(ws, fake, **config):
    return add(ws, "google-ads", secret=fake.grant(), customer_id="123-456-7890", **config)


def sync(ws, fake, options):
    with Loopback(fake) as transport:
        return run_sync(ws, options=options(**{"google-ads": transport})).sources[0]


def total(ws) -> int:
    return ws.conn.execute("SELECT coalesce(sum(spend), 0) FROM ad_platform_spend").fetchone()[0]


@pytest.fixture
def fake():
    f = FakeGoogle()
    for n in range(40):
        f.cost(day(n), SHOES, RUNNING, 25_000_000)   # $25.00 a day
        f.cost(day(n), BRAND, CORE, 1_230_000)       # $1.23 a day
    return f


def test_sign_in_runs_the_installed_app_flow_with_pkce(fake):
    """The 'browser' follows Google's consent redirect back to SegDesk's loopback server."""
    with Loopback(fake) as transport:
        options = HttpOptions(transports={"google-ads": transport})

        def browser(url: str) -> None:
            with httpx.Client(transport=transport) as to_google:
                consent = to_google.get(url)
            assert consent.status_code == 302, consent.text
            assert httpx.get(consent.headers["location"]).status_code == 200  # the loopback redirect

        secret = google_auth.prepare_secret(json.dumps({
            "developer_token": fake.developer_token, "client_id": fake.client_id,
            "client_secret": fake.client_secret}), open_browser=browser, options=options, say=lambda _: None)
    grant = json.loads(secret)
    assert grant["refresh_token"] in fake.refresh_tokens and grant["refresh_token"] != "1//refresh-live"
    assert fake.codes == {}  # the code was exchanged, with a verifier matching its challenge
    exchange = [r for r in fake.log if r.url.path == "/token"][0]
    assert b"code_verifier=" in exchange.content and b"grant_type=authorization_code" in exchange.content


def test_a_code_without_the_right_verifier_is_refused(fake, monkeypatch):
    monkeypatch.setattr(oauth_loopback, "pkce_pair", lambda: ("verifier-" + "x" * 40, "y" * 43))
    with Loopback(fake) as transport:
        def browser(url: str) -> None:
            with httpx.Client(transport=transport) as to_google:
                httpx.get(to_google.get(url).headers["location"])

        with pytest.raises(AuthError, match="Google rejected the sign-in code"):
            google_auth.sign_in({"client_id": fake.client_id, "client_secret": fake.client_secret},
                                open_browser=browser, options=HttpOptions(transports={"*": transport}),
                                say=lambda _: None)


def test_first_sync_and_restated_days(ws, fake, options):
    google_source(ws, fake)
    first = sync(ws, fake, options)
    assert first.ok, first.reason
    assert total(ws) == 40 * (2500 + 123)
    search = [r for r in fake.log if r.url.host == "googleads.googleapis.com"][0]
    assert search.headers["developer-token"] == fake.developer_token and "login-customer-id" not in search.headers
    fake.cost(day(2), SHOES, RUNNING, 20_000_000)  # a restated day: $25.00 -> $20.00
    fake.cost(day(40), SHOES, RUNNING, 99_000_000)  # a day not read again
    second = sync(ws, fake, options)
    assert second.ok, second.reason
    assert total(ws) == 40 * (2500 + 123) - 500
    assert second.changed.get("spend") == 1


def test_manager_account_needs_login_customer_id(ws, fake, options):
    fake.manager = "9999999999"
    google_source(ws, fake)
    result = sync(ws, fake, options)
    assert result.reason.startswith("Google Ads refused /v21/customers/1234567890/googleAds:searchStream: User "
                                    "doesn't have permission to access customer.")
    ws.conn.execute("DELETE FROM sources")
    ws.conn.commit()
    google_source(ws, fake, login_customer_id="999-999-9999")
    assert sync(ws, fake, options).ok


def test_exhausted_quota_waits_and_retries(ws, fake, options, sleeps):
    google_source(ws, fake, since=day(3).isoformat())
    fake.exhausted = 2
    result = sync(ws, fake, options)
    assert result.ok, result.reason
    assert total(ws) == 4 * (2500 + 123)
    assert sleeps[:2] == [30.0, 60.0]  # Google's 30 s window, doubled on the second refusal


def test_revoked_refresh_token_is_one_line(ws, fake, options):
    google_source(ws, fake, since=day(3).isoformat())
    assert sync(ws, fake, options).ok
    fake.revoked = True
    result = sync(ws, fake, options)
    assert result.reason == "Google rejected the refresh token: Token has been expired or revoked."
    assert total(ws) == 4 * (2500 + 123)


def test_jpy_micros(ws, options):
    fake = FakeGoogle(currency="JPY")
    fake.cost(day(1), SHOES, RUNNING, 1_234_000_000)  # ¥1234
    fake.cost(day(2), SHOES, RUNNING, 1_234_500_000)  # ¥1234.5 rounds half up
    google_source(ws, fake, since=day(3).isoformat())
    assert sync(ws, fake, options).ok
    assert ws.conn.execute("SELECT date, currency, spend FROM ad_platform_spend ORDER BY date").fetchall() == [
        (day(2).isoformat(), "jpy", 1235), (day(1).isoformat(), "jpy", 1234)]


def test_a_gclid_credits_its_campaign_in_attribution_and_roas(ws, fake, options):
    """A visit tagged only with gclid counts for the campaign and ad group Google says it came from."""
    ts = [day(1).isoformat() + f"T10:0{m}:00.000Z" for m in range(3)]
    import_events(ws, [page("d1", ts[0], "https://shop.example.com/?gclid=Cj0KCQ-abc"),
                       identify("d1", ts[1], email="g@x.com")], origin="test")
    import_orders(ws, f"order_id,email,amount,currency,created_at\no1,g@x.com,100.00,usd,{ts[2]}\n")
    refresh_after_import(ws)
    before = build_report(ws.conn, "attribution", by="campaign", model="first_touch").to_json()["rows"]
    assert [(r["key"], r["credit"]) for r in before] == [("(not set)", {"usd": 10000})]

    fake.click(day(1), "Cj0KCQ-abc", SHOES, RUNNING)
    fake.click(day(1), "other-click", BRAND, CORE)
    google_source(ws, fake, since=day(3).isoformat())
    result = sync(ws, fake, options)
    assert result.ok, result.reason
    assert result.changed["click_ids"] == 2
    after = build_report(ws.conn, "attribution", by="campaign", model="first_touch").to_json()["rows"]
    assert [(r["key"], r["credit"]) for r in after] == [("search - shoes", {"usd": 10000})]
    session = ws.conn.execute("SELECT source, medium, campaign, content FROM sessions").fetchall()
    assert session == [("google", "cpc", "search - shoes", "running")]
    roas = {r["key"]: r for r in build_report(ws.conn, "roas", by="campaign").to_json()["rows"]}
    assert roas["search - shoes"]["spend"] == {"usd": 4 * 2500}
    assert roas["search - shoes"]["roas"] == {"usd": 1.0} and roas["search - shoes"]["leads"] == 1
    # The click's ad group is the lead's: its row has the ad group's spend; Brand's visits are none of ours.
    groups = build_report(ws.conn, "roas", by="ad_group").to_json()
    assert [(r["key"], r["spend"], r["leads"], r["roas"]) for r in groups["rows"]] == [
        ("google / search - shoes / running", {"usd": 4 * 2500}, 1, {"usd": 1.0})]
    assert [(u["campaign"], u["ad_group"], u["spend"]) for u in groups["unmatched_spend"]] == [
        ("brand", "core terms", 4 * 123)]
    # Only the first 90 days are asked for clicks, one query a day; the next sync reads from yesterday on.
    clicks = [r for r in fake.log if b"click_view" in r.content]
    assert len(clicks) == 90
    before = len(fake.log)
    assert sync(ws, fake, options).ok
    assert len([r for r in fake.log[before:] if b"click_view" in r.content]) == 2


def test_cli_adds_a_signed_in_grant_and_refuses_a_bad_customer_id(tmp_path, monkeypatch, capsys):
    from segdesk.cli import main

    monkeypatch.setenv("GADS", FakeGoogle().grant())
    ws_args = ["--workspace", str(tmp_path / "ws")]
    assert main(["sources", "add", "google-ads", *ws_args, "--customer-id", "12-34", "--secret-env", "GADS"]) == 1
    assert "--customer-id as the 10-digit customer id" in capsys.readouterr().err
    assert main(["sources", "add", "google-ads", *ws_args, "--customer-id", "123-456-7890",
                 "--login-customer-id", "999-999-9999", "--secret-env", "GADS", "--json"]) == 0
    added = json.loads(capsys.readouterr().out)
    assert added["config"] == {"customer_id": "123-456-7890", "login_customer_id": "999-999-9999"}


def test_a_full_sessions_rebuild_credits_known_clicks_too(ws, fake, options):
    from segdesk.core.reports.sessions import HIGH_WATER

    ts = day(1).isoformat() + "T10:00:00.000Z"
    import_events(ws, [page("d1", ts, "https://shop.example.com/?gclid=Cj0KCQ-abc"),
                       page("d2", ts, "https://shop.example.com/?gclid=Cj0KCQ-abc&utm_campaign=Tagged")],
                  origin="test")
    fake.click(day(1), "Cj0KCQ-abc", SHOES, RUNNING)
    google_source(ws, fake, since=day(3).isoformat())
    assert sync(ws, fake, options).ok
    incremental = ws.conn.execute("SELECT anonymous_id, campaign, content FROM sessions ORDER BY 1").fetchall()
    with ws.conn:
        ws.conn.execute("DELETE FROM settings WHERE key = ?", (HIGH_WATER,))  # next refresh builds all anew
    refresh_after_import(ws)
    rebuilt = ws.conn.execute("SELECT anonymous_id, campaign, content FROM sessions ORDER BY 1").fetchall()
    # A utm campaign, where the visit has one, wins over the click's.
    assert incremental == rebuilt == [("d1", "search - shoes", "running"), ("d2", "tagged", None)]


def test_cli_signs_in_to_google_in_the_browser_and_keeps_the_refresh_token(tmp_path, monkeypatch, capsys, fake):
    import webbrowser

    from segdesk.cli import main
    from segdesk.core.store import open_workspace
    from segdesk.sync import secrets
    from segdesk.sync.sources import list_sources

    from .browser import Browser

    monkeypatch.setenv("GADS", json.dumps({"developer_token": fake.developer_token, "client_id": fake.client_id,
                                           "client_secret": fake.client_secret}))
    with Loopback(fake) as transport:
        monkeypatch.setattr(HttpOptions, "transport_for", lambda self, kind: transport)
        browser = Browser(transport)
        monkeypatch.setattr(webbrowser, "open", browser)
        assert main(["--workspace", str(tmp_path / "ws"), "sources", "add", "google-ads", "--customer-id",
                     "123-456-7890", "--secret-env", "GADS"]) == 0
    assert "Sign in to Google in your browser" in capsys.readouterr().err
    assert browser.opened[0].startswith("https://accounts.google.com/o/oauth2/v2/auth?")
    ws = open_workspace(tmp_path / "ws")
    (source,) = list_sources(ws.conn)
    refresh = json.loads(secrets.load_secret(ws.path, source.secret_ref))["refresh_token"]
    ws.close()
    assert refresh in fake.refresh_tokens and refresh != "1//refresh-live" and fake.codes == {}
