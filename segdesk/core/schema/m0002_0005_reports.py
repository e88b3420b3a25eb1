"""Migrations 0002 to 0005 (see the package docstring)."""

from __future__ import annotations

from .registry import migrations


@migrations(name="0002_reports_sessions")
def m0002_reports_sessions(db):
    db.executescript(
        """
        -- Derived by reports.sessions from page/screen events, per device.
        -- Rebuilt only from the first session a new event can change; the
        -- contact is found at query time through device_segments (by
        -- start_ts), so identity changes never rewrite sessions.
        CREATE TABLE sessions (
            id INTEGER PRIMARY KEY,
            anonymous_id TEXT NOT NULL,
            start_ts TEXT NOT NULL,
            last_ts TEXT NOT NULL,
            first_event_id INTEGER NOT NULL,
            pages INTEGER NOT NULL,
            source TEXT NOT NULL,
            medium TEXT NOT NULL,
            campaign TEXT,
            term TEXT,
            content TEXT
        );
        -- Covering: attribution reads touchpoints from the index alone.
        CREATE INDEX sessions_device_start
            ON sessions(anonymous_id, start_ts, first_event_id, source, medium, campaign);

        -- Devices whose events were deleted (erase): their sessions are rebuilt whole.
        CREATE TABLE sessions_dirty (anonymous_id TEXT PRIMARY KEY) WITHOUT ROWID;
        CREATE TRIGGER events_deleted_sessions AFTER DELETE ON events
        WHEN OLD.anonymous_id IS NOT NULL AND OLD.type IN ('page', 'screen', 'identify')
        BEGIN
            INSERT OR IGNORE INTO sessions_dirty(anonymous_id) VALUES (OLD.anonymous_id);
        END;

        -- Each canonical contact's earliest session (its first touch), a cache.
        -- Any change to device_segments marks the contacts involved dirty, so a
        -- stitch run from anywhere keeps the cache honest; readers compute dirty
        -- contacts live until reports.sessions refreshes them.
        CREATE TABLE contact_first_touch (
            contact_id INTEGER PRIMARY KEY,
            session_id INTEGER NOT NULL,
            start_ts TEXT NOT NULL,
            source TEXT NOT NULL,
            medium TEXT NOT NULL,
            campaign TEXT
        );
        CREATE TABLE first_touch_dirty (contact_id INTEGER PRIMARY KEY) WITHOUT ROWID;
        CREATE TRIGGER segments_insert_first_touch AFTER INSERT ON device_segments BEGIN
            INSERT OR IGNORE INTO first_touch_dirty(contact_id) VALUES (NEW.contact_id);
        END;
        CREATE TRIGGER segments_delete_first_touch AFTER DELETE ON device_segments BEGIN
            INSERT OR IGNORE INTO first_touch_dirty(contact_id) VALUES (OLD.contact_id);
        END;
        CREATE TRIGGER segments_update_first_touch AFTER UPDATE ON device_segments BEGIN
            INSERT OR IGNORE INTO first_touch_dirty(contact_id) VALUES (OLD.contact_id);
            INSERT OR IGNORE INTO first_touch_dirty(contact_id) VALUES (NEW.contact_id);
        END;
        """
    )


