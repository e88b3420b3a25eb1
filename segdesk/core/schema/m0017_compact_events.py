"""Migration 0017 (see the package docstring)."""

from __future__ import annotations

from .registry import migrations


@migrations(name="0017_compact_events")
def m0017_compact_events(db):
    """Events stored compact: ``raw`` packed with a dictionary trained on the workspace's events.

    ``event_dicts`` keeps every dictionary version a row may be packed with
    (``core/importing/packing.py``). The rows themselves are not rewritten here:
    ``core/compaction.py`` converts them in batches, each committed with its
    place in ``event_compaction`` (every row below ``next_id`` is compact), so an
    interrupted conversion resumes where it stopped and the workspace stays
    readable throughout, either form of ``raw`` being read alike.
    """
    db.executescript(
        """
        CREATE TABLE event_dicts (
            version INTEGER PRIMARY KEY,
            dict BLOB NOT NULL,
            trained_at TEXT NOT NULL
        );
        CREATE TABLE event_compaction (next_id INTEGER NOT NULL);
        INSERT INTO event_compaction (next_id) VALUES (1);
        """
    )
