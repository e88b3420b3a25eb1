"""The PostgreSQL buffer's tables, their migrations, and the sequencer that
gives committed events their pull order (docs/relay.md "Several relays on
one database").

Why a sequencer: a `bigserial` assigned at insert is taken in insert order but
becomes visible in commit order. With two relays (or two connections), T1
takes id 7 and T2 id 8; T2 commits, a pull serves 8 and the app moves its
cursor past 8; T1 commits 7 behind the cursor and is never pulled. So ingest
stores events with seq NULL, and before each page a single sequencer (one at
a time, under a transaction-level advisory lock) numbers the committed,
un-numbered events after the highest seq ever given. A row that commits late
is simply numbered by a later run, above everything served so far.
"""

from __future__ import annotations

from segdesk.errors import WorkspaceError

# Advisory lock keys (any two fixed bigints; chosen to be unlikely to collide
# with another application's locks on a shared database).
MIGRATE_LOCK = 0x5E6D_E5C0_0001
SEQUENCER_LOCK = 0x5E6D_E5C0_0002

# Each migration runs once, in order, in the transaction that holds
# MIGRATE_LOCK; relay_schema records the versions applied.
MIGRATIONS: list[tuple[int, str]] = [
    (1, """
CREATE TABLE relay_events (
    id bigserial PRIMARY KEY,          -- insert order; commits may land out of it
    seq bigint UNIQUE,                 -- pull order, given after commit (NULL until then)
    message_id text NOT NULL UNIQUE,
    received_at text NOT NULL,
    received_ts double precision NOT NULL,
    anonymous_id text,
    user_id text,
    email text,
    body bytea NOT NULL
);
CREATE INDEX relay_events_unsequenced ON relay_events (id) WHERE seq IS NULL;
CREATE INDEX relay_events_anonymous_id ON relay_events (anonymous_id);
CREATE INDEX relay_events_user_id ON relay_events (user_id) WHERE user_id IS NOT NULL;
CREATE INDEX relay_events_email ON relay_events (email) WHERE email IS NOT NULL;
CREATE TABLE relay_acks (upto bigint NOT NULL, acked_ts double precision NOT NULL);
CREATE TABLE relay_counters (name text PRIMARY KEY, value bigint NOT NULL);
-- The highest seq ever given: survives purges that empty relay_events, so
-- numbering never restarts below an app's cursor.
CREATE TABLE relay_sequence (last_seq bigint NOT NULL);
INSERT INTO relay_sequence VALUES (0);
"""),
    # Webhook deliveries (hooks_pg.py): the same seq-after-commit scheme as events.
    (2, """
CREATE TABLE relay_hooks (
    id bigserial PRIMARY KEY,
    seq bigint UNIQUE,
    delivery_key text NOT NULL UNIQUE,
    source text NOT NULL,
    kind text NOT NULL,
    received_at text NOT NULL,
    received_ts double precision NOT NULL,
    headers bytea NOT NULL,
    body bytea NOT NULL
);
CREATE INDEX relay_hooks_unsequenced ON relay_hooks (id) WHERE seq IS NULL;
CREATE TABLE relay_hook_acks (upto bigint NOT NULL, acked_ts double precision NOT NULL);
CREATE TABLE relay_hook_sequence (last_seq bigint NOT NULL);
INSERT INTO relay_hook_sequence VALUES (0);
"""),
]

# The whole group in one statement: one round trip whatever its size, which
# on a busy relay is most of the writer's cost. unnest() keeps the group's
# order, so ids (and later seqs) follow the order events arrived in.
INSERT = (
    "INSERT INTO relay_events"
    " (message_id, received_at, received_ts, anonymous_id, user_id, email, body)"
    " SELECT * FROM unnest(%s::text[], %s::text[], %s::float8[], %s::text[], %s::text[],"
    " %s::text[], %s::bytea[])"
    " ON CONFLICT (message_id) DO NOTHING"
)

COUNT = (
    "INSERT INTO relay_counters (name, value) VALUES (%s, %s)"
    " ON CONFLICT (name) DO UPDATE SET value = relay_counters.value + excluded.value"
)

# Numbers the oldest committed un-numbered events, in id order, after the
# highest seq given. The LIMIT sits inside so row_number() only walks the
# rows it numbers, not the whole backlog.
STAMP_SQL = """
UPDATE {table} e SET seq = s.last_seq + todo.n
FROM (SELECT id, row_number() OVER (ORDER BY id) AS n
      FROM (SELECT id FROM {table} WHERE seq IS NULL ORDER BY id LIMIT %s) first) todo,
     {sequence} s
WHERE e.id = todo.id
RETURNING e.seq
"""
STAMP = STAMP_SQL.format(table="relay_events", sequence="relay_sequence")


class SchemaTooNew(WorkspaceError):
    """The database was migrated by a newer relay than this one (the operator's one line on start)."""


def migrate(conn) -> int:
    """Create or upgrade the tables; returns the schema version. Two relays
    starting at once queue on the advisory lock instead of racing to create
    the same tables."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATE_LOCK,))
        conn.execute("CREATE TABLE IF NOT EXISTS relay_schema (version integer NOT NULL)")
        current = conn.execute("SELECT coalesce(max(version), 0) FROM relay_schema").fetchone()[0]
        latest = MIGRATIONS[-1][0]
        if current > latest:
            raise SchemaTooNew(f"the database has relay schema {current}; this relay knows "
                               f"up to {latest}: upgrade the relay")
        for version, sql in MIGRATIONS:
            if version > current:
                conn.execute(sql)
                conn.execute("INSERT INTO relay_schema (version) VALUES (%s)", (version,))
        return latest


def sequence(conn, limit: int, lock: int = SEQUENCER_LOCK, stamp: str = STAMP,
             table: str = "relay_sequence") -> int:
    """Number up to `limit` committed events (one sequencer at a time); returns
    how many. Each statement of a READ COMMITTED transaction sees every commit
    before it, so after the lock this run sees all earlier runs' numbers."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (lock,))
        stamped = [seq for (seq,) in conn.execute(stamp, (limit,)).fetchall()]
        if stamped:
            # max, not count: a row erased meanwhile leaves a hole in the
            # numbers given, and the next run must start above all of them.
            conn.execute(f"UPDATE {table} SET last_seq = %s", (max(stamped),))
        return len(stamped)
