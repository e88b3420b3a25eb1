"""Migration 0018: what changed since the last stitch, so it re-resolves only that (``core/identity/component.py``)."""

from __future__ import annotations

from .registry import migrations

# The node a contact_keys row stands for (stitch.KEY_NODE, in SQL).
KEY_NODE_SQL = "(CASE {r}.kind WHEN 'customer' THEN 'cus:' WHEN 'user' THEN 'user:' ELSE 'cid:' END || {r}.key)"

# Per evidence table: the identifiers a row names, as SQL over the row NEW or OLD.
TOUCHED = {
    "contacts": ("'email:' || {r}.email",),
    "orders": ("'email:' || {r}.email",),
    "subscriptions": ("'email:' || {r}.email",),
    "tags": ("{r}.identifier",),
    "contact_keys": (KEY_NODE_SQL, "'email:' || {r}.email"),
    "manual_merges": ("'email:' || {r}.email_a", "'email:' || {r}.email_b"),
}
# The updates that can change evidence (as migration 0004's dirty flag watches them).
UPDATES = {"contacts": "UPDATE OF email, created_at", "orders": "UPDATE OF email, created_at",
           "subscriptions": "UPDATE OF email", "tags": "UPDATE", "contact_keys": "UPDATE", "manual_merges": "UPDATE"}


# What the component stitch relies on; should a later migration rebuild a table without them,
# the stitch finds one missing and runs in full (core/identity/component.py).
OBJECTS = ("events_delete_full", "events_email", "events_contact_key", "events_user_email", "devices_shared",
           "identity_nodes_bare", *(f"{t}_{op}_touched" for t in TOUCHED for op in ("insert", "delete", "update")))


@migrations(name="0018_identity_changes")
def m0018_identity_changes(db):
    """The stitch's change log: it re-resolves only the identity components that new evidence touches.

    - ``identity_state.events_upto``: the highest event id the last stitch read;
      events above it are new evidence. NULL (an upgraded workspace) and
      ``full = 1`` (events were deleted: an erase) ask for a full re-stitch,
      which sets both back.
    - ``identity_touched``: every identifier a CRM, payment, CSV or merge write
      named since the last stitch (triggers below), deleted by the stitch.
    - Indexes to find an identifier's evidence in the events: identifies by
      email and by contact id, and userIds that are emails by their lower case
      (the stitch's ``user_id_node``; SQLite's lower() folds ASCII only, so the
      stitch falls back to a full one for a non-ASCII address, and the Kelvin
      sign, the one other character Python folds to ASCII, is folded here).
      They hold identity rows only, so imports barely pay for them. And the
      CRM ids in identity_nodes by their bare key.
    """
    db.executescript(
        """
        ALTER TABLE identity_state ADD COLUMN events_upto INTEGER;
        ALTER TABLE identity_state ADD COLUMN full INTEGER NOT NULL DEFAULT 1;
        CREATE TABLE identity_touched (node TEXT PRIMARY KEY) WITHOUT ROWID;
        CREATE TRIGGER events_delete_full AFTER DELETE ON events
        BEGIN UPDATE identity_state SET full = 1 WHERE full = 0; END;
        CREATE INDEX events_email ON events(email) WHERE email IS NOT NULL;
        CREATE INDEX events_contact_key ON events(contact_key) WHERE contact_key IS NOT NULL;
        CREATE INDEX events_user_email ON events(lower(replace(user_id, char(8490), 'k')))
            WHERE instr(user_id, '@') > 0;
        -- The stitch's count of shared devices after a sync, without a scan of every device.
        CREATE INDEX devices_shared ON devices(shared) WHERE shared = 1;  -- (covering: the count reads no row)
        -- A prefixed CRM id ('cid:ac:123') by its bare key ('123'): a link's bare id is
        -- the CRM's when exactly one such key exists (resolve._bare_key_pairs).
        CREATE INDEX identity_nodes_bare ON identity_nodes(substr(node, instr(substr(node, 5), ':') + 5))
            WHERE node LIKE 'cid:%:%';
        """
    )
    # A workspace without evidence yet (a new one) has nothing a component stitch could miss.
    empty = " AND ".join(f"NOT EXISTS (SELECT 1 FROM {t})" for t in ("events", *TOUCHED))
    db.execute(f"UPDATE identity_state SET events_upto = 0, full = 0 WHERE {empty}")
    for table, nodes in TOUCHED.items():
        for op, rows in (("INSERT", ("NEW",)), ("DELETE", ("OLD",)), (UPDATES[table], ("OLD", "NEW"))):
            # NOT EXISTS, not OR IGNORE: an upsert's conflict clause overrides the trigger's.
            inserts = " ".join(f"INSERT INTO identity_touched(node) SELECT n FROM (SELECT {node.format(r=r)} AS n) "
                               "WHERE n IS NOT NULL AND NOT EXISTS "
                               "(SELECT 1 FROM identity_touched t WHERE t.node = n);"
                               for r in rows for node in nodes)
            db.execute(f"CREATE TRIGGER {table}_{op.split()[0].lower()}_touched AFTER {op} ON {table} "
                       f"BEGIN {inserts} END")
