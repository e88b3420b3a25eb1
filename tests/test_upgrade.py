"""Upgrades keep data: a workspace made by the previous release opens with this one.

The previous release's workspace is the schema up to, not including, the newest
migration, holding data written the way any release writes it: plain rows in
the tables that schema has. Opening it must copy the database aside first,
migrate, and keep every row.
"""

from __future__ import annotations

import json
import sqlite3

import pytest
import sqlite_utils

from segdesk.core.read import contacts
from segdesk.core import paths
from segdesk.core.identity import stitch
from segdesk.core.read.journey import journey
from segdesk.core.schema import MIGRATION_SET, migrations
from segdesk.core.store import open_workspace


def _names() -> list[str]:
    return [m.name for m in migrations.pending(sqlite_utils.Database(memory=True))]


# The release before the events rebuild (0006): the oldest upgrade path still supported, and the
# one whose rows these tests write (events with a url column). Later migrations apply on top.
FIRST_PENDING = "0006_events_lean"
assert FIRST_PENDING in _names()

EVENTS = [
    # an anonymous visit from an ad, then the same browser identifies on a form
    ("m-1", "page", "anon-1", None, "2024-03-01T10:00:00.000Z", "https://shop.example/?utm_source=google&utm_medium=cpc",
     None, None),
    ("m-2", "identify", "anon-1", None, "2024-03-01T10:05:00.000Z", None, "ann@example.com", "form"),
]


def _previous_release_workspace(folder) -> None:
    """A workspace as the release before the events rebuild left it: the migrations before 0006, with data."""
    folder.mkdir(parents=True)
    conn = sqlite3.connect(paths.database_path(folder))
    db = sqlite_utils.Database(conn)
    migrations.apply(db, stop_before=FIRST_PENDING)
    with conn:
        for message_id, kind, anon, user, ts, url, email, method in EVENTS:
            raw = {"messageId": message_id, "type": kind, "anonymousId": anon, "timestamp": ts}
            if url:
                raw["context"] = {"page": {"url": url}}
            if email:
                raw["traits"] = {"email": email}
            conn.execute(
                "INSERT INTO events(message_id, type, anonymous_id, user_id, ts, url, email, method, origin, raw) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'import', ?)",
                (message_id, kind, anon, user, ts, url, email, method, json.dumps(raw).encode()))
        conn.execute("INSERT INTO contacts(id, email, first_name, created_at) "
                     "VALUES (1, 'ann@example.com', 'Ann', '2024-03-01T10:05:00.000Z')")
        conn.execute("INSERT INTO orders(origin, order_id, email, amount, currency, created_at) "
                     "VALUES ('stripe', 'ch_1', 'ann@example.com', 4900, 'usd', '2024-03-02T09:00:00.000Z')")
        conn.execute("INSERT INTO settings(key, value) VALUES ('timezone', 'Europe/Berlin')")
    conn.close()


def _applied(db_file) -> set[str]:
    conn = sqlite3.connect(db_file)
    try:
        return {row[0] for row in conn.execute(
            "SELECT name FROM _sqlite_migrations WHERE migration_set = ?", (MIGRATION_SET,))}
    finally:
        conn.close()


def _counts(conn) -> dict[str, int]:
    return {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("events", "contacts", "orders")}


@pytest.fixture
def old_workspace(tmp_path):
    folder = tmp_path / "old-workspace"
    _previous_release_workspace(folder)
    assert FIRST_PENDING not in _applied(paths.database_path(folder))
    return folder


def test_there_is_a_previous_schema():
    assert len(_names()) >= 2, "with one migration there is no previous release to upgrade from"


def test_opening_an_old_workspace_backs_it_up_then_migrates(old_workspace):
    with open_workspace(old_workspace) as ws:
        assert not migrations.pending(ws.db)
        assert ws.backup is not None
        # The data survived the migration.
        assert _counts(ws.conn) == {"events": 2, "contacts": 1, "orders": 1}
        assert ws.setting("timezone") == "Europe/Berlin"
        assert ws.conn.execute("SELECT amount, currency FROM orders").fetchone() == (4900, "usd")

    # The backup sits in <workspace>/backups and is the old database, data and all.
    backups = sorted(paths.backups_dir(old_workspace).glob("*.sqlite"))
    assert backups == [ws.backup]
    assert FIRST_PENDING not in _applied(ws.backup)
    conn = sqlite3.connect(ws.backup)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert _counts(conn) == {"events": 2, "contacts": 1, "orders": 1}
        assert conn.execute("SELECT email FROM contacts").fetchone() == ("ann@example.com",)
    finally:
        conn.close()


def test_the_new_code_works_on_the_upgraded_data(old_workspace):
    with open_workspace(old_workspace) as ws:
        stitch.stitch(ws)
        rows = contacts.list_contacts(ws.conn, "ann")
    assert [row["email"] for row in rows] == ["ann@example.com"]


def test_a_second_open_neither_migrates_nor_backs_up_again(old_workspace):
    open_workspace(old_workspace).close()
    with open_workspace(old_workspace) as ws:
        assert ws.backup is None
    assert len(list(paths.backups_dir(old_workspace).glob("*.sqlite"))) == 1


def test_a_new_workspace_needs_no_backup(tmp_path):
    with open_workspace(tmp_path / "fresh") as ws:
        assert ws.backup is None
    assert not paths.backups_dir(tmp_path / "fresh").exists()


def test_the_journey_still_shows_page_addresses_after_the_events_rebuild(old_workspace):
    """0006 moved url out of the events row; the journey reads it from the raw event."""
    with open_workspace(old_workspace) as ws:
        stitch.stitch(ws)
        pages = [e for e in journey(ws.conn, "ann@example.com")["events"] if e["kind"] == "page"]
    assert [p.get("url") for p in pages] == [EVENTS[0][5]]


def test_an_upgrade_that_rebuilds_a_table_does_not_leave_the_file_twice_as_big(old_workspace):
    db_file = paths.database_path(old_workspace)
    conn = sqlite3.connect(db_file)
    with conn:
        conn.executemany(
            "INSERT INTO events(message_id, type, anonymous_id, ts, url, origin, raw) "
            "VALUES (?, 'page', 'anon-2', '2024-03-03T10:00:00.000Z', 'https://shop.example/', 'import', ?)",
            ((f"bulk-{i}", json.dumps({"pad": "x" * 300}).encode()) for i in range(3000)))
    conn.close()
    with open_workspace(old_workspace) as ws:
        free, pages = (ws.conn.execute(f"PRAGMA {p}").fetchone()[0] for p in ("freelist_count", "page_count"))
        assert free * 4 <= pages
        assert _counts(ws.conn)["events"] == 3002


def test_the_command_line_says_it_is_upgrading_before_a_long_migration(old_workspace, capsys):
    from segdesk.cli import main

    assert main(["--workspace", str(old_workspace), "contacts", "--json"]) == 0
    assert "upgrading the workspace" in capsys.readouterr().err
    assert main(["--workspace", str(old_workspace), "contacts", "--json"]) == 0
    assert "upgrading" not in capsys.readouterr().err