@migrations(name="0003_reports_touches_orders")
def m0003_reports_touches_orders(db):
    db.executescript(
        """
        -- Every identified session as a touchpoint of its canonical contact,
        -- clustered by contact so an order's touches are one range read. It
        -- replaces the first-touch-only cache of 0002; first_touch_dirty (kept,
        -- with its triggers) lists the contacts whose rows must be recomputed.
        DROP TABLE contact_first_touch;
        CREATE TABLE contact_touches (
            contact_id INTEGER NOT NULL,
            start_ts TEXT NOT NULL,
            first_event_id INTEGER NOT NULL,
            session_id INTEGER NOT NULL,
            source TEXT NOT NULL,
            medium TEXT NOT NULL,
            campaign TEXT,
            PRIMARY KEY (contact_id, start_ts, first_event_id)
        ) WITHOUT ROWID;
        -- Sessions built under 0002 reach the new table on the next refresh.
        INSERT OR IGNORE INTO first_touch_dirty(contact_id) SELECT DISTINCT contact_id FROM device_segments;

        -- Counted orders (core.orders rule) with their canonical contact and net
        -- revenue. Any write to what decides them sets report_orders_state.dirty;
        -- readers then compute live until the next refresh rebuilds the table.
        CREATE TABLE report_orders (
            id INTEGER PRIMARY KEY,
            contact_id INTEGER,
            currency TEXT NOT NULL,
            amount INTEGER NOT NULL,
            refunded INTEGER NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE INDEX report_orders_contact ON report_orders(contact_id, created_at);
        CREATE TABLE report_orders_state (id INTEGER PRIMARY KEY CHECK (id = 1), dirty INTEGER NOT NULL);
        INSERT INTO report_orders_state(id, dirty) VALUES (1, 1);
        """
    )
    dirty = "BEGIN UPDATE report_orders_state SET dirty = 1 WHERE dirty = 0; END;"
    for table, when in (("orders", ""), ("refunds", ""), ("identity_nodes", "WHEN {row}.node LIKE 'cus:%'"),
                        ("settings", "WHEN {row}.key = 'orders.source_of_truth'")):
        for op, row in (("INSERT", "NEW"), ("DELETE", "OLD"), ("UPDATE", "NEW")):
            db.execute(f"CREATE TRIGGER {table}_{op.lower()}_report_orders AFTER {op} ON {table} "
                       f"{when.format(row=row)} {dirty}")
    for op in ("INSERT", "DELETE", "UPDATE OF email, canonical_id"):
        name = op.split()[0].lower()
        db.execute(f"CREATE TRIGGER contacts_{name}_report_orders AFTER {op} ON contacts {dirty}")


@migrations(name="0004_identity_dirty")
def m0004_identity_dirty(db):
    """A flag that says the identity evidence changed since the last stitch.

    Most syncs bring only page views: then there is nothing to re-stitch but
    first-seen times, and the stitch skips the rest. Every write that can change
    who is who sets the flag; the stitch clears it.
    """
    db.executescript(
        """
        CREATE TABLE identity_state (id INTEGER PRIMARY KEY CHECK (id = 1), dirty INTEGER NOT NULL);
        INSERT INTO identity_state(id, dirty) VALUES (1, 1);
        CREATE TRIGGER events_insert_identity AFTER INSERT ON events
        WHEN NEW.type IN ('identify', 'alias') OR NEW.user_id IS NOT NULL
        BEGIN UPDATE identity_state SET dirty = 1 WHERE dirty = 0; END;
        CREATE TRIGGER events_delete_identity AFTER DELETE ON events
        WHEN OLD.type IN ('identify', 'alias') OR OLD.user_id IS NOT NULL
        BEGIN UPDATE identity_state SET dirty = 1 WHERE dirty = 0; END;
        """
    )
    dirty = "BEGIN UPDATE identity_state SET dirty = 1 WHERE dirty = 0; END;"
    watched = {
        "contact_keys": "UPDATE", "contacts": "UPDATE OF email, created_at", "orders": "UPDATE OF email, created_at",
        "manual_merges": "UPDATE", "tags": "UPDATE", "subscriptions": "UPDATE OF email",
    }
    for table, update in watched.items():
        for op in ("INSERT", "DELETE", update):
            name = f"{table}_{op.split()[0].lower()}_identity"
            db.execute(f"CREATE TRIGGER {name} AFTER {op} ON {table} {dirty}")


@migrations(name="0005_reports_first_touch")
def m0005_reports_first_touch(db):
    """Each contact's first touch, so LTV, ROAS and the summary need not group every touch per report.

    reports.touches rewrites a contact's row whenever it rewrites the contact's
    contact_touches rows; readers take the live first touch for contacts listed
    in first_touch_dirty, as they do for contact_touches.
    """
    db.executescript(
        """
        CREATE TABLE report_first_touch (
            contact_id INTEGER PRIMARY KEY,
            start_ts TEXT NOT NULL,
            first_event_id INTEGER NOT NULL,
            session_id INTEGER NOT NULL,
            source TEXT NOT NULL,
            medium TEXT NOT NULL,
            campaign TEXT
        );
        -- The earliest row per contact (key order breaks start_ts ties by first_event_id).
        INSERT INTO report_first_touch (contact_id, start_ts, first_event_id, session_id, source, medium, campaign)
        SELECT contact_id, min(start_ts), first_event_id, session_id, source, medium, campaign
        FROM contact_touches GROUP BY contact_id;
        """
    )
