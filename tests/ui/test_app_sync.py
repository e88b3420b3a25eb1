"""Sync Now from the main window: a real relay on loopback, a fake Stripe, a source that fails, and cancel."""

from __future__ import annotations

import threading
import time

import httpx
import pytest
from PySide6.QtCore import QElapsedTimer, Qt, QTimer

from segdesk.core.store import open_workspace
from segdesk.sync.http import HttpOptions
from segdesk.sync.sources import add_source
from tests.core.wire import identify, page
from tests.relay_process import running_relay
from tests.sync.fakes import FakeStripe

BROWSER = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) Safari/605.1.15"


@pytest.fixture
def relay(tmp_path):
    """A real relay process on a free loopback port: (url, keys)."""
    with running_relay(tmp_path / "relay") as found:
        yield found


def visits(url: str, write_key: str) -> None:
    """A reader browses anonymously, then signs up by form: what the pixel would send."""
    now = time.time()

    def ts(minutes_ago: float) -> str:
        return time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(now - minutes_ago * 60))

    batch = [page("r-laptop", ts(90), "https://shop.example.com/?utm_source=newsletter&utm_medium=email"),
             page("r-laptop", ts(80), "https://shop.example.com/pricing"),
             identify("r-laptop", ts(79), email="reader@example.com")]
    for event in batch:  # a browser's user agent, or the relay's bot filter drops the event
        event["context"]["userAgent"] = BROWSER
    r = httpx.post(f"{url}/v1/batch", json={"batch": batch}, auth=(write_key, ""), timeout=5)
    assert r.status_code == 200, r.text


def shop() -> FakeStripe:
    fake = FakeStripe()
    for i in range(12):
        cus = fake.customer(f"buyer{i}@example.com", f"Buyer {i}")
        fake.charge(4900 + i, customer=cus["id"], email=f"buyer{i}@example.com")
    return fake


def rejecting(request: httpx.Request) -> httpx.Response:
    return httpx.Response(401, json={"status": "error", "message": "The OAuth token used to make this call expired."})


class Heartbeat:
    """The longest gap between 10 ms ticks of a GUI-thread timer: how long the event loop stalled."""

    def __init__(self):
        self.clock = QElapsedTimer()
        self.longest = 0
        self.timer = QTimer(interval=10)
        self.timer.timeout.connect(self._tick)

    def _tick(self):
        if self.clock.isValid():
            self.longest = max(self.longest, self.clock.restart())
        else:
            self.clock.start()

    def __enter__(self):
        self.timer.start()
        return self

    def __exit__(self, *exc):
        self.timer.stop()


def test_sync_now_fills_contacts_shows_failures_and_retries(tmp_path, qtbot, open_window, relay):
    url, keys = relay
    visits(url, keys["write_key"])
    ws = open_workspace(tmp_path / "ws")
    add_source(ws, "relay", "relay", {"base_url": url}, keys["pull_token"])
    add_source(ws, "stripe", None, {}, "sk_test_fake")
    add_source(ws, "hubspot", None, {}, "pat-expired")
    ws.close()
    fake = shop()

    window = open_window(tmp_path / "ws")
    status = window.sync_status
    transports = {"stripe": fake.transport(), "hubspot": httpx.MockTransport(rejecting)}
    status.http_options = HttpOptions(transports=transports, sleep=lambda _s: None, max_attempts=2)
    window.show_page("contacts")
    contacts = window.page("contacts")
    qtbot.waitUntil(lambda: contacts.model.loaded, timeout=5000)
    assert contacts.model.rowCount() == 0
    seen = []
    status._bridge.sourceProgress.connect(lambda name, text, fraction: seen.append((name, fraction)))

    with Heartbeat() as beat, qtbot.waitSignal(status.finished, timeout=30000) as done:
        qtbot.mouseClick(window.sync_button, Qt.MouseButton.LeftButton)
        assert not window.sync_action.isEnabled() and window.cancel_action.isVisible()
    report = done.args[0]
    assert beat.longest < 500, f"the GUI thread stalled {beat.longest} ms"

    # Progress appeared per source, each bar ends as done or failed.
    assert {"relay", "stripe", "hubspot"} <= {name for name, _f in seen}
    assert set(status.bars) == {"relay", "stripe", "hubspot"}
    assert status.bars["relay"].value() == 1000 and status.bars["relay"].format() == "relay ✓"
    assert status.bars["hubspot"].format() == "hubspot ✗"
    results = {s.name: s for s in report.sources}
    assert results["relay"].ok and results["stripe"].ok
    assert results["hubspot"].status == "failed" and results["hubspot"].reason

    # The failing source shows its one-line reason, with a retry; the others' data is in.
    qtbot.waitUntil(lambda: status.failed_btn.isVisible(), timeout=5000)
    assert status.failed_btn.text() == "⚠ hubspot failed"
    assert results["hubspot"].reason in status.failed_btn.toolTip()
    assert status.last_sync.text().startswith("Last sync ")
    assert "2 of 3 sources synced" in status.message.text()
    qtbot.waitUntil(lambda: contacts.model.rowCount() == 13, timeout=8000)
    qtbot.waitUntil(lambda: contacts.model.email_at(12) is not None, timeout=5000)
    emails = {contacts.model.email_at(r) for r in range(13)}
    assert "reader@example.com" in emails and "buyer3@example.com" in emails

    retry = next(a for a in status.failed_btn.menu().actions() if a.text() == "Retry hubspot")
    with qtbot.waitSignal(status.finished, timeout=30000) as again:
        retry.trigger()
    assert [s.name for s in again.args[0].sources] == ["hubspot"]
    assert status.failed_btn.isVisible()


def test_cancel_stops_the_sync_and_keeps_the_window_usable(tmp_path, qtbot, open_window, relay):
    url, keys = relay
    ws = open_workspace(tmp_path / "ws")
    add_source(ws, "stripe", None, {}, "sk_test_fake")
    add_source(ws, "relay", "relay", {"base_url": url}, keys["pull_token"])
    ws.close()
    fake = shop()
    entered, release = threading.Event(), threading.Event()

    def slow(request):
        entered.set()
        release.wait(10)
        return fake.handle(request)

    window = open_window(tmp_path / "ws")
    status = window.sync_status
    status.http_options = HttpOptions(transports={"stripe": httpx.MockTransport(slow)}, sleep=lambda _s: None)
    with qtbot.waitSignal(status.finished, timeout=30000) as done:
        window.sync_action.trigger()
        qtbot.waitUntil(entered.is_set, timeout=10000)
        # While the sync waits on the network, the window still answers.
        window.show_page("sources")
        assert window.current_page() == "sources"
        window.cancel_action.trigger()
        assert "Cancelling" in status.message.text() and not status.cancel_btn.isEnabled()
        release.set()
    report = done.args[0]
    assert report.cancelled
    assert report.sources[-1].name == "stripe" and report.sources[-1].status == "cancelled"
    assert "cancelled" in status.message.text().lower()
    assert window.sync_action.isEnabled() and not window.cancel_action.isVisible()
