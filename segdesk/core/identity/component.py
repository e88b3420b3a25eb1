"""The component stitch: resolve again only the identities that new evidence touches.

A sync brings a few thousand events and a few hundred identifies into a
workspace of millions; re-reading all evidence costs seconds that grow with
history. Instead:

1. **What changed**: events above ``identity_state.events_upto`` (their
   identifiers, and the devices whose links they change) and the identifiers
   that CRM, payment, CSV and merge writes logged in ``identity_touched``
   (migration 0018's triggers).
2. **Their components**: from those identifiers, walk the evidence that joins
   identifiers (identify events, contact keys, manual merges, a bare CRM id and
   its prefixed keys) until nothing new is reached, reading each identifier's
   evidence through indexes. Every identifier outside the walk keeps its
   group, its group's evidence and its emails' first signs (any change to
   them names one of its identifiers, which the walk would have reached), so
   its stored contact stays right. An edge that went away (a contact key's
   email changed, an unmerge) names both its ends, so each part of the split
   group is reached.
3. **Their devices**: devices whose links changed or that link to a reached
   identifier get their spans resolved again from all their links; a link to an
   identifier outside the walk takes its stored contact.
4. Write the differences (``writes.py``), first-seen times of the contacts
   involved and of devices with new events, and the usual dirty marks for
   sessions and touches.

Resolution is the same pure code as the full stitch (``resolve.py``) on the
same rows (``evidence.py``), so the result equals a stitch from nothing:
``tests/core/test_component_stitch.py`` checks it on random evidence. Deleted
events (an erase), an upgraded workspace, a change too large or a walk too far
give way to the full stitch.
"""

from __future__ import annotations

from collections import defaultdict
from functools import partial

from ..schema.m0018_identity_changes import OBJECTS
from .evidence import (IDENTITY_COLUMNS, IDENTITY_TYPES, SERVER_LINKS_SQL, USER_LINKS_SQL,
                       add_identity_row, alias_previous, key_node)
from .identifiers import USER_DEVICE, email_node, user_device, user_id_node
from .resolve import DeviceLink, Evidence, resolve_devices, resolve_people
from .writes import (SEGMENT_COLUMNS, contact_ids, done, in_chunks, write_canonical, write_device_flags,
                     write_first_seen, write_nodes, write_segments)

# More new events than this and the full stitch, which reads them all in one pass anyway, is as quick.
FULL_AFTER_EVENTS = 200_000
# A walk that reaches more identifiers than this gives way to the full stitch.
FULL_AFTER_NODES = 50_000
# migration 0018's indexes: a prefixed CRM id's bare key; a userId that is an email, lower-cased.
BARE_KEY_SQL = "substr(node, instr(substr(node, 5), ':') + 5)"
USER_EMAIL_SQL = "instr(user_id, '@') > 0 AND lower(replace(user_id, char(8490), 'k'))"


# (The partial index of identity rows serves only a query that repeats its condition.)
ALIASES = f"WHERE type IN {IDENTITY_TYPES} AND type = 'alias'"


def _any_alias(conn) -> bool:
    return conn.execute(f"SELECT 1 FROM events {ALIASES} LIMIT 1").fetchone() is not None


def _bare(node: str) -> str | None:
    """The bare key a CRM id node pairs on ('cid:123' and 'cid:ac:123': '123'); None when it cannot pair."""
    key = node[4:]
    if ":" not in key:
        return key
    rest = key.partition(":")[2]
    return None if ":" in rest else rest


def _merge_into(ev: Evidence, other: Evidence) -> None:
    ev.nodes |= other.nodes
    ev.links += other.links
    ev.same_person += other.same_person
    for node, ts in other.first_seen.items():
        if ts < ev.first_seen.get(node, "~"):
            ev.first_seen[node] = ts


class Changes:
    """What arrived since the last stitch: identifiers to start from, devices whose links changed,
    and devices with any new event (their first sign of life may be earlier now)."""

    def __init__(self, conn, upto: int):
        self.seeds: set[str] = {n for (n,) in conn.execute("SELECT node FROM identity_touched")}
        self.devices: set[str] = set()
        self.visited: set[str] = set()
        found = Evidence()
        previous_of = partial(alias_previous, conn)
        for row in conn.execute(f"SELECT {IDENTITY_COLUMNS} FROM events WHERE id > ?", (upto,)):
            etype, aid, uid = row[2], row[3], row[4]
            if aid is not None:
                self.visited.add(aid)
            if etype == "identify" or etype == "alias":
                add_identity_row(found, row, previous_of)
            elif uid is not None:
                self.seeds.add(user_id_node(uid))
                if aid is not None:
                    self.devices.add(aid)
                elif etype in ("page", "screen"):
                    self.devices.add(user_device(uid))
        self.seeds |= found.nodes
        self.devices |= {link.anonymous_id for link in found.links}


