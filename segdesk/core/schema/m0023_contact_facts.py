"""Migration 0023: what LTV, ROAS and the campaign table group by, cached (issue 20 item 3)."""

from __future__ import annotations

from .registry import migrations


@migrations(name="0023_contact_facts")
def m0023_contact_facts(db):
    """``report_contact_facts``: each canonical contact's anchor and first touch (``reports/contact_facts.py``).

    Every LTV, ROAS and campaign build joined 50,000 contacts to their first touch and
    turned each anchor into milliseconds (~35 ms at 1M events, in a statement that then
    sorted the result four times). The row of a contact changes only when the contact
    does (inserted, deleted, merged, first_seen) or its ``report_first_touch`` row does,
    so triggers on exactly those list it in ``report_facts_dirty``; readers take the
    live join while anything is listed, and the refresh rewrites the listed contacts.
    """
    db.executescript(
        """
        CREATE TABLE report_contact_facts (
            id INTEGER PRIMARY KEY,          -- the canonical contact
            anchor TEXT,                     -- first touch's start, else first_seen
            a_ms INTEGER,                    -- the anchor in ms since 1970
            touched INTEGER NOT NULL,        -- 1: it has a first touch (else its keys are "(unknown)")
            source TEXT, medium TEXT, campaign TEXT,
            content TEXT, term TEXT          -- the first touch's session's utm_content / utm_term
        );
        -- The touch columns in order: ROAS and the campaign table count contacts per whole first touch
        -- while scanning this (5 ms at 50,000 contacts) instead of sorting them (~30 ms).
        CREATE INDEX report_contact_facts_touch
            ON report_contact_facts(touched, source, medium, campaign, content, term, anchor, a_ms);
        CREATE TABLE report_facts_state (id INTEGER PRIMARY KEY CHECK (id = 1), dirty INTEGER NOT NULL);
        INSERT INTO report_facts_state(id, dirty) VALUES (1, 1);
        CREATE TABLE report_facts_dirty (contact_id INTEGER PRIMARY KEY) WITHOUT ROWID;
        """
    )
    mark = "INSERT OR IGNORE INTO report_facts_dirty(contact_id) VALUES ({row}.{col});"
    for table, col, ops in (("contacts", "id", ("INSERT", "DELETE", "UPDATE OF first_seen, canonical_id")),
                            ("report_first_touch", "contact_id", ("INSERT", "DELETE", "UPDATE"))):
        for op in ops:
            rows = {"INSERT": ("NEW",), "DELETE": ("OLD",)}.get(op.split()[0], ("OLD", "NEW"))
            body = " ".join(mark.format(row=r, col=col) for r in rows)
            db.execute(f"CREATE TRIGGER {table}_{op.split()[0].lower()}_report_facts AFTER {op} ON {table} "
                       f"BEGIN {body} END")
    _clock(db)
    _visitors(db)


def _clock(db):
    """``report_clock``: the data's "now" (``cohort.as_of``: the latest device activity or order).

    ``max(last_seen)`` over 200,000 devices and ``max(created_at)`` over the orders cost ~20 ms
    per LTV build at 1M events. Devices move only with new events (a higher ``events.id``
    than ``events_upto``) or deleted ones; orders by their own writes: those set ``dirty``,
    and readers compute it live until the refresh stores it again.
    """
    db.executescript(
        """
        CREATE TABLE report_clock (id INTEGER PRIMARY KEY CHECK (id = 1), as_of TEXT,
                                   events_upto INTEGER NOT NULL, dirty INTEGER NOT NULL);
        INSERT INTO report_clock(id, as_of, events_upto, dirty) VALUES (1, NULL, 0, 1);
        """
    )
    dirty = "BEGIN UPDATE report_clock SET dirty = 1 WHERE dirty = 0; END;"
    for op in ("INSERT", "DELETE", "UPDATE OF created_at"):
        db.execute(f"CREATE TRIGGER orders_{op.split()[0].lower()}_report_clock AFTER {op} ON orders {dirty}")
    db.execute(f"CREATE TRIGGER events_deleted_report_clock AFTER DELETE ON events {dirty}")


def _visitors(db):
    """``report_channel_visitors``: devices per source, medium and campaign over all time (the campaign table's
    visitors without a date range, as the dashboard opens it; ~75 ms at 393,000 sessions).

    Sessions change only in ``sessions.update_sessions``, in the transaction that also moves its
    high-water mark (the setting ``sessions.events_upto``; deleted, it forces a full rebuild) or that
    empties ``sessions_dirty`` (devices an erase or a stitch moved). So a change of that setting or a
    device listed there marks the counts stale, and readers also wait for ``sessions_dirty`` to
    empty. No trigger on ``sessions`` itself: one per row added ~8 us to each of the 393,000 rows
    a full session rebuild writes at 1M events.
    """
    db.executescript(
        """
        CREATE TABLE report_channel_visitors (source TEXT NOT NULL, medium TEXT NOT NULL, campaign TEXT NOT NULL,
                                              visitors INTEGER NOT NULL,
                                              PRIMARY KEY (source, medium, campaign)) WITHOUT ROWID;
        CREATE TABLE report_visitors_state (id INTEGER PRIMARY KEY CHECK (id = 1), dirty INTEGER NOT NULL);
        INSERT INTO report_visitors_state(id, dirty) VALUES (1, 1);
        """
    )
    dirty = "BEGIN UPDATE report_visitors_state SET dirty = 1 WHERE dirty = 0; END;"
    mark = "WHEN {row}.key = 'sessions.events_upto'"
    db.execute(f"CREATE TRIGGER settings_insert_report_visitors AFTER INSERT ON settings {mark.format(row='NEW')} {dirty}")
    db.execute(f"CREATE TRIGGER settings_delete_report_visitors AFTER DELETE ON settings {mark.format(row='OLD')} {dirty}")
    db.execute(f"CREATE TRIGGER settings_update_report_visitors AFTER UPDATE ON settings "
               f"{mark.format(row='NEW')} AND NEW.value IS NOT OLD.value {dirty}")
    db.execute(f"CREATE TRIGGER sessions_dirty_report_visitors AFTER INSERT ON sessions_dirty {dirty}")
