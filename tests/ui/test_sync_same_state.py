"""`segdesk sync` and the app's Sync Now leave the same refreshed workspace: stitch, sessions, report caches, reports."""

from __future__ import annotations

import json

from segdesk.cli import main
from segdesk.core.store import open_workspace
from segdesk.sync.sources import add_source
from tests.core.wire import at, identify, page
from tests.sync.pull_server import TOKEN, pull_server

FB = "https://shop.example.com/?utm_source=facebook&utm_medium=cpc&utm_campaign=spring"
EVENTS = [
    page("laptop", at(0), FB, "https://l.facebook.com/"),
    page("laptop", at(0, minutes=5), "https://shop.example.com/pricing"),
    identify("laptop", at(0, minutes=6), email="ann@example.com"),
    page("laptop", at(2), "https://shop.example.com/", "https://www.google.com/"),
    page("phone", at(3), "https://shop.example.com/?utm_source=newsletter&utm_medium=email"),
    identify("phone", at(3, minutes=1), email="ann@example.com", method="link"),
    page("b-1", at(1), "https://shop.example.com/", "https://www.bing.com/"),
    identify("b-1", at(1, minutes=2), email="bob@example.com"),
    page("anon", at(4)),
]
ORDERS = ("order_id,email,amount,currency,created_at,refunded_amount\n"
          f"o1,ann@example.com,49.00,usd,{at(1)},\no2,bob@example.com,20.00,usd,{at(2)},5.00\n"
          f"o3,ann@example.com,15.00,eur,{at(5)},\n")
# What the refresh derives (stitch, sessions, touchpoints, counted orders) and its dirty marks.
DERIVED = {
    "contacts": "SELECT id, email, first_seen, canonical_id FROM contacts ORDER BY id",
    "identity_nodes": "SELECT * FROM identity_nodes ORDER BY node",
    "device_segments": "SELECT * FROM device_segments ORDER BY anonymous_id, start_ts",
    "sessions": "SELECT * FROM sessions ORDER BY id",
    "contact_touches": "SELECT * FROM contact_touches ORDER BY 1, 2",
    "report_first_touch": "SELECT * FROM report_first_touch ORDER BY 1",
    "report_orders": "SELECT * FROM report_orders ORDER BY id",
    "sessions_dirty": "SELECT * FROM sessions_dirty",
    "first_touch_dirty": "SELECT * FROM first_touch_dirty",
    "report_orders_state": "SELECT dirty FROM report_orders_state",
    "identity_state": "SELECT dirty FROM identity_state",
}
REPORTS = [["summary"], ["ltv", "--by", "source"], ["attribution", "--model", "linear", "--by", "source"]]


def configure(folder, relay_url: str, orders_csv) -> None:
    ws = open_workspace(folder)
    add_source(ws, "relay", "site", {"base_url": relay_url}, TOKEN)
    add_source(ws, "csv", "shop", {"path": str(orders_csv), "csv_kind": "orders"}, None)
    ws.close()


def derived(folder) -> dict:
    ws = open_workspace(folder)
    try:
        return {name: ws.conn.execute(sql).fetchall() for name, sql in DERIVED.items()}
    finally:
        ws.close()


def reports(folder, capsys) -> list:
    out = []
    for args in REPORTS:
        assert main(["report", *args, "--json", "--workspace", str(folder)]) == 0
        out.append(json.loads(capsys.readouterr().out))
    return out


def test_cli_sync_and_sync_now_leave_the_same_refreshed_state(tmp_path, qtbot, open_window, capsys):
    orders_csv = tmp_path / "orders.csv"
    orders_csv.write_text(ORDERS)
    cli, app = tmp_path / "cli", tmp_path / "app"
    with pull_server(EVENTS) as relay:
        for folder in (cli, app):
            configure(folder, relay.url, orders_csv)

        assert main(["sync", "--workspace", str(cli)]) == 0
        capsys.readouterr()

        window = open_window(app)
        with qtbot.waitSignal(window.sync_status.finished, timeout=30000) as done:
            window.sync_status.start()
        assert done.args[0].ok
        window.close()
        window.ctx.close()

    by_cli, by_app = derived(cli), derived(app)
    # The refresh ran in both: three sessions of ann's laptop and phone, bob's one, the anonymous one...
    assert len(by_cli["sessions"]) == 5 and by_cli["report_orders_state"] == [(0,)]
    assert by_cli["identity_state"] == [(0,)] and by_cli["sessions_dirty"] == []
    assert len(by_cli["report_orders"]) == 3
    assert by_cli == by_app  # ...and left the same rows
    assert reports(cli, capsys) == reports(app, capsys)
