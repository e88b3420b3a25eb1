"""The identity stitch: gather evidence from the workspace, resolve, store the difference.

Events stay untouched; only the derived tables change (``identity_nodes``,
``device_segments``, ``contacts.canonical_id`` and ``first_seen``, the
``devices`` flags). Only rows whose value changed are written, so a re-stitch
after a small sync costs little and the result lists what changed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import chain, islice

import orjson

from .identifiers import contact_key_node, customer_node, email_node, user_device, user_id_node, user_node
from ..gcpause import gc_paused
from .resolve import Evidence, DeviceLink, Resolution, resolve
from ..progress import Progress
from ..store import Workspace

KEY_NODE = {"crm": contact_key_node, "customer": customer_node, "user": user_node}


@dataclass
class StitchResult:
    contacts: int = 0
    waiting: int = 0
    changed_contacts: set[int] = field(default_factory=set)
    changed_devices: set[str] = field(default_factory=set)
    shared_devices: int = 0
    evidence_changed: bool = False  # the evidence was resolved again (not the page-views-only shortcut)

    def as_dict(self) -> dict:
        return {
            "contacts": self.contacts,
            "waiting_ids": self.waiting,
            "changed_contacts": len(self.changed_contacts),
            "changed_devices": len(self.changed_devices),
            "shared_devices": self.shared_devices,
        }


def _earlier(first_seen: dict[str, str], node: str, ts: str | None) -> None:
    if ts and (node not in first_seen or ts < first_seen[node]):
        first_seen[node] = ts


def gather(conn) -> Evidence:
    ev = Evidence()
    first = ev.first_seen
    rows = conn.execute(
        "SELECT id, message_text(message_id), type, anonymous_id, user_id, ts, email, contact_key, method "
        "FROM events WHERE type IN ('identify', 'alias')"
    )
    links_append, nodes_add = ev.links.append, ev.nodes.add
    for eid, mid, etype, aid, uid, ts, email, ckey, method in rows:
        if email and not ckey and (not uid or uid == email) and etype == "identify":
            # The common case (a form or link opt-in): one email, one device.
            node = "email:" + email
            if ts < first.get(node, "~"):
                first[node] = ts
            nodes_add(node)
            if aid:
                links_append(DeviceLink(aid, node, ts, method or "manual", eid, mid))
            continue
        ids = []
        if email:
            ids.append(email_node(email))
            _earlier(first, ids[-1], ts)
        if ckey:
            ids.append(contact_key_node(ckey))
        if uid and uid != email:
            ids.append(user_node(uid))
        if etype == "alias":
            raw = conn.execute("SELECT event_json(raw, message_id, anonymous_id, ts) FROM events WHERE id = ?", (eid,)).fetchone()[0]
            previous = orjson.loads(raw).get("previousId")
            if isinstance(previous, (str, int)) and str(previous).strip():
                previous = str(previous).strip()
                ids.append(user_node(previous))
                if not aid and uid:
                    ev.links.append(DeviceLink(previous, user_node(uid), ts, "server", eid, mid))
        for other in ids[1:]:
            ev.same_person.append((ids[0], other))
        if ids and aid:
            ev.links.append(DeviceLink(aid, ids[0], ts, method or "manual", eid, mid))
        ev.nodes.update(ids)
    # Other libraries send userId on ordinary events once a user is known.
    for aid, uid, ts, eid, mid in conn.execute(
        "SELECT anonymous_id, user_id, min(ts), min(id), min(message_text(message_id)) FROM events "
        "WHERE user_id IS NOT NULL AND anonymous_id IS NOT NULL AND type NOT IN ('identify', 'alias') "
        # user_id first: grouping by anonymous_id led SQLite to walk the device index over every event.
        "GROUP BY user_id, anonymous_id"
    ):
        node = user_id_node(uid)
        ev.links.append(DeviceLink(aid, node, ts, "manual", eid, mid))
        ev.nodes.add(node)
    # Server-side page views (no anonymousId): the user's pseudo device is theirs from the start.
    for uid, ts, eid, mid in conn.execute(
        "SELECT user_id, min(ts), min(id), min(message_text(message_id)) FROM events "
        "WHERE user_id IS NOT NULL AND anonymous_id IS NULL AND type IN ('page', 'screen') GROUP BY user_id"
    ):
        node = user_id_node(uid)
        ev.links.append(DeviceLink(user_device(uid), node, ts, "server", eid, mid))
        ev.nodes.add(node)
    same_person = ev.same_person.append
    for key, kind, email in conn.execute("SELECT key, kind, email FROM contact_keys"):
        node = KEY_NODE.get(kind, contact_key_node)(key)
        nodes_add(node)
        if email:
            same_person((node, email_node(email)))
    # Every contact and every order's email is a node; both also date a person's first sign.
    for email, created in chain(
        conn.execute("SELECT email, created_at FROM contacts"),
        conn.execute("SELECT email, min(created_at) FROM orders WHERE email IS NOT NULL GROUP BY email"),
    ):
        nodes_add(email_node(email))
        _earlier(first, email_node(email), created)
    ev.nodes.update(map(email_node, chain.from_iterable(
        conn.execute("SELECT DISTINCT email FROM subscriptions WHERE email IS NOT NULL"))))
    ev.nodes.update(chain.from_iterable(conn.execute("SELECT DISTINCT identifier FROM tags")))
    for a, b in conn.execute("SELECT email_a, email_b FROM manual_merges"):
        ev.manual.append((email_node(a), email_node(b)))
    return ev


def _contact_ids(conn, res: Resolution) -> dict[str, int]:
    """Every email node gets a contacts row; returns email node -> contact id."""
    ids = {email_node(e): cid for cid, e in conn.execute("SELECT id, email FROM contacts")}
    # Sorted, so new contacts get their ids in the same order whatever the hash seed.
    for node in sorted(n for n in res.canonical if n.startswith("email:") and n not in ids):
        ids[node] = conn.execute("INSERT INTO contacts(email) VALUES (?)", (node[6:],)).lastrowid
    return ids


SCRATCH_ROWS = 10_000


def _set_based(conn, columns: str, rows: Iterable[tuple], statement: str) -> None:
    """Run ``statement``, which reads the TEMP table ``stitch_rows(columns)``, over the rows, a chunk at a time.

    Row by row, each statement on a table with triggers opens a statement journal
    of its own: a third of the write time of a full re-stitch at 1M events. One
    INSERT ... SELECT or UPDATE ... FROM per chunk opens one per chunk, and the
    triggers still fire for every row. Chunks keep the table, which lives in memory, small.
    """
    conn.execute("DROP TABLE IF EXISTS temp.stitch_rows")
    conn.execute(f"CREATE TEMP TABLE stitch_rows ({columns})")
    insert = f"INSERT INTO temp.stitch_rows VALUES ({', '.join('?' * (columns.count(',') + 1))})"
    rows = iter(rows)
    while chunk := list(islice(rows, SCRATCH_ROWS)):
        conn.executemany(insert, chunk)
        conn.execute(statement)
        conn.execute("DELETE FROM temp.stitch_rows")
    conn.execute("DROP TABLE temp.stitch_rows")


def _write_canonical(conn, res: Resolution, ids: dict[str, int]) -> tuple[dict[int, int | None], set[int]]:
    """Each contact's canonical_id; returns contact id -> canonical id, and the contacts touched."""
    canon = {ids[n]: (ids[c] if c else None) for n, c in res.canonical.items() if n.startswith("email:")}
    old = dict(conn.execute("SELECT id, canonical_id FROM contacts"))
    moved = sorted(canon.items() - old.items())
    _set_based(conn, "id, canonical_id", moved,
               "UPDATE contacts SET canonical_id = m.canonical_id FROM temp.stitch_rows m WHERE contacts.id = m.id")
    touched = {cid for cid, _ in moved} | {c for _, c in moved if c} | {old[cid] for cid, _ in moved if old.get(cid)}
    return canon, touched


