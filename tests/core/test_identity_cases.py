"""Identity corner cases: late CRM ids, merges and their undo, erase, shared devices."""

from __future__ import annotations

import pytest

from segdesk.core.identity import people
from segdesk.core.importing.csv_import import import_contacts, import_orders
from segdesk.core.importing.events import import_events
from segdesk.core.read.journey import journey
from segdesk.core.identity.stitch import stitch
from segdesk.core.store import open_workspace
from segdesk.errors import InvalidInput, NotFound

from .wire import at, identify, page


@pytest.fixture
def ws(tmp_path):
    with open_workspace(tmp_path / "ws") as w:
        yield w


def _pages(ws, email):
    return [(e["anonymous_id"], e["time"]) for e in journey(ws.conn, email)["events"] if e["kind"] == "page"]


def test_contact_id_link_waits_for_the_crm_record(ws):
    import_events(ws, [page("tab", at(0)), identify("tab", at(0, 1), contact_id="123", method="link"),
                       page("tab", at(0, 2))], origin="t")
    result = stitch(ws)
    assert result.contacts == 0 and result.waiting == 1
    # The CRM sync brings contact 123 later, under the connector's prefix.
    import_contacts(ws, "email,contact_id\nLee@Example.com,ac:123\n")
    result = stitch(ws)
    assert result.contacts == 1 and result.waiting == 0
    j = journey(ws.conn, "lee@example.com")
    assert [p[1] for p in _pages(ws, "lee@example.com")] == [at(0), at(0, 2)]
    assert j["contact"]["contact_ids"] == ["123", "ac:123"]
    assert j["devices"][0]["linked_by"] == "link"


def test_a_shared_contact_id_joins_two_emails(ws):
    import_events(ws, [identify("a", at(0), email="one@example.com", contact_id="ac:9"),
                       identify("b", at(1), email="two@example.com"), page("b", at(1, 1))], origin="t")
    import_contacts(ws, "email,contact_id\ntwo@example.com,ac:9\n")
    stitch(ws)
    j = journey(ws.conn, "two@example.com")
    assert j["contact"]["email"] == "one@example.com"  # the earlier-seen email leads
    assert j["contact"]["emails"] == ["one@example.com", "two@example.com"]
    assert {d["anonymous_id"] for d in j["devices"]} == {"a", "b"}
    with pytest.raises(InvalidInput, match="shared contact or customer id"):
        people.unmerge(ws, "two@example.com")


def test_merge_and_unmerge_round_trip(ws):
    import_events(ws, [page("p1", at(0)), identify("p1", at(0, 1), email="work@example.com"),
                       page("p2", at(1)), identify("p2", at(1, 1), email="home@example.com")], origin="t")
    import_orders(ws, "order_id,email,amount,currency,created_at\no1,home@example.com,10.00,usd,2026-03-03\n")
    stitch(ws)
    before = {e: journey(ws.conn, e) for e in ("work@example.com", "home@example.com")}

    people.merge(ws, "home@example.com", "WORK@example.com")
    merged = journey(ws.conn, "home@example.com")
    assert merged == journey(ws.conn, "work@example.com")
    assert merged["contact"]["revenue"] == {"usd": 1000}
    assert {d["anonymous_id"]: d["linked_by"] for d in merged["devices"]} == {"p1": "form", "p2": "merge"}

    people.unmerge(ws, "home@example.com")
    assert {e: journey(ws.conn, e) for e in before} == before
    with pytest.raises(InvalidInput, match="never merged"):
        people.unmerge(ws, "home@example.com")


def test_device_returning_to_the_first_person_after_a_split(ws):
    import_events(ws, [
        page("pc", at(0)), identify("pc", at(0, 1), email="a@example.com"),
        identify("pc", at(1), email="b@example.com"), page("pc", at(1, 1)),
        identify("pc", at(2), email="a@example.com"), page("pc", at(2, 1)),
    ], origin="t")
    stitch(ws)
    assert [t for _, t in _pages(ws, "a@example.com")] == [at(0), at(2, 1)]
    assert [t for _, t in _pages(ws, "b@example.com")] == [at(1, 1)]


def test_erase_removes_a_person_and_keeps_the_others_on_a_shared_device(ws):
    import_events(ws, [
        page("pc", at(0)), identify("pc", at(0, 1), email="a@example.com"), page("pc", at(0, 2)),
        identify("pc", at(1), email="b@example.com"), page("pc", at(1, 1)),
    ], origin="t")
    import_orders(ws, "order_id,email,amount,currency,created_at,refunded_amount\n"
                      "o1,a@example.com,10.00,usd,2026-03-03,5.00\n")
    stitch(ws)
    result = people.erase(ws, "a@example.com")
    assert result.orders == 1 and result.events == 3
    with pytest.raises(NotFound, match="no contact with email a@example.com"):
        journey(ws.conn, "a@example.com")
    assert ws.conn.execute("SELECT count(*) FROM events WHERE event_json(raw, message_id, anonymous_id, ts) LIKE '%a@example.com%'").fetchone()[0] == 0
    assert ws.conn.execute("SELECT count(*) FROM refunds").fetchone()[0] == 0
    assert [t for _, t in _pages(ws, "b@example.com")] == [at(1, 1)]


def test_a_sync_of_page_views_only_skips_the_stitch_but_moves_first_seen(ws):
    import_events(ws, [page("d", at(1)), identify("d", at(1, 1), email="late@example.com")], origin="t")
    stitch(ws)
    assert ws.conn.execute("SELECT dirty FROM identity_state").fetchone()[0] == 0
    # An older page view of the same device arrives later (a relay that was behind).
    import_events(ws, [page("d", at(0))], origin="t")
    assert ws.conn.execute("SELECT dirty FROM identity_state").fetchone()[0] == 0
    result = stitch(ws)
    assert result.contacts == 1 and result.changed_contacts
    assert journey(ws.conn, "late@example.com")["contact"]["first_seen"] == at(0)
    # An identify does flag it.
    import_events(ws, [identify("e", at(2), email="late@example.com")], origin="t")
    assert ws.conn.execute("SELECT dirty FROM identity_state").fetchone()[0] == 1
    stitch(ws)
    assert {d["anonymous_id"] for d in journey(ws.conn, "late@example.com")["devices"]} == {"d", "e"}
