"""segdesk demo: the workspace it builds, its live relay and trickle, and a screenshot of every main view."""

from __future__ import annotations

import time

import httpx

from segdesk.cli import main
from segdesk.commands import demo
from segdesk.core.store import open_workspace
from segdesk.sync.sources import list_sources


def test_demo_no_open_builds_a_workspace_and_prints_where(tmp_path, capsys, monkeypatch):
    folder = tmp_path / "demo"
    monkeypatch.setenv("SEGDESK_WORKSPACE", str(folder))
    assert main(["demo", "--no-open", "--contacts", "40"]) == 0
    out, err = capsys.readouterr()
    assert out.strip() == str(folder)
    assert "Generating a demo workspace with 40 contacts" in err
    ws = open_workspace(folder, create=False)
    try:
        assert ws.conn.execute("SELECT count(*) FROM contacts WHERE canonical_id = id").fetchone()[0] == 40
        relay = [s for s in list_sources(ws.conn) if s.kind == "relay"]
        assert len(relay) == 1 and relay[0].config["base_url"].startswith("http://127.0.0.1:")
        assert ws.setting("relay.write_key")
    finally:
        ws.close()
    assert main(["demo", "--no-open"]) == 0  # a second run reuses it
    assert "Using the demo workspace" in capsys.readouterr().err


def test_demo_folder_defaults_beside_the_default_workspace(monkeypatch):
    monkeypatch.delenv("SEGDESK_WORKSPACE", raising=False)
    from segdesk.core.paths import default_workspace

    assert demo.demo_folder(None) == default_workspace().parent / "demo"


def test_live_demo_relay_feeds_sync_now_and_every_view_screenshots(tmp_path, qtbot, open_window, screenshot):
    folder = tmp_path / "demo"
    ws = demo.build(folder, contacts=120, seed=3)
    try:
        port = demo.free_port()
        relay = demo.configure_relay(ws, port)
    finally:
        ws.close()
    procs = demo.start_background(relay, port, folder / "logs")
    try:
        deadline = time.monotonic() + 15
        auth = {"Authorization": f"Bearer {relay['pull_token']}"}
        while httpx.get(f"{relay['url']}/healthz", headers=auth, timeout=2).json()["buffered"] == 0:
            assert time.monotonic() < deadline, "the trickle posted nothing"
            time.sleep(0.1)

        window = open_window(folder)
        dashboard = window.page("dashboard")
        qtbot.waitUntil(lambda: dashboard.dashboard is not None, timeout=5000)
        qtbot.waitSignal(dashboard.dashboard.loaded, timeout=10000, raising=False).wait()
        with qtbot.waitSignal(window.sync_status.finished, timeout=30000) as done:
            window.sync_action.trigger()
        relay_result = next(s for s in done.args[0].sources if s.kind == "relay")
        assert relay_result.ok and relay_result.changed.get("events", 0) > 0
        qtbot.wait(300)
        screenshot(window, "dashboard")
    finally:
        demo.stop(procs)
    assert all(p.poll() is not None for p in procs)

    window.show_page("contacts")
    contacts = window.page("contacts")
    qtbot.waitUntil(lambda: contacts.model.rowCount() > 100 and contacts.model.email_at(0) is not None, timeout=8000)
    screenshot(window, "contacts")
    with qtbot.waitSignal(contacts.journey.loaded, timeout=8000):
        contacts.open_contact(contacts.model.email_at(0))
    contacts.journey.timeline.expandAll()
    screenshot(window, "journey")

    window.show_page("reports")
    reports = window.page("reports")
    if hasattr(reports, "reportShown"):
        qtbot.waitSignal(reports.reportShown, timeout=10000, raising=False).wait()
    screenshot(window, "reports")
    window.show_page("sources")
    qtbot.waitUntil(lambda: bool(window.page("sources").rows), timeout=5000)
    screenshot(window, "sources")
    window.show_page("relay")
    qtbot.waitUntil(lambda: window.page("relay").state["name"] == "relay", timeout=5000)
    screenshot(window, "relay")
