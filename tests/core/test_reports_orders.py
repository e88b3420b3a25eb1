"""Reports count orders exactly as core.orders does, and stay right before a refresh."""

from __future__ import annotations

from segdesk.core.importing.csv_import import import_orders
from segdesk.core.importing.events import import_events
from segdesk.core.orders import counted_orders_sql
from segdesk.core.identity.people import merge
from segdesk.core.refresh import refresh_after_import
from segdesk.core.reports import build_report
from segdesk.core.reports.data import ORDERS_SQL
from segdesk.core.store import open_workspace

from .wire import at, identify, page


def test_orders_sql_matches_counted_orders_with_dedupe(tmp_path):
    ws = open_workspace(tmp_path / "ws")
    import_orders(ws, "order_id,email,amount,currency,created_at\n"
                      f"1,a@x.com,10.00,usd,{at(0)}\n2,a@x.com,20.00,usd,{at(1)}\n3,b@x.com,5.00,eur,{at(2)}\n")
    with ws.conn:
        ws.conn.execute("INSERT INTO orders(origin, order_id, email, amount, currency, created_at, dedupe_key) "
                        "VALUES ('stripe', 'ch_1', 'a@x.com', 1000, 'usd', ?, 'k1'), "
                        "('crm', 'c1', 'a@x.com', 1000, 'usd', ?, 'k1')", (at(0), at(0)))
    refresh_after_import(ws)
    for truth in (None, "crm"):
        if truth:
            ws.set_setting("orders.source_of_truth", truth)
        sql, params = counted_orders_sql(ws.conn)
        expected = sorted(r[0] for r in ws.conn.execute(sql, params))
        assert sorted(r[0] for r in ws.conn.execute(ORDERS_SQL, params)) == expected
        # The source-of-truth setting marks the cache dirty; readers use the live query meanwhile.
        assert build_report(ws.conn, "summary").to_json()["orders"] == 4


def test_reports_are_right_after_a_merge_that_skipped_the_refresh(tmp_path):
    ws = open_workspace(tmp_path / "ws")
    import_events(ws, [page("a1", at(0), "https://s.example.com/?utm_source=fb"),
                       identify("a1", at(0, minutes=1), email="a@x.com")], origin="test")
    import_orders(ws, f"order_id,email,amount,currency,created_at\n1,b@x.com,10.00,usd,{at(1)}\n")
    refresh_after_import(ws)
    r = build_report(ws.conn, "attribution", model="first_touch").to_json()
    assert r["unattributed"] == {"usd": 1000}
    merge(ws, "a@x.com", "b@x.com")  # runs the stitch only: triggers mark contacts and orders dirty
    r = build_report(ws.conn, "attribution", model="first_touch").to_json()
    assert r["rows"] == [{"key": "fb", "credit": {"usd": 1000.0}, "orders": 1.0}]
    refresh_after_import(ws)
    assert build_report(ws.conn, "attribution", model="first_touch").to_json()["rows"] == r["rows"]
