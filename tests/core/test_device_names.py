"""The journey names each device the way people do: browser, system and, for phones, the model."""

from __future__ import annotations

from segdesk.core.importing.events import import_events
from segdesk.core.read.journey import journey
from segdesk.core.identity.stitch import stitch
from segdesk.core.store import open_workspace
from segdesk.core.traffic.useragent import device_name

from .wire import at, identify, page

IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
          "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1")
MAC = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
       "Chrome/124.0.0.0 Safari/537.36")


def _with_agent(event: dict, agent: str | None) -> dict:
    if agent is None:
        event.setdefault("context", {}).pop("userAgent", None)
    else:
        event.setdefault("context", {})["userAgent"] = agent
    return event


def test_the_iphone_and_the_desktop_are_named_in_the_journey(tmp_path):
    with open_workspace(tmp_path / "ws") as ws:
        import_events(ws, [
            _with_agent(page("phone", at(0)), IPHONE),
            _with_agent(page("desk", at(1)), MAC),
            _with_agent(identify("desk", at(1, minutes=1), email="john@example.com"), MAC),
            _with_agent(identify("phone", at(2), email="john@example.com", method="link"), IPHONE),
            # A server-side identify after the last page view carries no user agent.
            _with_agent(identify("desk", at(2, minutes=5), email="john@example.com", method="server"), None),
            _with_agent(page("bare", at(3)), None),
            _with_agent(identify("bare", at(3, minutes=1), email="john@example.com"), None),
        ], origin="test")
        stitch(ws)
        devices = {d["anonymous_id"]: d for d in journey(ws.conn, "john@example.com")["devices"]}
    assert devices["phone"]["name"] == "Mobile Safari 17 on iOS 17 (iPhone)"
    assert devices["phone"]["user_agent"] == IPHONE
    assert devices["desk"]["name"] == "Chrome 124 on Mac OS X 10"
    assert "name" not in devices["bare"] and "user_agent" not in devices["bare"]


def test_unrecognised_or_missing_agents_have_no_name():
    assert device_name(None) is None and device_name("") is None and device_name(42) is None
    assert device_name("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/124.0 Mobile Safari/537.36") \
        == "Chrome 124 on Android 14 (Pixel 8)"
