"""A source that does not answer: named in a banner within seconds, Retry and Edit work, Cancel returns at once.

The vendor is a real socket on loopback that accepts the connection and
never answers (what a stuck API or a captive network does); the bounds are
generous, the point is seconds rather than minutes.
"""

from __future__ import annotations

import httpx
import pytest
from PySide6.QtCore import Qt

from segdesk.core.store import open_workspace
from segdesk.sync.http import HttpOptions
from segdesk.sync.progress_words import describe
from segdesk.sync.sources import add_source
from tests.sync.fakes import FakeStripe
from tests.sync.loopback import Hanging, ToLoopback


@pytest.fixture
def hanging():
    server = Hanging()
    yield server
    server.close()


def workspace_with_stripe(folder):
    ws = open_workspace(folder)
    add_source(ws, "stripe", None, {}, "sk_test_fake")
    ws.close()


def test_a_silent_source_is_named_in_a_banner_and_retry_syncs_it(tmp_path, qtbot, open_window, hanging):
    workspace_with_stripe(tmp_path / "ws")
    window = open_window(tmp_path / "ws")
    status, banner = window.sync_status, window.sync_banner
    status.http_options = HttpOptions(transports={"stripe": ToLoopback(hanging.port)},
                                      timeout=httpx.Timeout(1.0, connect=1.0), backoff_base=0.01)
    assert not banner.isVisible()
    window.sync_action.trigger()
    qtbot.waitUntil(banner.isVisible, timeout=15000)
    text = banner.text.text()
    assert "“stripe” did not sync" in text and "Stripe did not answer within 1 second (tried twice)" in text
    assert "Error" not in text and "Timeout" not in text  # plain words, no exception names
    assert banner.retry_btn.isVisible() and banner.edit_btn.isVisible()
    qtbot.waitUntil(lambda: not status.running, timeout=10000)

    # The vendor is back: Retry syncs the source again and the banner goes.
    fake = FakeStripe()
    fake.charge(4900, customer=fake.customer("a@example.com", "A")["id"], email="a@example.com")
    status.http_options = HttpOptions(transports={"stripe": fake.transport()}, sleep=lambda _s: None)
    with qtbot.waitSignal(status.finished, timeout=30000) as done:
        qtbot.mouseClick(banner.retry_btn, Qt.MouseButton.LeftButton)
    assert [s.name for s in done.args[0].sources] == ["stripe"] and done.args[0].ok
    assert not banner.isVisible()


def test_edit_source_from_the_banner_opens_that_source(tmp_path, qtbot, open_window):
    workspace_with_stripe(tmp_path / "ws")
    window = open_window(tmp_path / "ws")
    window.sync_banner.add_failure("stripe", "Stripe did not answer within 15 seconds (tried twice)")
    qtbot.mouseClick(window.sync_banner.edit_btn, Qt.MouseButton.LeftButton)
    assert window.current_page() == "sources"
    dialog = window.page("sources")._dialog
    assert dialog.windowTitle() == "Edit source “stripe”" and dialog.name.text() == "stripe"
    assert not dialog.kind.isEnabled()
    qtbot.keyClicks(dialog.base_url, "https://api.eu.example.com")
    with qtbot.waitSignal(window.page("sources").changed, timeout=5000):
        dialog.accept()
    ws = open_workspace(tmp_path / "ws")
    from segdesk.sync.sources import get_source
    source = get_source(ws.conn, "stripe")
    ws.close()
    assert source.config == {"base_url": "https://api.eu.example.com"}
    assert source.secret_ref.startswith("keyring:")  # the key was kept


def test_cancel_returns_promptly_while_a_request_hangs(tmp_path, qtbot, open_window, hanging):
    workspace_with_stripe(tmp_path / "ws")
    window = open_window(tmp_path / "ws")
    status = window.sync_status
    # A long read timeout: only the cancel can end this sync soon.
    status.http_options = HttpOptions(transports={"stripe": ToLoopback(hanging.port)},
                                      timeout=httpx.Timeout(60.0, connect=5.0), silent_limit=60.0)
    window.sync_action.trigger()
    qtbot.waitUntil(hanging.asked.is_set, timeout=10000)
    with qtbot.waitSignal(status.finished, timeout=2000) as done:  # the two seconds
        window.cancel_action.trigger()
    assert done.args[0].cancelled
    assert not window.sync_banner.isVisible()  # a cancel is not a failure


@pytest.mark.parametrize("counts, fraction, elapsed, words", [
    ({}, 0.0, 0.0, "starting"),
    ({"events": 5000, "imported": 4990, "duplicates": 10}, None, 3.0, "5,000 records so far"),
    ({"charges": 300, "customers": 100}, 0.25, 30.0, "400 records, about 2 min left"),
    ({"rows": 1}, 0.5, 4.0, "1 record, a few seconds left"),
])
def test_progress_in_records_and_time_left(counts, fraction, elapsed, words):
    assert describe(counts, fraction, elapsed) == words
