"""Merge, unmerge and erase as the CLI and the app call them: the change, fresh report caches, and what changed."""

from __future__ import annotations

import pytest

from segdesk.core import operations
from segdesk.core.changes import Changes
from segdesk.core.importing.csv_import import import_orders
from segdesk.core.importing.events import import_events
from segdesk.core.refresh import refresh_after_import
from segdesk.core.reports import build_report
from segdesk.core.store import open_workspace
from segdesk.errors import InvalidInput
from tests.core.wire import at, identify, page


@pytest.fixture
def ws(tmp_path):
    w = open_workspace(tmp_path / "ws")
    import_events(w, [page("p1", at(0), "https://shop.example.com/?utm_source=facebook&utm_medium=cpc"),
                      identify("p1", at(0, minutes=1), email="work@example.com"),
                      page("p2", at(1), "https://shop.example.com/", "https://www.google.com/"),
                      identify("p2", at(1, minutes=1), email="home@example.com")], origin="t")
    import_orders(w, "order_id,email,amount,currency,created_at\no1,home@example.com,10.00,usd,2026-03-03\n")
    refresh_after_import(w)
    yield w
    w.close()


def caches_current(ws) -> bool:
    conn = ws.conn
    return (conn.execute("SELECT dirty FROM report_orders_state").fetchone()[0] == 0
            and conn.execute("SELECT count(*) FROM sessions_dirty").fetchone()[0] == 0
            and conn.execute("SELECT dirty FROM identity_state").fetchone()[0] == 0)


def customers_by_source(ws) -> dict:
    report = build_report(ws.conn, "ltv", by="source")
    return {row["key"]: row["customers"] for row in report.rows}


def test_merge_credits_the_order_to_both_touches_and_leaves_caches_fresh(ws):
    assert customers_by_source(ws) == {"google.com": 1, "facebook": 0}
    done = operations.merge(ws, "HOME@example.com", "work@example.com")
    assert done.changes == Changes(contacts=True, identity=True,
                                   emails=frozenset({"home@example.com", "work@example.com"}))
    assert done.as_dict()["changed_contacts"] >= 1
    assert caches_current(ws)
    # work@ was seen first (facebook), so the merged customer's first touch is facebook.
    assert customers_by_source(ws) == {"facebook": 1}

    undone = operations.unmerge(ws, "work@example.com")
    assert undone.changes.emails == frozenset({"home@example.com", "work@example.com"})
    assert caches_current(ws)
    assert customers_by_source(ws) == {"google.com": 1, "facebook": 0}


def test_unmerge_of_a_never_merged_email_changes_nothing(ws):
    with pytest.raises(InvalidInput, match="never merged"):
        operations.unmerge(ws, "home@example.com")


def test_erase_deletes_locally_refreshes_and_says_what_changed(ws):
    done = operations.erase(ws, "home@example.com")
    assert (done.result.events, done.result.orders) == (2, 1)
    assert done.changes == Changes(contacts=True, events=True, orders=True, identity=True,
                                   emails=frozenset({"home@example.com"}))
    assert caches_current(ws)
    assert ws.conn.execute("SELECT count(*) FROM report_orders").fetchone()[0] == 0
    assert ws.conn.execute("SELECT count(*) FROM sessions WHERE anonymous_id = 'p2'").fetchone()[0] == 0
