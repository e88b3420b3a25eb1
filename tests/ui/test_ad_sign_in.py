"""Sign in to Google Ads and Microsoft Advertising from the Add-source dialog (issue 13 items 2, 3, 5).

Each flow runs end to end against the vendor's fake on loopback: the dialog's
"browser" (tests/sync/browser.py) loads the fake's consent page and follows its
redirect to the app's loopback listener; the fake checks the PKCE verifier when
the app redeems the code; the refresh token ends up in the keychain on Add.
"""

from __future__ import annotations

import json
import socket
from urllib.parse import parse_qs, urlsplit

import pytest
from PySide6.QtCore import Qt

from segdesk.core.store import open_workspace
from segdesk.sync.http import HttpOptions
from segdesk.sync.sources import list_sources
from tests.sync.browser import Browser
from tests.sync.fakes_ads import FakeMicrosoft
from tests.sync.fakes_google import FakeGoogle
from tests.sync.loopback import Loopback


def _dialog(window, kind):
    window.show_page("sources")
    view = window.page("sources")
    return view, view.ask_add(kind)


def _type(qtbot, dialog, **fields):
    for name, text in fields.items():
        qtbot.keyClicks(getattr(dialog, name), text)


def _saved(tmp_path, memory_keyring):
    ws = open_workspace(tmp_path / "ws")
    sources = [(s.kind, s.config) for s in list_sources(ws.conn)]
    ws.close()
    return sources, [json.loads(v) for v in memory_keyring.items.values()]


def test_google_ads_sign_in_from_the_dialog(tmp_path, qtbot, open_window, memory_keyring):
    fake = FakeGoogle()
    window = open_window(tmp_path / "ws")
    view, dialog = _dialog(window, "google-ads")
    for row in (dialog.developer_token, dialog.client_id, dialog.manager, dialog.sign_in):
        assert dialog.form.isRowVisible(row)
    _type(qtbot, dialog, account="123-456-7890", manager="999-999-9999", developer_token=fake.developer_token,
          client_id=fake.client_id, secret=fake.client_secret)
    with Loopback(fake) as transport:
        dialog.sign_in.open_url = browser = Browser(transport)
        dialog.sign_in.http_options = HttpOptions(transports={"google-ads": transport})
        with qtbot.waitSignal(dialog.sign_in.signedIn, timeout=10000):
            qtbot.mouseClick(dialog.sign_in.button, Qt.MouseButton.LeftButton)
    assert browser.landed.status_code == 200 and fake.codes == {}  # redeemed, with the matching verifier
    assert "Signed in to Google Ads" in dialog.sign_in.status.text()
    assert memory_keyring.items == {}  # nothing is kept before Add
    with qtbot.waitSignal(view.changed, timeout=5000):
        dialog.accept()
    sources, grants = _saved(tmp_path, memory_keyring)
    assert sources == [("google-ads", {"customer_id": "123-456-7890", "login_customer_id": "999-999-9999"})]
    (grant,) = grants
    assert grant["refresh_token"] in fake.refresh_tokens and grant["refresh_token"] != "1//refresh-live"
    assert {k: grant[k] for k in ("developer_token", "client_id", "client_secret")} == {
        "developer_token": fake.developer_token, "client_id": fake.client_id, "client_secret": fake.client_secret}


def test_microsoft_advertising_sign_in_from_the_dialog(tmp_path, qtbot, open_window, memory_keyring):
    fake = FakeMicrosoft()
    window = open_window(tmp_path / "ws")
    view, dialog = _dialog(window, "microsoft-ads")
    _type(qtbot, dialog, account=fake.account, manager="251186883", developer_token=fake.developer_token,
          client_id=fake.client_id)  # a desktop app registration: no client secret
    with Loopback(fake) as transport:
        dialog.sign_in.open_url = browser = Browser(transport)
        dialog.sign_in.http_options = HttpOptions(transports={"microsoft-ads": transport})
        with qtbot.waitSignal(dialog.sign_in.signedIn, timeout=10000):
            qtbot.mouseClick(dialog.sign_in.button, Qt.MouseButton.LeftButton)
    assert urlsplit(browser.opened[0]).netloc == "login.microsoftonline.com"
    with qtbot.waitSignal(view.changed, timeout=5000):
        dialog.accept()
    sources, grants = _saved(tmp_path, memory_keyring)
    assert sources == [("microsoft-ads", {"account_id": fake.account, "customer_id": "251186883"})]
    assert grants == [{"developer_token": fake.developer_token, "client_id": fake.client_id,
                       "refresh_token": fake.refresh}]


def test_a_refused_sign_in_shows_its_line_in_the_dialog(tmp_path, qtbot, open_window, memory_keyring,
                                                        monkeypatch):
    from segdesk.sync.connectors import oauth_loopback

    fake = FakeMicrosoft()
    monkeypatch.setattr(oauth_loopback, "pkce_pair", lambda: ("v" * 64, "c" * 43))  # a verifier that fails
    window = open_window(tmp_path / "ws")
    _view, dialog = _dialog(window, "microsoft-ads")
    _type(qtbot, dialog, account=fake.account, developer_token=fake.developer_token, client_id=fake.client_id)
    with Loopback(fake) as transport:
        dialog.sign_in.open_url = Browser(transport)
        dialog.sign_in.http_options = HttpOptions(transports={"microsoft-ads": transport})
        with qtbot.waitSignal(dialog.sign_in.failed, timeout=10000):
            qtbot.mouseClick(dialog.sign_in.button, Qt.MouseButton.LeftButton)
    assert dialog.error.text().startswith("Microsoft rejected the sign-in code: AADSTS501481")
    assert dialog.sign_in.button.text() == "Sign in" and dialog.sign_in.grant is None


def test_sign_in_without_a_client_id_says_so_before_opening_a_browser(tmp_path, qtbot, open_window):
    window = open_window(tmp_path / "ws")
    _view, dialog = _dialog(window, "google-ads")
    opened = []
    dialog.sign_in.open_url = opened.append
    _type(qtbot, dialog, developer_token="d")
    qtbot.mouseClick(dialog.sign_in.button, Qt.MouseButton.LeftButton)
    assert "missing: client_id, client_secret" in dialog.error.text() and opened == []


@pytest.mark.parametrize("how", ["button", "close"])
def test_a_sign_in_can_be_cancelled(tmp_path, qtbot, open_window, how):
    window = open_window(tmp_path / "ws")
    _view, dialog = _dialog(window, "microsoft-ads")
    _type(qtbot, dialog, developer_token="d", client_id=FakeMicrosoft.client_id)
    opened = []
    dialog.sign_in.open_url = opened.append  # the user never comes back from the browser
    qtbot.mouseClick(dialog.sign_in.button, Qt.MouseButton.LeftButton)
    assert dialog.sign_in.button.text() == "Cancel sign-in" and dialog.sign_in.running()
    port = urlsplit(parse_qs(urlsplit(opened[0]).query)["redirect_uri"][0]).port
    job = dialog.sign_in.job
    with qtbot.waitSignal(job.cancelled, timeout=3000):
        if how == "button":
            qtbot.mouseClick(dialog.sign_in.button, Qt.MouseButton.LeftButton)
        else:
            dialog.reject()
    assert not dialog.sign_in.running()
    if how == "button":
        assert dialog.sign_in.status.text() == "Sign-in cancelled." and dialog.sign_in.button.text() == "Sign in"
    with pytest.raises(OSError):  # the loopback listener is gone
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