class Walk:
    """The evidence of every identifier connected to the seeds, read identifier by identifier."""

    def __init__(self, conn, seeds: set[str]):
        self.conn = conn
        self.seeds = seeds
        self.ev = Evidence()
        self.devices: set[str] = set()  # devices linked to a reached identifier
        self.read_events: set[int] = set()
        self.previous_of = partial(alias_previous, conn)
        merges: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for a, b in conn.execute("SELECT email_a, email_b FROM manual_merges"):
            pair = (email_node(a), email_node(b))
            merges[pair[0]].append(pair)
            merges[pair[1]].append(pair)
        self.merges = merges
        self._aliases: dict[str, list[tuple]] | None = None

    def reach(self) -> set[str] | None:
        """Every identifier connected to the seeds; None when the walk goes too far, or to an
        address SQLite cannot lower-case (it folds ASCII only: 0018's userId index misses those)."""
        reached: set[str] = set()
        frontier = set(self.seeds)
        while frontier:
            reached |= frontier
            if len(reached) > FULL_AFTER_NODES or not all(n.isascii() for n in frontier if n.startswith("email:")):
                return None
            frontier = self._read(frontier) - reached
        return reached

    def _identity_rows(self, rows) -> set[str]:
        mentioned: set[str] = set()
        for row in rows:
            if row[0] in self.read_events:
                continue
            self.read_events.add(row[0])
            one = Evidence()
            add_identity_row(one, row, self.previous_of)
            _merge_into(self.ev, one)
            mentioned |= one.nodes
            self.devices.update(link.anonymous_id for link in one.links)
        return mentioned

    def aliases_by_previous(self) -> dict[str, list[tuple]]:
        """Alias rows by their previousId (kept only in the raw event, so read once, all of them)."""
        if self._aliases is None:
            self._aliases = defaultdict(list)
            for row in self.conn.execute(f"SELECT {IDENTITY_COLUMNS} FROM events {ALIASES}"):
                previous = self.previous_of(row[0])
                if previous is not None:
                    self._aliases[previous].append(row)
        return self._aliases

    def _read(self, frontier: set[str]) -> set[str]:
        """Read the frontier's evidence into ``ev``; returns every identifier it mentions."""
        conn, ev = self.conn, self.ev
        by_kind: dict[str, list[str]] = defaultdict(list)
        for node in frontier:
            by_kind[node.split(":", 1)[0]].append(node.split(":", 1)[1] if ":" in node else node)
        emails, cids, users = by_kind["email"], by_kind["cid"], by_kind["user"]
        # Identify and alias rows naming them (+type: found by the identifier's index, not by type).
        rows = f"SELECT {IDENTITY_COLUMNS} FROM events WHERE +type IN {IDENTITY_TYPES} AND "
        mentioned = self._identity_rows(in_chunks(conn, rows + "email IN ({marks})", emails))
        mentioned |= self._identity_rows(in_chunks(conn, rows + "contact_key IN ({marks})", cids))
        mentioned |= self._identity_rows(in_chunks(conn, rows + "user_id IN ({marks})", users))
        if users and _any_alias(conn):
            aliases = self.aliases_by_previous()
            mentioned |= self._identity_rows(row for u in users for row in aliases.get(u, ()))
        self._user_links(emails, [u for u in users if "@" not in u])
        # Contact keys, by the email they name and by their own key.
        keyed = [r for r in in_chunks(conn, "SELECT key, kind, email FROM contact_keys WHERE key IN ({marks})",
                                      cids + by_kind["cus"] + users) if key_node(r[0], r[1]) in frontier]
        for key, kind, email in keyed + list(in_chunks(
                conn, "SELECT key, kind, email FROM contact_keys WHERE email IN ({marks})", emails)):
            node = key_node(key, kind)
            ev.nodes.add(node)
            mentioned.add(node)
            if email:
                ev.same_person.append((node, email_node(email)))
                mentioned.add(email_node(email))
        self._email_facts(emails)
        ev.nodes.update(n for (n,) in in_chunks(
            conn, "SELECT DISTINCT identifier FROM tags WHERE identifier IN ({marks})", frontier))
        for node in frontier:
            for pair in self.merges.get(node, ()):
                if pair not in ev.manual:
                    ev.manual.append(pair)
                mentioned.update(pair)
        return mentioned | self._families(cids)

    def _user_links(self, emails: list[str], users: list[str]) -> None:
        """userIds on other events and server-side page views: links to these emails and user ids, no joins."""
        ev = self.ev
        for index, where, values in (("events_user", "user_id IN ({marks})", users),
                                     ("events_user_email", USER_EMAIL_SQL + " IN ({marks})", emails)):
            indexed = f" INDEXED BY {index}"
            for aid, uid, ts, eid, mid in in_chunks(
                    self.conn, USER_LINKS_SQL.format(indexed=indexed, where=where), values):
                ev.links.append(DeviceLink(aid, user_id_node(uid), ts, "manual", eid, mid))
                ev.nodes.add(user_id_node(uid))
                self.devices.add(aid)
            for uid, ts, eid, mid in in_chunks(
                    self.conn, SERVER_LINKS_SQL.format(indexed=indexed, where=where), values):
                ev.links.append(DeviceLink(user_device(uid), user_id_node(uid), ts, "server", eid, mid))
                ev.nodes.add(user_id_node(uid))
                self.devices.add(user_device(uid))

    def _email_facts(self, emails: list[str]) -> None:
        """Contacts, orders and subscriptions: an email is a node, and dated by the first of them."""
        conn, ev = self.conn, self.ev
        listed = set()
        for email, created in [*in_chunks(conn, "SELECT email, created_at FROM contacts WHERE email IN ({marks})",
                                          emails),
                               *in_chunks(conn, "SELECT email, min(created_at) FROM orders WHERE email IN ({marks}) "
                                          "GROUP BY email", emails)]:
            node = email_node(email)
            listed.add(email)
            ev.nodes.add(node)
            if created and created < ev.first_seen.get(node, "~"):
                ev.first_seen[node] = created
        others = [e for e in emails if e not in listed]  # (subscriptions have no email index: only these)
        ev.nodes.update(email_node(e) for (e,) in in_chunks(
            conn, "SELECT DISTINCT email FROM subscriptions WHERE email IN ({marks})", others))

    def _families(self, cids: list[str]) -> set[str]:
        """Every CRM id node that shares a bare key with these (stored ones and new ones), where a bare
        node exists: whether a bare id pairs depends on how many prefixed keys share it."""
        bares = {b for k in cids if (b := _bare("cid:" + k)) is not None}
        if not bares:
            return set()
        seeded = defaultdict(set)
        for node in self.seeds:
            if node.startswith("cid:") and (b := _bare(node)) in bares:
                seeded[b].add(node)
        stored = {n for (n,) in in_chunks(self.conn, "SELECT node FROM identity_nodes WHERE node IN ({marks})",
                                          ("cid:" + b for b in bares))}
        paired = {b for b in bares if "cid:" + b in stored or "cid:" + b in seeded[b]}
        found = set().union(*(seeded[b] for b in paired)) | {"cid:" + b for b in paired}
        found.update(n for (n,) in in_chunks(
            self.conn, f"SELECT node FROM identity_nodes WHERE node LIKE 'cid:%:%' AND {BARE_KEY_SQL} IN ({{marks}})",
            paired))
        return found


