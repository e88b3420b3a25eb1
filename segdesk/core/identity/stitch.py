"""The identity stitch: gather evidence from the workspace, resolve, store the difference.

Events stay untouched; only the derived tables change (``identity_nodes``,
``device_segments``, ``contacts.canonical_id`` and ``first_seen``, the
``devices`` flags). Only rows whose value changed are written, and the result
lists what changed. A sync's stitch re-resolves only the components its new
evidence touches (``component.py``); the full stitch below, which reads all
evidence, runs when that cannot be trusted or would not be quicker.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from itertools import chain

from . import component
from .evidence import (IDENTITY_COLUMNS, IDENTITY_TYPES, KEY_NODE, SERVER_LINKS_SQL, USER_LINKS_SQL,
                       add_identity_row, alias_previous, key_node)
from .identifiers import email_node, user_device, user_id_node
from ..gcpause import gc_paused
from .resolve import DeviceLink, Evidence, resolve
from .writes import (SEGMENT_COLUMNS, changed_devices, contact_ids, done, write_all_nodes, write_canonical,
                     write_device_flags, write_first_seen, write_segments)
from ..progress import Progress
from ..store import Workspace

__all__ = ["KEY_NODE", "StitchResult", "gather", "stitch"]


@dataclass
class StitchResult:
    contacts: int = 0
    waiting: int = 0
    changed_contacts: set[int] = field(default_factory=set)
    changed_devices: set[str] = field(default_factory=set)
    shared_devices: int = 0
    evidence_changed: bool = False  # the evidence was resolved again (not the page-views-only shortcut)
    full: bool = False  # all of it was resolved again, not only the components new evidence touched

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
    nodes_add = ev.nodes.add
    previous_of = partial(alias_previous, conn)
    for row in conn.execute(f"SELECT {IDENTITY_COLUMNS} FROM events WHERE type IN {IDENTITY_TYPES}"):
        add_identity_row(ev, row, previous_of)
    # Other libraries send userId on ordinary events once a user is known.
    for aid, uid, ts, eid, mid in conn.execute(USER_LINKS_SQL.format(indexed="", where="user_id IS NOT NULL")):
        node = user_id_node(uid)
        ev.links.append(DeviceLink(aid, node, ts, "manual", eid, mid))
        ev.nodes.add(node)
    # Server-side page views (no anonymousId): the user's pseudo device is theirs from the start.
    for uid, ts, eid, mid in conn.execute(SERVER_LINKS_SQL.format(indexed="", where="user_id IS NOT NULL")):
        node = user_id_node(uid)
        ev.links.append(DeviceLink(user_device(uid), node, ts, "server", eid, mid))
        ev.nodes.add(node)
    same_person = ev.same_person.append
    for key, kind, email in conn.execute("SELECT key, kind, email FROM contact_keys"):
        node = key_node(key, kind)
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


def _contacts_count(conn) -> int:
    return conn.execute("SELECT count(*) FROM contacts WHERE canonical_id = id").fetchone()[0]


def _shared_count(conn) -> int:
    return conn.execute("SELECT count(*) FROM devices WHERE shared = 1").fetchone()[0]


def _waiting_count(conn) -> int:
    return conn.execute(
        "SELECT count(*) FROM identity_nodes WHERE contact_id IS NULL AND node LIKE 'cid:%'").fetchone()[0]


def stitch(ws: Workspace, progress: Progress | None = None, full: bool = False) -> StitchResult:
    """Bring identity up to date with the evidence; same data, same result, whatever the order it came in.

    Only the components that new evidence touches are resolved again (``component.py``);
    ``full`` (or a change too large, or deleted events) resolves everything from scratch.
    """
    with gc_paused():
        return _stitch(ws, progress, full)


def _stitch(ws: Workspace, progress: Progress | None, full: bool) -> StitchResult:
    conn = ws.conn
    if progress:
        progress.update("Stitching identities", 0.0)
    dirty, must_be_full, upto = conn.execute("SELECT dirty, full, events_upto FROM identity_state").fetchone()
    top = conn.execute("SELECT coalesce(max(id), 0) FROM events").fetchone()[0]
    changed = None
    if not full and not must_be_full and upto is not None:
        changed = component.stitch_changes(conn, upto, top, evidence=bool(dirty))
    if changed is None:
        result = _full_stitch(conn, progress, upto, top)
    else:
        result = StitchResult(contacts=_contacts_count(conn), waiting=_waiting_count(conn),
                              changed_contacts=changed[0], changed_devices=changed[1],
                              shared_devices=_shared_count(conn), evidence_changed=bool(dirty))
    if progress:
        progress.update("Stitched identities", 1.0)
    return result


def _full_stitch(conn, progress: Progress | None, upto: int | None, top: int) -> StitchResult:
    res = resolve(gather(conn))  # the evidence is freed as resolve returns, before any write
    if progress:
        progress.update("Stitching identities", 0.5)
    result = StitchResult(evidence_changed=True, full=True)
    with conn:
        if not conn.in_transaction:
            conn.execute("BEGIN")  # now, so the scratch table comes and goes inside it
        ids = contact_ids(conn, (n for n in res.canonical if n.startswith("email:")), everyone=True)
        canon = {ids[n]: (ids[c] if c else None) for n, c in res.canonical.items() if n.startswith("email:")}
        touched = write_canonical(conn, canon, dict(conn.execute("SELECT id, canonical_id FROM contacts")))
        result.waiting = sum(1 for n, c in res.canonical.items() if c is None and n.startswith("cid:"))
        nodes = {n: (ids[c] if c else None) for n, c in res.canonical.items()}
        res.canonical.clear()  # from here on each node's contact id is all that is needed
        touched |= write_all_nodes(conn, nodes, res.via_merge)
        del nodes
        # In the table's key order: equal lists are equal tables, and inserts append. Each span
        # becomes its row in place, so the two are never held at once.
        new = res.segments
        for i, s in enumerate(new):
            new[i] = (s.anonymous_id, s.start_ts, s.end_ts, ids[s.contact], s.linked_by, s.linked_at, s.event_id)
        new.sort()
        # Stored spans stream past; only the devices whose spans changed are kept.
        fresh, stale = changed_devices(new, conn.execute(
            f"SELECT {SEGMENT_COLUMNS} FROM device_segments ORDER BY anonymous_id, start_ts"))
        new.clear()
        devices, seg_contacts = write_segments(conn, fresh, stale, res.device_contacts)
        touched |= seg_contacts
        touched |= write_first_seen(conn)
        write_device_flags(conn, None if upto is None else (
            a for (a,) in conn.execute("SELECT DISTINCT anonymous_id FROM events WHERE id > ?", (upto,)) if a))
        done(conn, top)
    result.changed_contacts = touched
    result.changed_devices = devices
    result.contacts = len({c for c in canon.values() if c})
    result.shared_devices = sum(1 for n in res.device_contacts.values() if n >= 3)
    return result
