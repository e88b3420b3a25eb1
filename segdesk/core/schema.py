"""The workspace schema as numbered migrations.

Each migration runs in a transaction together with its record in
``_sqlite_migrations`` (sqlite-utils ``Migrations``); ``store.open_workspace``
copies the database file aside before it applies any pending one, so a user's
data survives every upgrade.

Layout in one sentence: ``events`` are immutable facts from the wire;
``contacts``, ``contact_keys``, ``manual_merges``, ``orders``, ``refunds``,
``subscriptions``, ``tags`` and ``ad_spend`` are facts from CRMs, payment
processors and people; ``identity_nodes``, ``device_segments`` and ``devices``
are derived by the identity stitch and can always be rebuilt from the facts.
"""

from __future__ import annotations

from sqlite_utils import Migrations

MIGRATION_SET = "segdesk"
migrations = Migrations(MIGRATION_SET)


@migrations(name="0001_initial")
def m0001_initial(db):
    db.executescript(
        """
        -- Wire-format events, never updated. ts is the corrected event time as
        -- fixed-width ISO UTC text, so text order is time order. raw is the event
        -- as received (the truth); the columns are what queries need, extracted
        -- once (user agent, IP, path, receivedAt stay in raw: json_extract).
        CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            message_id TEXT NOT NULL UNIQUE,
            type TEXT NOT NULL,
            anonymous_id TEXT,
            user_id TEXT,
            ts TEXT NOT NULL,
            name TEXT,
            url TEXT,
            referrer TEXT,
            title TEXT,
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
        CREATE INDEX events_device_ts ON events(anonymous_id, ts);
        CREATE INDEX events_user ON events(user_id) WHERE user_id IS NOT NULL;
        -- Covering: the stitch reads every identify from this index alone.
        CREATE INDEX events_identity ON events(type, anonymous_id, ts, message_id, email, contact_key, method, user_id)
            WHERE type IN ('identify', 'alias');

        -- A person, keyed by normalised email. canonical_id is set by the
        -- stitch: the contact this one currently counts as (itself unless
        -- joined to another by a shared id or a manual merge).
        CREATE TABLE contacts (
            id INTEGER PRIMARY KEY,
            email TEXT NOT NULL UNIQUE,
            first_name TEXT,
            last_name TEXT,
            created_at TEXT,
            first_seen TEXT,
            canonical_id INTEGER
        );
        CREATE INDEX contacts_canonical ON contacts(canonical_id);

        -- An outside id (CRM contact id, payment customer id, app user id)
        -- that a source says belongs to an email. email NULL: known id whose
        -- record has not arrived yet.
        CREATE TABLE contact_keys (
            key TEXT NOT NULL,
            kind TEXT NOT NULL,
            email TEXT,
            origin TEXT NOT NULL,
            updated_at TEXT,
            PRIMARY KEY (key, origin)
        );
        CREATE INDEX contact_keys_email ON contact_keys(email);

        -- A person's correction: these two emails are one person. Deleting
        -- the row (unmerge) undoes it; the stitch derives everything else.
        CREATE TABLE manual_merges (
            email_a TEXT NOT NULL,
            email_b TEXT NOT NULL,
            merged_at TEXT NOT NULL,
            PRIMARY KEY (email_a, email_b)
        );

        -- Money is an integer in the currency's minor unit.
        CREATE TABLE orders (
            id INTEGER PRIMARY KEY,
            origin TEXT NOT NULL,
            order_id TEXT NOT NULL,
            email TEXT,
            customer_key TEXT,
            amount INTEGER NOT NULL,
            currency TEXT NOT NULL,
            created_at TEXT NOT NULL,
            product TEXT,
            status TEXT,
            dedupe_key TEXT,
            UNIQUE (origin, order_id)
        );
        CREATE INDEX orders_email ON orders(email);
        CREATE INDEX orders_customer ON orders(customer_key);
        CREATE INDEX orders_dedupe ON orders(dedupe_key);

        CREATE TABLE refunds (
            id INTEGER PRIMARY KEY,
            origin TEXT NOT NULL,
            refund_id TEXT NOT NULL,
            order_id TEXT NOT NULL,
            amount INTEGER NOT NULL,
            currency TEXT NOT NULL,
            created_at TEXT NOT NULL,
            UNIQUE (origin, refund_id)
        );
        CREATE INDEX refunds_order ON refunds(origin, order_id);

        CREATE TABLE subscriptions (
            id INTEGER PRIMARY KEY,
            origin TEXT NOT NULL,
            subscription_id TEXT NOT NULL,
            email TEXT,
            customer_key TEXT,
            status TEXT,
            plan TEXT,
            amount INTEGER,
            currency TEXT,
            interval TEXT,
            started_at TEXT,
            canceled_at TEXT,
            UNIQUE (origin, subscription_id)
        );

        -- A tag on an identifier (email or outside key), as its source says.
        CREATE TABLE tags (
            identifier TEXT NOT NULL,
            tag TEXT NOT NULL,
            origin TEXT NOT NULL,
            added_at TEXT,
            PRIMARY KEY (identifier, tag, origin)
        );

        CREATE TABLE ad_spend (
            date TEXT NOT NULL,
            source TEXT NOT NULL,
            medium TEXT NOT NULL DEFAULT '',
            campaign TEXT NOT NULL DEFAULT '',
            currency TEXT NOT NULL,
            spend INTEGER NOT NULL,
            origin TEXT NOT NULL,
            PRIMARY KEY (date, source, medium, campaign, currency, origin)
        );

        -- Derived by the stitch ----------------------------------------
        -- Every identifier ('email:x', 'cid:ac:1', 'user:u', 'cus:stripe:cus_1')
        -- and the canonical contact it resolves to (NULL: waiting).
        CREATE TABLE identity_nodes (
            node TEXT PRIMARY KEY,
            contact_id INTEGER,
            via_merge INTEGER NOT NULL DEFAULT 0
        ) WITHOUT ROWID;
        CREATE INDEX identity_nodes_contact ON identity_nodes(contact_id);

        -- A device's life split into spans, each credited to one contact.
        -- The first span starts at '' (all earlier anonymous history).
        CREATE TABLE device_segments (
            anonymous_id TEXT NOT NULL,
            start_ts TEXT NOT NULL,
            end_ts TEXT,
            contact_id INTEGER NOT NULL,
            linked_by TEXT NOT NULL,
            linked_at TEXT NOT NULL,
            evidence_event_id INTEGER,
            PRIMARY KEY (anonymous_id, start_ts)
        ) WITHOUT ROWID;
        CREATE INDEX device_segments_contact ON device_segments(contact_id);

        CREATE TABLE devices (
            anonymous_id TEXT PRIMARY KEY,
            first_seen TEXT NOT NULL,
            last_seen TEXT NOT NULL,
            events INTEGER NOT NULL DEFAULT 0,
            contacts INTEGER NOT NULL DEFAULT 0,
            shared INTEGER NOT NULL DEFAULT 0
        ) WITHOUT ROWID;

        -- Sources and their cursors (the sync engine's state).
        CREATE TABLE sources (
            name TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            config TEXT NOT NULL DEFAULT '{}',
            secret_ref TEXT,
            created_at TEXT NOT NULL
        );
        CREATE TABLE sync_state (
            source TEXT PRIMARY KEY,
            cursor TEXT,
            last_success TEXT,
            last_error TEXT,
            updated_at TEXT
        );
        CREATE TABLE settings (
            key TEXT PRIMARY KEY,
            value TEXT
        );
        """
    )


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
    from .orders import share_order_keys
    from .tags import unify_stored

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