def _device_links(conn, walk: Walk, devices: set[str]) -> list[DeviceLink]:
    """Every link of these devices, as the full gather reads them."""
    found = Evidence()
    real = [d for d in devices if not d.startswith(USER_DEVICE)]
    for row in in_chunks(conn, f"SELECT {IDENTITY_COLUMNS} FROM events INDEXED BY events_identity "
                               f"WHERE type IN {IDENTITY_TYPES} AND anonymous_id IN ({{marks}})", real):
        add_identity_row(found, row, walk.previous_of)
    if _any_alias(conn):
        aliases = walk.aliases_by_previous()
        for d in real:
            for row in aliases.get(d, ()):
                if row[3] is None:  # (an alias with an anonymousId links that device, read above)
                    add_identity_row(found, row, walk.previous_of)
    links = [link for link in found.links if link.anonymous_id in devices]
    for aid, uid, ts, eid, mid in in_chunks(
            conn, USER_LINKS_SQL.format(indexed=" INDEXED BY events_device_ts",
                                        where="anonymous_id IN ({marks}) AND user_id IS NOT NULL"), real):
        links.append(DeviceLink(aid, user_id_node(uid), ts, "manual", eid, mid))
    users = [d[len(USER_DEVICE):] for d in devices if d.startswith(USER_DEVICE)]
    for uid, ts, eid, mid in in_chunks(
            conn, SERVER_LINKS_SQL.format(indexed=" INDEXED BY events_user", where="user_id IN ({marks})"), users):
        links.append(DeviceLink(user_device(uid), user_id_node(uid), ts, "server", eid, mid))
    return links


