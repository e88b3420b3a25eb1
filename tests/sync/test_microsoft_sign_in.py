"""Microsoft Advertising sign-in end to end against a fake identity platform on loopback (issue 13 item 3).

The "browser" (tests/sync/browser.py) loads the fake's consent page and follows
its redirect to SegDesk's loopback listener; the fake checks the PKCE verifier
against the challenge when the code is redeemed, and SegDesk checks the state.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from segdesk.errors import Cancelled
from segdesk.sync import secrets
from segdesk.sync.connectors import microsoft_auth, oauth_loopback
from segdesk.sync.engine import run_sync
from segdesk.sync.http import AuthError, HttpOptions
from segdesk.sync.sources import list_sources

from .browser import Browser
from .fakes_ads import FakeMicrosoft
from .loopback import Loopback

CLIENT = json.dumps({"developer_token": FakeMicrosoft.developer_token, "client_id": FakeMicrosoft.client_id})


def test_sign_in_with_pkce_then_the_refresh_token_syncs(ws, options):
    fake = FakeMicrosoft()
    with Loopback(fake) as transport:
        browser = Browser(transport)
        secret = microsoft_auth.prepare_secret(CLIENT, open_browser=browser, options=options(**{
            "microsoft-ads": transport}), say=lambda _: None)
        asked = parse_qs(urlsplit(browser.opened[0]).query)
        assert asked["scope"] == ["https://ads.microsoft.com/msads.manage offline_access"]
        assert asked["code_challenge_method"] == ["S256"] and asked["redirect_uri"][0].startswith("http://localhost:")
        assert browser.landed.status_code == 200 and "You can close this tab" in browser.landed.text
        grant = json.loads(secret)
        assert grant["refresh_token"] == fake.refresh and fake.codes == {}  # redeemed once, verifier matched
        redeem = [r for r in fake.log if r.url.path.endswith("/token")][0]
        form = parse_qs(redeem.content.decode())
        assert form["grant_type"] == ["authorization_code"] and "client_secret" not in form  # a public client
        assert form["redirect_uri"] == asked["redirect_uri"] and len(form["code_verifier"][0]) >= 43

        from segdesk.sync.sources import add_source

        add_source(ws, "microsoft-ads", None, {"account_id": fake.account}, secret)
        result = run_sync(ws, options=options(**{"microsoft-ads": transport})).sources[0]
    assert result.ok, result.reason


def test_a_verifier_that_does_not_match_the_challenge_is_one_line(monkeypatch):
    fake = FakeMicrosoft()
    monkeypatch.setattr(oauth_loopback, "pkce_pair", lambda: ("v" * 64, "c" * 43))
    with Loopback(fake) as transport:
        with pytest.raises(AuthError) as refused:
            microsoft_auth.prepare_secret(CLIENT, open_browser=Browser(transport), say=lambda _: None,
                                          options=HttpOptions(transports={"microsoft-ads": transport}))
    assert str(refused.value) == ("Microsoft rejected the sign-in code: AADSTS501481: The Code_Verifier does not "
                                  "match the code_challenge supplied in the authorization request.")


def test_an_answer_without_this_requests_state_is_refused_and_no_code_is_redeemed():
    fake = FakeMicrosoft()

    def forged(url: str) -> str:  # someone else's redirect: another state
        parts = urlsplit(url)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        return f"{parts.scheme}://{parts.netloc}{parts.path}?code={query['code']}&state=forged"

    with Loopback(fake) as transport:
        with pytest.raises(AuthError, match="did not carry this request's state; nothing was stored"):
            microsoft_auth.prepare_secret(CLIENT, open_browser=Browser(transport, tamper=forged), say=lambda _: None,
                                          options=HttpOptions(transports={"microsoft-ads": transport}))
    assert not [r for r in fake.log if r.url.path.endswith("/token")]


def test_a_cancelled_sign_in_stops_within_a_moment_and_closes_its_listener():
    stop = threading.Event()
    flow = oauth_loopback.LoopbackSignIn(microsoft_auth.MICROSOFT, FakeMicrosoft.client_id)
    port = int(urlsplit(flow.redirect_uri).port)
    threading.Timer(0.3, stop.set).start()
    started = time.monotonic()
    with pytest.raises(Cancelled):
        flow.finish(cancelled=stop.is_set)
    assert time.monotonic() - started < 2.0
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


def test_cli_adds_microsoft_ads_after_signing_in(tmp_path, monkeypatch, capsys, memory_keyring):
    import webbrowser

    from segdesk.cli import main
    from segdesk.core.store import open_workspace

    fake = FakeMicrosoft()
    monkeypatch.setenv("MSADS", CLIENT)
    with Loopback(fake) as transport:
        # The command line's own HTTP setup reaches the fake through the loopback transport; the browser it
        # opens (webbrowser.open) is the test's.
        monkeypatch.setattr(HttpOptions, "transport_for", lambda self, kind: transport)
        monkeypatch.setattr(webbrowser, "open", Browser(transport))
        code = main(["--workspace", str(tmp_path / "ws"), "sources", "add", "microsoft-ads", "--account-id",
                     fake.account, "--customer-id", "251186883", "--secret-env", "MSADS", "--json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "Sign in to Microsoft in your browser" in out.err
    assert json.loads(out.out)["config"] == {"account_id": fake.account, "customer_id": "251186883"}
    ws = open_workspace(tmp_path / "ws")
    (source,) = list_sources(ws.conn)
    assert json.loads(secrets.load_secret(ws.path, source.secret_ref))["refresh_token"] == fake.refresh
    ws.close()


def test_cli_without_a_client_id_says_what_is_missing(tmp_path, monkeypatch, capsys):
    from segdesk.cli import main

    monkeypatch.setenv("MSADS", json.dumps({"developer_token": "d"}))
    assert main(["--workspace", str(tmp_path / "ws"), "sources", "add", "microsoft-ads", "--account-id", "1",
                 "--secret-env", "MSADS"]) == 1
    assert "Microsoft Advertising secret must be the JSON" in capsys.readouterr().err
