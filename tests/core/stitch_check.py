"""The stitch's derived tables, and what a stitch from nothing makes of the same evidence."""

from __future__ import annotations

import sqlite3

from segdesk.core.identity.stitch import stitch
from segdesk.core.store import open_workspace


def derived(conn) -> dict:
    return {
        "nodes": conn.execute("SELECT node, contact_id, via_merge FROM identity_nodes ORDER BY node").fetchall(),
        "segments": conn.execute("SELECT * FROM device_segments ORDER BY anonymous_id, start_ts").fetchall(),
        "contacts": conn.execute("SELECT id, email, canonical_id, first_seen FROM contacts ORDER BY id").fetchall(),
        "devices": conn.execute("SELECT anonymous_id, contacts, shared FROM devices ORDER BY anonymous_id").fetchall(),
    }


def from_nothing(ws, folder) -> dict:
    """A copy of the workspace with its derived tables emptied, stitched in full."""
    folder.mkdir()
    copy = sqlite3.connect(folder / "segdesk.sqlite")
    ws.conn.backup(copy)
    copy.close()
    with open_workspace(folder) as other:
        with other.conn:
            other.conn.execute("DELETE FROM identity_nodes")
            other.conn.execute("DELETE FROM device_segments")
            other.conn.execute("UPDATE contacts SET canonical_id = NULL, first_seen = NULL")
        stitch(other, full=True)
        return derived(other.conn)