def _write_nodes(conn, res: Resolution, ids: dict[str, int]) -> set[int]:
    """identity_nodes as resolved; returns the contacts of the rows that changed, before and after."""
    new = {n: (ids[c] if c else None) for n, c in res.canonical.items()}
    old = dict(conn.execute("SELECT node, contact_id FROM identity_nodes"))
    via, old_via = res.via_merge, {n for (n,) in conn.execute("SELECT node FROM identity_nodes WHERE via_merge = 1")}
    if new == old and via == old_via:
        return set()  # the usual re-stitch, found out by two comparisons in C
    changed = [n for n, c in new.items() if n not in old or old[n] != c or (n in via) != (n in old_via)]
    gone = [n for n in old if n not in new]
    # In key order, SQLite appends to the B-tree instead of inserting all over it.
    changed.sort()
    # (WHERE true: without it SQLite would read ON CONFLICT as a join's ON.)
    _set_based(conn, "node, contact_id, via_merge", ((n, new[n], 1 if n in via else 0) for n in changed),
               "INSERT INTO identity_nodes(node, contact_id, via_merge) "
               "SELECT node, contact_id, via_merge FROM temp.stitch_rows WHERE true "
               "ON CONFLICT(node) DO UPDATE SET contact_id = excluded.contact_id, via_merge = excluded.via_merge")
    conn.executemany("DELETE FROM identity_nodes WHERE node = ?", ((n,) for n in gone))
    return ({new[n] for n in changed if new[n]} | {old[n] for n in changed if old.get(n)}
            | {old[n] for n in gone if old[n]})


