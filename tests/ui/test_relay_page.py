"""The Relay page's connection check shows what the relay filtered, by reason."""

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
            "(crawler requests 1, crawler browsers 2).")
