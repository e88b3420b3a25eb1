"""Migration 0019: report caches for issue 20 (tags per contact, revenue per contact, visitors' index)."""

from __future__ import annotations

from .registry import migrations


@migrations(name="0019_report_caches")
def m0019_report_caches(db):
    """``report_contact_tags``: the tags of each contact, resolved through identity_nodes.

    LTV by tag resolved 65,000 tags to contacts on every build (~90 ms at 50,000
    contacts). Any write that can change the answer (a tag added or removed, a
    tagged identifier moving to another contact) sets ``report_tags_state.dirty``;
    readers then resolve live until the next refresh rebuilds the table.
    """
    db.executescript(
        """
        CREATE TABLE report_contact_tags (
            contact_id INTEGER NOT NULL,
            tag TEXT NOT NULL,
            PRIMARY KEY (contact_id, tag)
        ) WITHOUT ROWID;
        CREATE TABLE report_tags_state (id INTEGER PRIMARY KEY CHECK (id = 1), dirty INTEGER NOT NULL);
        INSERT INTO report_tags_state(id, dirty) VALUES (1, 1);
        """
    )
    dirty = "BEGIN UPDATE report_tags_state SET dirty = 1 WHERE dirty = 0; END;"
    for op in ("INSERT", "DELETE", "UPDATE"):
        db.execute(f"CREATE TRIGGER tags_{op.lower()}_report_tags AFTER {op} ON tags {dirty}")
    # Only nodes that carry a tag matter: the stitch rewrites thousands of untagged ones.
    for op, row in (("INSERT", "NEW"), ("DELETE", "OLD"), ("UPDATE OF contact_id", "NEW")):
        name = op.split()[0].lower()
        db.execute(f"CREATE TRIGGER identity_nodes_{name}_report_tags AFTER {op} ON identity_nodes "
                   f"WHEN EXISTS (SELECT 1 FROM tags WHERE identifier = {row}.node) {dirty}")
    _contact_value(db)
    _device_facts(db)
    # The campaign table's visitors (devices per source, medium and campaign): in this order SQLite
    # groups while it scans, ~75 ms at 393,000 sessions against ~320 sorting them (bench/RESULTS.md).
    db.execute("CREATE INDEX sessions_channel_device ON sessions(source, medium, coalesce(campaign, ''), "
               "anonymous_id, start_ts)")


def _contact_value(db):
    """``report_contact_value``: each canonical contact's revenue per currency, as LTV groups it.

    Per contact and currency: net revenue, the first paid order (ms since 1970) and
    the revenue inside 30/60/90/180/365 days of the contact's anchor (``reports/
    contact_value.py``). LTV, ROAS and the campaign table then group a few
    thousand cached rows instead of joining, converting and grouping every order.
    ``report_value_state.dirty`` says the whole table is stale (counted orders
    changed, or touches were rebuilt); ``report_value_dirty`` lists contacts whose
    anchor may have moved (their first touch or first_seen changed).
    """
    db.executescript(
        """
        CREATE TABLE report_contact_value (
            contact_id INTEGER NOT NULL,
            currency TEXT NOT NULL,
            rev INTEGER NOT NULL,
            paid_ms INTEGER,
            w30 INTEGER, w60 INTEGER, w90 INTEGER, w180 INTEGER, w365 INTEGER,
            PRIMARY KEY (contact_id, currency)
        ) WITHOUT ROWID;
        CREATE TABLE report_value_state (id INTEGER PRIMARY KEY CHECK (id = 1), dirty INTEGER NOT NULL);
        INSERT INTO report_value_state(id, dirty) VALUES (1, 1);
        CREATE TABLE report_value_dirty (contact_id INTEGER PRIMARY KEY) WITHOUT ROWID;
        -- Counted orders went stale: every contact's figures may have.
        CREATE TRIGGER report_orders_state_report_value AFTER UPDATE OF dirty ON report_orders_state
        WHEN NEW.dirty = 1 BEGIN UPDATE report_value_state SET dirty = 1 WHERE dirty = 0; END;
        -- A contact whose touches are recomputed may get another first touch, hence another anchor.
        CREATE TRIGGER first_touch_dirty_report_value AFTER INSERT ON first_touch_dirty BEGIN
            INSERT OR IGNORE INTO report_value_dirty(contact_id) VALUES (NEW.contact_id);
        END;
        CREATE TRIGGER contacts_first_seen_report_value AFTER UPDATE OF first_seen ON contacts BEGIN
            INSERT OR IGNORE INTO report_value_dirty(contact_id) VALUES (NEW.id);
        END;
        CREATE TRIGGER contacts_insert_report_value AFTER INSERT ON contacts BEGIN
            INSERT OR IGNORE INTO report_value_dirty(contact_id) VALUES (NEW.id);
        END;
        """
    )


def _device_facts(db):
    """``report_device_facts``: each device's type and country (``reports/device_facts.py``), re-read for the
    devices with events past ``upto``; deleting a device's events makes the whole table stale."""
    db.executescript(
        """
        CREATE TABLE report_device_facts (anonymous_id TEXT PRIMARY KEY, kind TEXT, country TEXT) WITHOUT ROWID;
        CREATE TABLE report_devices_state (id INTEGER PRIMARY KEY CHECK (id = 1), dirty INTEGER NOT NULL,
                                           upto INTEGER NOT NULL);
        INSERT INTO report_devices_state(id, dirty, upto) VALUES (1, 1, 0);
        CREATE TRIGGER events_deleted_device_facts AFTER DELETE ON events WHEN OLD.anonymous_id IS NOT NULL
        BEGIN UPDATE report_devices_state SET dirty = 1 WHERE dirty = 0; END;
        """
    )