def _write_segments(conn, res: Resolution, ids: dict[str, int]) -> tuple[set[str], set[int]]:
    """device_segments and device flags as resolved; returns the changed devices and their contacts, before and after."""
    # In the table's key order: equal lists are equal tables, and inserts append.
    new = sorted((s.anonymous_id, s.start_ts, s.end_ts, ids[s.contact], s.linked_by, s.linked_at, s.event_id)
                 for s in res.segments)
    old = conn.execute(
        "SELECT anonymous_id, start_ts, end_ts, contact_id, linked_by, linked_at, evidence_event_id "
        "FROM device_segments ORDER BY anonymous_id, start_ts").fetchall()
    if new == old:
        return set(), set()
    fresh, stale = set(new).difference(old), set(old).difference(new)
    changed = {r[0] for r in fresh} | {r[0] for r in stale}
    new = [r for r in new if r[0] in changed]
    old = [r for r in old if r[0] in changed]
    # A changed device's spans are replaced whole: the triggers then mark every contact
    # it had or has in first_touch_dirty, the same contacts this returns.
    _set_based(conn, "anonymous_id", ((a,) for a in sorted({r[0] for r in old})),
               "DELETE FROM device_segments WHERE anonymous_id IN (SELECT anonymous_id FROM temp.stitch_rows)")
    columns = "anonymous_id, start_ts, end_ts, contact_id, linked_by, linked_at, evidence_event_id"
    _set_based(conn, columns, new, f"INSERT INTO device_segments({columns}) SELECT {columns} FROM temp.stitch_rows")
    _mark_handovers(conn, old, new)
    counts = res.device_contacts
    flags = ((aid, counts.get(aid, 0), 1 if counts.get(aid, 0) >= 3 else 0) for aid in sorted(changed))
    # Most flags stay as they were: a row left alone is cheaper than one rewritten.
    _set_based(conn, "anonymous_id, contacts, shared", flags,
               "UPDATE devices SET contacts = f.contacts, shared = f.shared FROM temp.stitch_rows f "
               "WHERE devices.anonymous_id = f.anonymous_id "
               "AND (devices.contacts != f.contacts OR devices.shared != f.shared)")
    return changed, {r[3] for r in old} | {r[3] for r in new}


def _mark_handovers(conn, old: list[tuple], new: list[tuple]) -> None:
    """Devices whose handover times (span starts after the first) changed get their sessions
    rebuilt: a session never runs across a handover (reports/sessions.py)."""
    def starts(rows):
        out: dict[str, set[str]] = {}
        for r in rows:
            if r[1]:
                out.setdefault(r[0], set()).add(r[1])
        return out

    before, after = starts(old), starts(new)
    moved = sorted(aid for aid in before.keys() | after.keys() if before.get(aid) != after.get(aid))
    conn.executemany("INSERT OR IGNORE INTO sessions_dirty(anonymous_id) VALUES (?)", ((a,) for a in moved))


