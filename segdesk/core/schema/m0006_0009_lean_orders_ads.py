"""Migrations 0006 to 0009 (see the package docstring)."""

from __future__ import annotations

from .registry import migrations


@migrations(name="0006_events_lean")
def m0006_events_lean(db):
    """A leaner events table that a big import can load without per-row index work.

    - url, referrer and title leave the row: they are read for one contact's
      journey at a time and stay in ``raw`` (``event_rows.page_fields``). Three
      fewer columns make every import cheaper and the file about a fifth smaller.
    - messageId uniqueness becomes a named index rather than a column constraint,
      so ``events.import_parsed`` can drop it and the other indexes for a bulk
      load, then rebuild them by sorting, which is several times cheaper than
      inserting a million random keys one by one.
    - The per-row trigger that flagged identity evidence goes: the import sets
      the flag once per batch that carries an identify, alias or userId.
    """
    db.executescript(
        """
        CREATE TABLE events_lean (
            id INTEGER PRIMARY KEY,
            message_id TEXT NOT NULL,
            type TEXT NOT NULL,
            anonymous_id TEXT,
            user_id TEXT,
            ts TEXT NOT NULL,
            name TEXT,
            ch_source TEXT,
            ch_medium TEXT,
            ch_campaign TEXT,
            ch_term TEXT,
            ch_content TEXT,
            email TEXT,
            contact_key TEXT,
            method TEXT,
            origin TEXT NOT NULL,
            raw BLOB NOT NULL
        );
        INSERT INTO events_lean
        SELECT id, message_id, type, anonymous_id, user_id, ts, name, ch_source, ch_medium, ch_campaign,
               ch_term, ch_content, email, contact_key, method, origin, raw
        FROM events ORDER BY id;
        DROP TABLE events;
        ALTER TABLE events_lean RENAME TO events;
        CREATE UNIQUE INDEX events_message_id ON events(message_id);
        CREATE INDEX events_device_ts ON events(anonymous_id, ts);
        CREATE INDEX events_user ON events(user_id) WHERE user_id IS NOT NULL;
        -- Covering: the stitch reads every identify from this index alone.
        CREATE INDEX events_identity ON events(type, anonymous_id, ts, message_id, email, contact_key, method, user_id)
            WHERE type IN ('identify', 'alias');
        CREATE TRIGGER events_deleted_sessions AFTER DELETE ON events
        WHEN OLD.anonymous_id IS NOT NULL AND OLD.type IN ('page', 'screen', 'identify')
        BEGIN
            INSERT OR IGNORE INTO sessions_dirty(anonymous_id) VALUES (OLD.anonymous_id);
        END;
        CREATE TRIGGER events_delete_identity AFTER DELETE ON events
        WHEN OLD.type IN ('identify', 'alias') OR OLD.user_id IS NOT NULL
        BEGIN UPDATE identity_state SET dirty = 1 WHERE dirty = 0; END;
        """
    )


@migrations(name="0007_suppressions")
def m0007_suppressions(db):
    """Erased people's identifiers, as keyed hashes only, so no import or sync brings them back.

    An entry is one erase; its identifiers are HMAC-SHA256 digests of the stitch's
    node names under the workspace's own random key (``core/identity/suppression.py``), never
    the addresses. Lifting an entry deletes it and its digests.
    """
    db.executescript(
        """
        CREATE TABLE suppression_entries (
            id INTEGER PRIMARY KEY,
            erased_at TEXT NOT NULL
        );
        CREATE TABLE suppressed_ids (
            digest TEXT PRIMARY KEY,
            entry_id INTEGER NOT NULL REFERENCES suppression_entries(id) ON DELETE CASCADE,
            kind TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX suppressed_ids_entry ON suppressed_ids(entry_id);
        """
    )


@migrations(name="0008_orders_once_tags_nocase")
def m0008_orders_once_tags_nocase(db):
    """An order counts once whatever route brought it; tags compare without case.

    - ``core.orders.GROUP_KEY`` (dedupe key, else the origin's order id) is what
      the counted-orders rule groups by: these indexes keep its lookups cheap.
      Copies of one order share the key one of them was matched to, and the
      counted-orders cache is rebuilt.
    - Tags stored in several spellings take the first one seen (``core.tags``).
    """
    from ..orders import share_order_keys
    from ..tags import unify_stored

    db.executescript(
        """
        CREATE INDEX orders_group ON orders(coalesce(dedupe_key, order_id));
        CREATE INDEX orders_order_id ON orders(order_id);
        """
    )
    share_order_keys(db.conn)
    unify_stored(db.conn)
    db.execute("UPDATE report_orders_state SET dirty = 1")


@migrations(name="0009_ad_platforms")
def m0009_ad_platforms(db):
    """Spend read from ad platforms (Meta, Google, Microsoft), and Google's click ids.

    ``ad_platform_spend`` keeps the platform's own grain (a day of one ad, or of
    one ad group where the platform reports no finer) under the platform's ids,
    so a restated day replaces its rows rather than adding to them, whatever a
    campaign is called now. ``spend_rows`` is what reports read: CSV spend and
    platform spend in one shape, a platform row's campaign being its id where
    touches carry the id as utm_campaign, else its name (lower-case, as touches
    store campaigns). ``click_ids`` maps a Google click id (gclid) to the
    campaign and ad group it came from; the sessions step consults it.
    """
    db.executescript(
        """
        CREATE TABLE ad_platform_spend (
            origin TEXT NOT NULL,
            date TEXT NOT NULL,
            campaign_id TEXT NOT NULL,
            ad_group_id TEXT NOT NULL DEFAULT '',
            ad_id TEXT NOT NULL DEFAULT '',
            campaign TEXT NOT NULL DEFAULT '',
            ad_group TEXT NOT NULL DEFAULT '',
            ad TEXT NOT NULL DEFAULT '',
            source TEXT NOT NULL,
            medium TEXT NOT NULL,
            currency TEXT NOT NULL,
            spend INTEGER NOT NULL,
            impressions INTEGER NOT NULL DEFAULT 0,
            clicks INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (origin, date, campaign_id, ad_group_id, ad_id)
        ) WITHOUT ROWID;

        CREATE VIEW spend_rows AS
            SELECT date, source, medium, campaign, currency, spend, origin, '' AS ad_group
            FROM ad_spend
            UNION ALL
            SELECT date, source, medium,
                   CASE WHEN campaign_id <> '' AND lower(campaign_id) IN
                             (SELECT campaign FROM sessions WHERE campaign IS NOT NULL)
                        THEN lower(campaign_id) ELSE lower(campaign) END,
                   currency, spend, origin, lower(ad_group)
            FROM ad_platform_spend;

        CREATE TABLE click_ids (
            click_id TEXT PRIMARY KEY,
            date TEXT NOT NULL,
            source TEXT NOT NULL,
            medium TEXT NOT NULL,
            campaign_id TEXT NOT NULL,
            campaign TEXT NOT NULL,
            ad_group_id TEXT NOT NULL DEFAULT '',
            ad_group TEXT NOT NULL DEFAULT '',
            origin TEXT NOT NULL
        ) WITHOUT ROWID;
        """
    )
