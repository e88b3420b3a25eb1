"""The Relay page's connection check shows what the relay filtered, by reason, and how webhooks fare."""

from __future__ import annotations

import httpx

from tests.relay_process import running_relay

GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Safari/605.1.15"


def test_check_connection_shows_filtered_bots(tmp_path, qtbot, open_window):
    with running_relay(tmp_path / "relay") as (url, keys):
        def page(n: int, agent: str) -> dict:
            return {"type": "page", "anonymousId": f"a{n}", "messageId": f"m{n}",
                    "context": {"userAgent": agent, "page": {"url": "https://example.com/"}}}
        batch = [page(1, BROWSER), page(2, GOOGLEBOT), page(3, GOOGLEBOT)]
        # A crawler loading a page with p.gif: its request's own user agent.
        httpx.post(f"{url}/v1/batch", json={"batch": batch}, auth=(keys["write_key"], "")).raise_for_status()
        httpx.get(f"{url}/v1/p.gif", params={"writeKey": keys["write_key"]},
                  headers={"User-Agent": GOOGLEBOT}).raise_for_status()

        window = open_window(tmp_path / "ws")
        window.show_page("relay")
        view = window.page("relay")
        view.url.setText(url)
        view.token.setText(keys["pull_token"])
        view.check()
        qtbot.waitUntil(lambda: "answers" in view.banner.text(), timeout=10000)
        assert view.banner.text() == (
            "The relay answers: 1 events waiting to be pulled. Filtered as bots, not stored: 3 "
            "(crawler requests 1, crawler browsers 2). No webhook sources yet (segdesk relay hooks add).")


def test_check_connection_says_in_plain_words_how_webhooks_fare(tmp_path, qtbot, open_window):
    from tests.hook_senders import DripSender
    from tests.relay.pixel_support import running_relay as relay_process
    from tests.sync.fakes_drip import clicked_email

    with relay_process(tmp_path / "relay", env={"SEGDESK_RELAY_HOOK_DRIP": "drip:the-url-key"}) as relay:
        drip = DripSender(relay.url, "drip", "the-url-key")
        click = clicked_email("ann@example.com", "2026-03-04T10:00:00Z", "Spring Sale")
        assert drip.send(click).json()["duplicate"] is False
        assert drip.send(click).json()["duplicate"] is True  # Drip's retry
        assert drip.send(click, key="wrong").status_code == 401
        assert drip.send(click, key="also wrong").status_code == 401
        assert httpx.post(f"{relay.url}/v1/hooks/shopify", content=b"{}").status_code == 401
        since = httpx.get(f"{relay.url}/healthz", headers={"Authorization": f"Bearer {relay.pull_token}"}
                          ).json()["webhooks"]["rejected_since"]

        window = open_window(tmp_path / "ws")
        window.show_page("relay")
        view = window.page("relay")
        view.url.setText(relay.url)
        view.token.setText(relay.pull_token)
        view.check()
        qtbot.waitUntil(lambda: "answers" in view.banner.text(), timeout=10000)
        assert view.banner.text() == (
            f"The relay answers: 0 events waiting to be pulled. Webhooks since {since[:10]} {since[11:16]} UTC:"
            " 1 kept, 1 repeats not stored again, 1 waiting to be pulled; 3 refused (wrong signature or key 2,"
            " unknown address 1).")