def stitch_changes(conn, upto: int, top: int, evidence: bool) -> tuple[set[int], set[str]] | None:
    """Stitch what arrived since event ``upto``; returns the contacts and devices changed, or None
    when the full stitch should run instead. ``evidence``: identity evidence changed (the dirty flag)."""
    if top - upto > FULL_AFTER_EVENTS or not _change_log_intact(conn):
        return None
    changes = Changes(conn, upto)
    if not evidence:
        # Page views only: no identifier or link changed, but a device's first event can be earlier.
        with conn:
            touched = write_first_seen(conn, _first_span_contacts(conn, changes.visited))
            write_device_flags(conn, changes.visited)
            done(conn, top)
        return touched, set()
    if len(changes.seeds) > FULL_AFTER_NODES:
        return None
    walk = Walk(conn, changes.seeds)
    reached = walk.reach()
    return None if reached is None else _write(conn, walk, reached, changes, top)


def _change_log_intact(conn) -> bool:
    """Migration 0018's triggers and indexes are all there (a table rebuilt since would drop them)."""
    marks = ",".join("?" * len(OBJECTS))
    return conn.execute(f"SELECT count(*) FROM sqlite_master WHERE name IN ({marks})", OBJECTS).fetchone()[0] == len(
        OBJECTS)


def _first_span_contacts(conn, devices: set[str]) -> set[int]:
    return {c for (c,) in in_chunks(
        conn, "SELECT contact_id FROM device_segments WHERE anonymous_id IN ({marks}) AND start_ts = ''", devices)}


def _write(conn, walk: Walk, reached: set[str], changes: Changes, top: int) -> tuple[set[int], set[str]] | None:
    canonical, via = resolve_people(walk.ev)
    stored = {n: (c, v) for n, c, v in in_chunks(
        conn, "SELECT node, contact_id, via_merge FROM identity_nodes WHERE node IN ({marks})", reached)}
    devices = changes.devices | walk.devices
    links = _device_links(conn, walk, devices)
    outside = {link.node for link in links} - canonical.keys()
    known = {n: (c, v) for n, c, v in in_chunks(
        conn, "SELECT node, contact_id, via_merge FROM identity_nodes WHERE node IN ({marks})", outside)}
    if len(known) < len(outside):
        return None  # a link to an identifier never stitched: the stored state is not what this builds on
    with conn:
        if not conn.in_transaction:
            conn.execute("BEGIN")  # now, so the scratch table comes and goes inside it
        ids = contact_ids(conn, (n for n in canonical if n.startswith("email:")), everyone=False)
        new_nodes = {n: (ids[c] if c else None) for n, c in canonical.items()}
        canon = {ids[n]: c for n, c in new_nodes.items() if n.startswith("email:")}
        touched = write_canonical(conn, canon, dict(in_chunks(
            conn, "SELECT id, canonical_id FROM contacts WHERE id IN ({marks})", canon)))
        touched |= write_nodes(conn, new_nodes, via, {n: c for n, (c, _) in stored.items()},
                               {n for n, (_, v) in stored.items() if v})
        # Each device's links to contacts, with the contact ids of this resolution or the stored ones.
        contact_of = {**{n: c for n, (c, _) in known.items()}, **new_nodes}
        merged = via | {n for n, (_, v) in known.items() if v}
        segments, counts = resolve_devices(links, contact_of, merged)
        new = sorted((s.anonymous_id, s.start_ts, s.end_ts, s.contact, s.linked_by, s.linked_at, s.event_id)
                     for s in segments)
        old = sorted(in_chunks(conn, f"SELECT {SEGMENT_COLUMNS} FROM device_segments WHERE anonymous_id IN ({{marks}})",
                               devices))
        changed_devices, seg_contacts = write_segments(conn, new, old, counts)
        touched |= seg_contacts
        involved = (touched | {c for c in new_nodes.values() if c} | {c for c, _ in stored.values() if c}
                    | _first_span_contacts(conn, changes.visited))
        touched |= write_first_seen(conn, involved)
        write_device_flags(conn, changes.visited)
        done(conn, top)
    return touched, changed_devices
