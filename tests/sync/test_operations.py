"""Erase everywhere, merge and unmerge: through sync/core directly and through the CLI, against relays on loopback."""

from __future__ import annotations

import json
import socket

from segdesk.cli import main
from segdesk.core.changes import Changes
from segdesk.core.importing.csv_import import import_orders
from segdesk.core.importing.events import import_events
from segdesk.core.refresh import refresh_after_import
from segdesk.core.store import open_workspace
from segdesk.sync.http import HttpOptions
from segdesk.sync.operations import erase_everywhere
from segdesk.sync.sources import add_source
from tests.core.test_operations import caches_current
from tests.core.wire import at, identify, page
from tests.sync.pull_server import TOKEN, pull_server


def people(ws) -> None:
    import_events(ws, [page("p1", at(0)), identify("p1", at(0, minutes=1), email="ann@example.com"),
                       page("p2", at(1)), identify("p2", at(1, minutes=1), email="bob@example.com")], origin="t")
    import_orders(ws, "order_id,email,amount,currency,created_at\no1,ann@example.com,10.00,usd,2026-03-03\n")
    refresh_after_import(ws)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_erase_everywhere_erases_locally_then_at_each_relay_and_reports_a_dead_one(ws):
    people(ws)
    with pull_server([]) as relay:
        add_source(ws, "relay", "site", {"base_url": relay.url}, TOKEN)
        add_source(ws, "relay", "old", {"base_url": f"http://127.0.0.1:{closed_port()}"}, TOKEN)
        done = erase_everywhere(ws, " Ann@Example.com", options=HttpOptions(sleep=lambda s: None, max_attempts=1))
    assert relay.erased == ["ann@example.com"]
    assert (done.local.email, done.local.events, done.local.orders) == ("ann@example.com", 2, 1)
    assert done.relays.erased == {"site": 0} and list(done.relays.failed) == ["old"]
    assert not done.ok
    assert done.changes == Changes(contacts=True, events=True, orders=True, identity=True,
                                   emails=frozenset({"ann@example.com"}))
    assert "relay “old” could not erase" in done.summary()
    assert ws.conn.execute("SELECT count(*) FROM contacts").fetchone()[0] == 1
    assert caches_current(ws)


def test_cli_merge_unmerge_erase_leave_fresh_caches(tmp_path, capsys):
    folder = tmp_path / "ws"
    ws = open_workspace(folder)
    people(ws)
    ws.close()
    common = ["--workspace", str(folder), "--json"]

    def run(*args) -> dict:
        assert main([*args, *common]) == 0
        out = json.loads(capsys.readouterr().out)
        check = open_workspace(folder)
        try:
            assert caches_current(check)
            out["contacts"] = check.conn.execute(
                "SELECT count(*) FROM contacts WHERE canonical_id = id").fetchone()[0]
        finally:
            check.close()
        return out

    assert run("merge", "ann@example.com", "bob@example.com")["contacts"] == 1
    assert run("unmerge", "bob@example.com")["contacts"] == 2
    with pull_server([]) as relay:
        ws = open_workspace(folder)
        add_source(ws, "relay", "site", {"base_url": relay.url}, TOKEN)
        ws.close()
        erased = run("erase", "bob@example.com")
    assert relay.erased == ["bob@example.com"]
    assert erased == {"email": "bob@example.com", "events": 2, "orders": 0, "anonymous_ids": ["p2"],
                      "relays": {"erased": {"site": 0}, "failed": {}}, "contacts": 1}
