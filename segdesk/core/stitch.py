"""The identity stitch: gather evidence from the workspace, resolve, store the difference.

Events stay untouched; only the derived tables change (``identity_nodes``,
``device_segments``, ``contacts.canonical_id`` and ``first_seen``, the
``devices`` flags). Only rows whose value changed are written, so a re-stitch
after a small sync costs little and the result lists what changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import orjson

from .identifiers import contact_key_node, customer_node, email_node, user_node
from .gcpause import gc_paused
from .identity import Evidence, DeviceLink, Resolution, resolve
from .progress import Progress
from .store import Workspace

KEY_NODE = {"crm": contact_key_node, "customer": customer_node, "user": user_node}


@dataclass
class StitchResult:
    contacts: int = 0
    waiting: int = 0
    changed_contacts: set[int] = field(default_factory=set)
    changed_devices: set[str] = field(default_factory=set)
    shared_devices: int = 0

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
        "SELECT id, message_id, type, anonymous_id, user_id, ts, email, contact_key, method "
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
            raw = conn.execute("SELECT raw FROM events WHERE id = ?", (eid,)).fetchone()[0]
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
        "SELECT anonymous_id, user_id, min(ts), min(id), min(message_id) FROM events "
        "WHERE user_id IS NOT NULL AND anonymous_id IS NOT NULL AND type NOT IN ('identify', 'alias') "
        "GROUP BY anonymous_id, user_id"
    ):
        node = email_node(uid.lower()) if "@" in uid else user_node(uid)
        ev.links.append(DeviceLink(aid, node, ts, "manual", eid, mid))
        ev.nodes.add(node)
    for key, kind, email, updated in conn.execute("SELECT key, kind, email, updated_at FROM contact_keys"):
        node = KEY_NODE.get(kind, contact_key_node)(key)
        ev.nodes.add(node)
        if email:
            ev.same_person.append((node, email_node(email)))
    for email, created in conn.execute("SELECT email, created_at FROM contacts"):
        ev.nodes.add(email_node(email))
        _earlier(first, email_node(email), created)
    for email, created in conn.execute("SELECT email, min(created_at) FROM orders WHERE email IS NOT NULL GROUP BY email"):
        ev.nodes.add(email_node(email))
        _earlier(first, email_node(email), created)
    for (email,) in conn.execute("SELECT DISTINCT email FROM subscriptions WHERE email IS NOT NULL"):
        ev.nodes.add(email_node(email))
    for (identifier,) in conn.execute("SELECT DISTINCT identifier FROM tags"):
        ev.nodes.add(identifier)
    for a, b in conn.execute("SELECT email_a, email_b FROM manual_merges"):
        ev.manual.append((email_node(a), email_node(b)))
    return ev


def _contact_ids(conn, res: Resolution) -> dict[str, int]:
    """Every email node gets a contacts row; returns email node -> contact id."""
    emails = [n[6:] for n in res.canonical if n.startswith("email:")]
    conn.executemany("INSERT OR IGNORE INTO contacts(email) VALUES (?)", ((e,) for e in emails))
    return {email_node(e): cid for cid, e in conn.execute("SELECT id, email FROM contacts")}


def _write_nodes(conn, res: Resolution, ids: dict[str, int]) -> set[int]:
    new = {n: (ids[c] if c else None, 1 if n in res.via_merge else 0) for n, c in res.canonical.items()}
    old = {n: (c, m) for n, c, m in conn.execute("SELECT node, contact_id, via_merge FROM identity_nodes")}
    changed = {n: v for n, v in new.items() if old.get(n) != v}
    gone = [n for n in old if n not in new]
    conn.executemany(
        "INSERT INTO identity_nodes(node, contact_id, via_merge) VALUES (?, ?, ?) "
        "ON CONFLICT(node) DO UPDATE SET contact_id = excluded.contact_id, via_merge = excluded.via_merge",
        ((n, c, m) for n, (c, m) in changed.items()),
    )
    conn.executemany("DELETE FROM identity_nodes WHERE node = ?", ((n,) for n in gone))
    touched = {v[0] for v in changed.values() if v[0]} | {old[n][0] for n in changed if n in old and old[n][0]}
    touched |= {old[n][0] for n in gone if old[n][0]}
    return touched


def _write_segments(conn, res: Resolution, ids: dict[str, int]) -> tuple[set[str], set[int]]:
    new: dict[str, list[tuple]] = {
        aid: [(s.start_ts, s.end_ts, ids[s.contact], s.linked_by, s.linked_at, s.event_id) for s in segs]
        for aid, segs in res.segments.items()
    }
    old: dict[str, list[tuple]] = {}
    for row in conn.execute(
        "SELECT anonymous_id, start_ts, end_ts, contact_id, linked_by, linked_at, evidence_event_id "
        "FROM device_segments ORDER BY anonymous_id, start_ts"
    ):
        old.setdefault(row[0], []).append(tuple(row[1:]))
    changed = {aid for aid in new.keys() | old.keys() if new.get(aid) != old.get(aid)}
    contacts: set[int] = set()
    for aid in changed:
        contacts.update(s[2] for s in old.get(aid, ()))
        contacts.update(s[2] for s in new.get(aid, ()))
    conn.executemany("DELETE FROM device_segments WHERE anonymous_id = ?", ((a,) for a in changed))
    conn.executemany(
        "INSERT INTO device_segments(anonymous_id, start_ts, end_ts, contact_id, linked_by, linked_at, "
        "evidence_event_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
        ((aid, *s) for aid in changed for s in new.get(aid, ())),
    )
    flags = [(res.device_contacts.get(aid, 0), 1 if res.device_contacts.get(aid, 0) >= 3 else 0, aid) for aid in changed]
    conn.executemany("UPDATE devices SET contacts = ?, shared = ? WHERE anonymous_id = ?", flags)
    return changed, contacts


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
    result = StitchResult()
    with conn:
        ids = _contact_ids(conn, res)
        canon = {ids[n]: (ids[c] if c else None) for n, c in res.canonical.items() if n.startswith("email:")}
        old_canon = dict(conn.execute("SELECT id, canonical_id FROM contacts"))
        moved = [(c, cid) for cid, c in canon.items() if old_canon.get(cid) != c]
        conn.executemany("UPDATE contacts SET canonical_id = ? WHERE id = ?", moved)
        touched = {cid for _, cid in moved} | {c for c, _ in moved if c}
        touched |= {old_canon[cid] for _, cid in moved if old_canon.get(cid)}
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