FIRST_SEEN_SOURCES = (
    # A device's first span holds its whole anonymous history; later spans start at their link.
    "SELECT s.contact_id, min(CASE WHEN s.start_ts = '' THEN d.first_seen ELSE s.start_ts END) "
    "FROM device_segments s JOIN devices d ON d.anonymous_id = s.anonymous_id GROUP BY s.contact_id",
    "SELECT c.canonical_id, min(o.created_at) FROM orders o JOIN contacts c ON c.email = o.email "
    "WHERE c.canonical_id IS NOT NULL GROUP BY c.canonical_id",
    "SELECT canonical_id, min(created_at) FROM contacts WHERE canonical_id IS NOT NULL GROUP BY canonical_id",
)


def _write_first_seen(conn) -> set[int]:
    """Each canonical contact's earliest sign of life, recomputed whole (new events can move it
    without changing any link) and written only where it changed."""
    first: dict[int, str] = {}
    for sql in FIRST_SEEN_SOURCES:
        for cid, t in conn.execute(sql):
            if t and (cid not in first or t < first[cid]):
                first[cid] = t
    changed = [(t, cid) for cid, t in first.items()]
    old = dict(conn.execute("SELECT id, first_seen FROM contacts WHERE canonical_id = id OR first_seen IS NOT NULL"))
    updates = [(t, cid) for t, cid in changed if old.get(cid) != t]
    updates += [(None, cid) for cid, t in old.items() if t is not None and cid not in first]
    conn.executemany("UPDATE contacts SET first_seen = ? WHERE id = ?", updates)
    return {cid for _, cid in updates}


def _contacts_count(conn) -> int:
    return conn.execute("SELECT count(*) FROM contacts WHERE canonical_id = id").fetchone()[0]


def _shared_count(conn) -> int:
    return conn.execute("SELECT count(*) FROM devices WHERE shared = 1").fetchone()[0]


def _waiting_count(conn) -> int:
    return conn.execute(
        "SELECT count(*) FROM identity_nodes WHERE contact_id IS NULL AND node LIKE 'cid:%'").fetchone()[0]


def stitch(ws: Workspace, progress: Progress | None = None) -> StitchResult:
    """Re-derive identity from all evidence; same data, same result, whatever the order it came in."""
    with gc_paused():
        return _stitch(ws, progress)


def _stitch(ws: Workspace, progress: Progress | None) -> StitchResult:
    conn = ws.conn
    if progress:
        progress.update("Stitching identities", 0.0)
    if not conn.execute("SELECT dirty FROM identity_state").fetchone()[0]:
        # No identity evidence changed (a sync of page views): only first-seen times can move.
        with conn:
            touched = _write_first_seen(conn)
        if progress:
            progress.update("Stitched identities", 1.0)
        return StitchResult(contacts=_contacts_count(conn), changed_contacts=touched,
                            shared_devices=_shared_count(conn), waiting=_waiting_count(conn))
    res = resolve(gather(conn))
    if progress:
        progress.update("Stitching identities", 0.5)
    result = StitchResult(evidence_changed=True)
    with conn:
        if not conn.in_transaction:
            conn.execute("BEGIN")  # now, so the scratch table comes and goes inside it
        ids = _contact_ids(conn, res)
        canon, touched = _write_canonical(conn, res, ids)
        touched |= _write_nodes(conn, res, ids)
        devices, seg_contacts = _write_segments(conn, res, ids)
        touched |= seg_contacts
        touched |= _write_first_seen(conn)
        conn.execute("UPDATE identity_state SET dirty = 0")
    result.changed_contacts = touched
    result.changed_devices = devices
    result.contacts = len({c for c in canon.values() if c})
    result.waiting = sum(1 for n, c in res.canonical.items() if c is None and n.startswith("cid:"))
    result.shared_devices = sum(1 for n in res.device_contacts.values() if n >= 3)
    if progress:
        progress.update("Stitched identities", 1.0)
    return result