@migrations(name="0011_email_clicks")
def m0011_email_clicks(db):
    """Clicks read from email platforms' reports, and triggers keeping their touches fresh."""
    from .email_clicks import create_tables

    create_tables(db)

@migrations(name="0012_fx_rates")
def m0012_fx_rates(db):
    """Daily reference rates for the reporting currency (``core/fx.py``).

    A rate is units of ``currency`` per one euro on ``day`` (the ECB's
    convention, so its files store as they come); ``origin`` is ``ecb`` for the
    ECB's published rates and ``manual`` for the marketer's own table (a
    currency the ECB lacks, or a correction), which wins on the same day.
    """
    db.executescript(
        """
        CREATE TABLE fx_rates (
            currency TEXT NOT NULL,
            day TEXT NOT NULL,
            origin TEXT NOT NULL,
            rate REAL NOT NULL CHECK (rate > 0),
            PRIMARY KEY (currency, day, origin)
        ) WITHOUT ROWID;
        """
    )


# Numbered after 0012: it was written beside 0009-0012, and migrations apply in this file's order.
@migrations(name="0013_saved_views")
def m0013_saved_views(db):
    """Saved views: a report with its grouping, range, comparison and filters, under a name.

    ``params`` and ``filters`` are JSON objects (``core/views.py`` checks them before
    storing); names compare without case, so "VIP" and "vip" are one view.
    """
    db.executescript(
        """
        CREATE TABLE saved_views (
            name TEXT PRIMARY KEY COLLATE NOCASE,
            report TEXT NOT NULL,
            params TEXT NOT NULL DEFAULT '{}',
            filters TEXT NOT NULL DEFAULT '{}',
            saved_at TEXT NOT NULL
        );
        """
    )
