"""Migrations 0001 to 0001 (see the package docstring)."""

from __future__ import annotations

from .registry import migrations


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
