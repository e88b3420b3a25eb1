"""Erasure lasts: an erased person stays out of every re-import until their entry is lifted."""

from __future__ import annotations

import json

import orjson
import pytest

from segdesk.cli import main
from segdesk.core.identity import people, suppression
from segdesk.core.importing.csv_import import import_contacts, import_orders
from segdesk.core.importing.events import import_events
from segdesk.core.refresh import refresh_after_import
from segdesk.core.store import open_workspace
from segdesk.errors import NotFound

from .wire import at, identify, page

CONTACTS = "email,contact_id,first_name,tags\nann@example.com,ac:7,Ann,vip\nbob@example.com,ac:8,Bob,\n"
ORDERS = ("order_id,email,amount,currency,created_at\n"
          "o1,ann@example.com,100.00,usd,2026-03-02T09:00:00Z\no2,bob@example.com,30.00,usd,2026-03-02T09:00:00Z\n")


def _events():
    return [page("ann-phone", at(0)), identify("ann-phone", at(0, minutes=1), email="Ann@Example.com"),
            page("bob-pc", at(0)), identify("bob-pc", at(0, minutes=1), email="bob@example.com")]


def _everything(ws):
    import_contacts(ws, CONTACTS)
    import_orders(ws, ORDERS)
    import_events(ws, _events(), origin="relay:site")
    refresh_after_import(ws)


def _emails(ws):
    return [e for (e,) in ws.conn.execute("SELECT email FROM contacts ORDER BY email")]


@pytest.fixture
def ws(tmp_path):
    with open_workspace(tmp_path / "ws") as w:
        yield w


def test_erased_person_stays_gone_through_every_reimport_until_lifted(ws):
    _everything(ws)
    people.erase(ws, "ann@example.com")
    assert _emails(ws) == ["bob@example.com"]
    # The same CSVs and relay events again, and a new identify on a new device: all of Ann stays out.
    _everything(ws)
    import_events(ws, [identify("ann-laptop", at(3), email="ann@example.com"), page("ann-laptop", at(3))],
                  origin="relay:site")
    refresh_after_import(ws)
    assert _emails(ws) == ["bob@example.com"]
    assert ws.conn.execute("SELECT count(*) FROM orders WHERE email = 'ann@example.com'").fetchone()[0] == 0
    assert ws.conn.execute("SELECT count(*) FROM contact_keys WHERE key = 'ac:7'").fetchone()[0] == 0
    assert ws.conn.execute("SELECT count(*) FROM tags WHERE tag = 'vip'").fetchone()[0] == 0
    assert ws.conn.execute("SELECT count(*) FROM events WHERE anonymous_id LIKE 'ann%' AND type = 'identify'"
                           ).fetchone()[0] == 0
    # Bob was never touched.
    assert ws.conn.execute("SELECT amount FROM orders WHERE email = 'bob@example.com'").fetchall() == [(3000,)]

    assert suppression.lift(ws.conn, " ANN@example.com ")["identifiers"] == 2  # her email and CRM id
    _everything(ws)
    assert _emails(ws) == ["ann@example.com", "bob@example.com"]
    assert ws.conn.execute("SELECT amount FROM orders WHERE email = 'ann@example.com'").fetchall() == [(10000,)]


def test_an_erased_id_s_events_go_with_their_device_counts(ws):
    """Identifies naming only Ann's erased CRM id reach no contact: they are deleted, and their
    devices counted again (one with no event left goes)."""
    _everything(ws)
    people.erase(ws, "ann@example.com")
    import_events(ws, [identify("ann-tablet", at(3), contact_id="ac:7"),
                       page("ann-watch", at(4)), identify("ann-watch", at(4, minutes=1), contact_id="ac:7")],
                  origin="relay:site")
    refresh_after_import(ws)
    assert ws.conn.execute("SELECT count(*) FROM events WHERE contact_key = 'ac:7'").fetchone()[0] == 0
    devices = "SELECT anonymous_id, first_seen, last_seen, events FROM devices WHERE anonymous_id LIKE 'ann-%'"
    assert ws.conn.execute(devices).fetchall() == [("ann-watch", at(4), at(4), 1)]


def test_the_list_holds_keyed_hashes_not_addresses(ws, tmp_path):
    _everything(ws)
    people.erase(ws, "ann@example.com")
    assert suppression.is_suppressed(ws.conn, "ann@example.com")
    assert suppression.is_suppressed(ws.conn, "cid:ac:7")
    assert not suppression.is_suppressed(ws.conn, "bob@example.com")
    digests = [d for (d,) in ws.conn.execute("SELECT digest FROM suppressed_ids")]
    assert len(digests) == 2 and all(len(d) == 64 for d in digests)
    key = bytes.fromhex(ws.conn.execute("SELECT value FROM settings WHERE key = 'suppression.key'").fetchone()[0])
    assert len(key) == 32
    # Without the workspace's key a digest cannot be checked against a guessed address.
    import hashlib
    assert hashlib.sha256(b"email:ann@example.com").hexdigest() not in digests
    ws.conn.execute("VACUUM")
    ws.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    files = b"".join(p.read_bytes() for p in (tmp_path / "ws").rglob("*") if p.is_file())
    assert b"ann@example.com" not in files and b"bob@example.com" in files


def test_lift_of_someone_not_listed_is_one_line(ws):
    with pytest.raises(NotFound, match="carl@example.com is not on the suppression list"):
        suppression.lift(ws.conn, "carl@example.com")


def test_cli_lists_and_lifts(tmp_path, capsys):
    def run(*argv):
        assert main([*argv, "--json"]) == 0, capsys.readouterr().err
        return json.loads(capsys.readouterr().out)

    f = tmp_path / "c.csv"
    f.write_text(CONTACTS)
    run("import", "contacts", str(f))
    run("erase", "ann@example.com")
    listed = run("suppressions", "list")["suppressions"]
    assert [(e["id"], e["identifiers"], e["kinds"]) for e in listed] == [(1, 2, ["CRM contact id", "email"])]
    assert "ann" not in orjson.dumps(listed).decode()
    run("import", "contacts", str(f))
    assert [c["email"] for c in run("contacts")["contacts"]] == ["bob@example.com"]
    assert run("suppressions", "lift", "ann@example.com")["lifted"]["id"] == 1
    assert run("suppressions", "list") == {"suppressions": []}
    run("import", "contacts", str(f))
    assert sorted(c["email"] for c in run("contacts")["contacts"]) == ["ann@example.com", "bob@example.com"]
    assert main(["suppressions", "lift", "ann@example.com"]) == 1
    assert capsys.readouterr().err.strip() == "segdesk: ann@example.com is not on the suppression list"
