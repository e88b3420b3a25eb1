"""Migration 0021: each counted order's touches with their attribution weights (``reports/shares.py``)."""

from __future__ import annotations

from .registry import migrations


@migrations(name="0021_attribution_shares")
def m0021_attribution_shares(db):
    """``report_attribution_touches``: per touch in an order's 90-day window, its channel, place and weights.

    Clustered by (channel, order, seq) so that a report sums each channel in one ordered scan.
    ``report_attribution_orders`` is the snapshot of the counted orders it was computed for, compared
    with ``report_orders`` after that is rebuilt. ``report_attribution_state.dirty`` (everything stale:
    new, or touches rebuilt) starts at 1, so the first refresh fills the cache; ``orders_changed`` follows
    ``report_orders_state``; ``report_attribution_dirty`` lists contacts whose touches were recomputed;
    ``currencies`` those of the counted orders (a report's columns of sums).
    """
    db.executescript(
        """
        CREATE TABLE report_attribution_channels (
            id INTEGER PRIMARY KEY,
            source TEXT NOT NULL,
            medium TEXT NOT NULL,
            campaign TEXT NOT NULL,
            UNIQUE (source, medium, campaign)
        );
        CREATE TABLE report_attribution_touches (
            channel INTEGER NOT NULL,
            order_id INTEGER NOT NULL,
            seq INTEGER NOT NULL,
            n INTEGER NOT NULL,
            decay REAL NOT NULL,
            lnd INTEGER NOT NULL,
            PRIMARY KEY (channel, order_id, seq)
        ) WITHOUT ROWID;
        CREATE INDEX report_attribution_touches_order ON report_attribution_touches(order_id);
        CREATE TABLE report_attribution_orders (
            id INTEGER PRIMARY KEY,
            contact_id INTEGER,
            created_at TEXT NOT NULL
        );
        CREATE TABLE report_attribution_state (id INTEGER PRIMARY KEY CHECK (id = 1), dirty INTEGER NOT NULL,
                                               orders_changed INTEGER NOT NULL, currencies TEXT NOT NULL);
        INSERT INTO report_attribution_state(id, dirty, orders_changed, currencies) VALUES (1, 1, 0, '[]');
        CREATE TABLE report_attribution_dirty (contact_id INTEGER PRIMARY KEY) WITHOUT ROWID;
        CREATE TRIGGER report_orders_state_attribution AFTER UPDATE OF dirty ON report_orders_state
        WHEN NEW.dirty = 1 BEGIN UPDATE report_attribution_state SET orders_changed = 1 WHERE orders_changed = 0; END;
        CREATE TRIGGER first_touch_dirty_attribution AFTER INSERT ON first_touch_dirty BEGIN
            INSERT OR IGNORE INTO report_attribution_dirty(contact_id) VALUES (NEW.contact_id);
        END;
        """
    )
