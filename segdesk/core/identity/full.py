"""The full stitch: all evidence resolved again, in two passes so that it is never all held at once.

Held whole, the evidence of 10M events cost most of the 1 GiB the issue allows: each
identify link is six Python objects (its device, node, time, messageId, event id and the
tuple), about 500 bytes. But a device link joins no identifiers: who is who is decided
without them, and a device's spans need only its own links and each node's contact. So:

1. **People**: every identifier and what joins them (identify and alias rows, contact keys,
   contacts, orders, subscriptions, tags, manual merges), without the links, resolved
   (``resolve.resolve_people``) and written; each node's contact id is all that is kept.
2. **Devices**: the links read again in device order (the identify rows straight from
   their covering index, already in that order), each device's spans resolved from its own
   links (``resolve.device_spans``), compared with its stored spans and written a batch of
   devices at a time. One device's links and one batch's rows are held, never all of them.

Both passes read the rows the component stitch reads (``evidence.py``) and resolve them
with the same pure code; ``tests/core/test_component_stitch.py`` holds the two stitches equal.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import partial
from heapq import merge
from itertools import chain, groupby
from operator import attrgetter

from .evidence import (IDENTITY_COLUMNS, IDENTITY_TYPES, SERVER_LINKS_SQL, USER_LINKS_SQL, add_identity_row,
                       alias_previous, key_node)
from .identifiers import email_node, user_device, user_id_node
from .resolve import DeviceLink, Evidence, Segment, device_spans, resolve_people
from .writes import (SEGMENT_COLUMNS, changed_devices, contact_ids, done, write_all_nodes, write_canonical,
                     write_device_flags, write_first_seen, write_segments)

# The people pass orders no links, so it needs no messageId: NULL spares decoding one a row.
PEOPLE_COLUMNS = IDENTITY_COLUMNS.replace("message_text(message_id)", "NULL")
# Spans compared and written at a time: the stored ones of the same devices are read beside them.
BATCH_ROWS = 10_000
ALIAS_ROWS = f"SELECT {IDENTITY_COLUMNS} FROM events WHERE type IN {IDENTITY_TYPES} AND type = 'alias'"
# (type repeated: the partial index serves only a query that names its condition.)
IDENTIFY_ROWS_BY_DEVICE = (f"SELECT {IDENTITY_COLUMNS} FROM events WHERE type IN {IDENTITY_TYPES} "
                           "AND type = 'identify' AND anonymous_id IS NOT NULL ORDER BY anonymous_id")


def _earlier(first_seen: dict[str, str], node: str, ts: str | None) -> None:
    if ts and (node not in first_seen or ts < first_seen[node]):
        first_seen[node] = ts


def gather_people(conn) -> Evidence:
    """Every identifier, what joins them and each email's first sign: all the evidence but the links."""
    ev = Evidence(links=None)
    first = ev.first_seen
    nodes_add = ev.nodes.add
    previous_of = partial(alias_previous, conn)
    for row in conn.execute(f"SELECT {PEOPLE_COLUMNS} FROM events WHERE type IN {IDENTITY_TYPES}"):
        add_identity_row(ev, row, previous_of)
    # A userId on other events, and server-side page views: their nodes (the links come in pass 2).
    for row in conn.execute(USER_LINKS_SQL.format(indexed="", where="user_id IS NOT NULL")):
        nodes_add(user_id_node(row[1]))
    for row in conn.execute(SERVER_LINKS_SQL.format(indexed="", where="user_id IS NOT NULL")):
        nodes_add(user_id_node(row[0]))
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


def _identify_links(conn, previous_of) -> Iterator[DeviceLink]:
    sink = Evidence()  # (its nodes and first signs, pass 1's business, are dropped now and then)
    for row in conn.execute(IDENTIFY_ROWS_BY_DEVICE):
        add_identity_row(sink, row, previous_of)
        if sink.links:
            yield from sink.links
            sink.links.clear()
        if len(sink.nodes) > 1000:
            sink.nodes.clear()
            sink.first_seen.clear()
            sink.same_person.clear()


def _alias_links(conn, previous_of) -> list[DeviceLink]:
    # Few, and an alias without an anonymousId links its previousId's device: sorted here.
    sink = Evidence()
    for row in conn.execute(ALIAS_ROWS):
        add_identity_row(sink, row, previous_of)
    return sorted(sink.links, key=attrgetter("anonymous_id"))


def _user_links(conn) -> Iterator[DeviceLink]:
    for aid, uid, ts, eid, mid in conn.execute(
            USER_LINKS_SQL.format(indexed="", where="user_id IS NOT NULL") + " ORDER BY anonymous_id"):
        yield DeviceLink(aid, user_id_node(uid), ts, "manual", eid, mid)


def _server_links(conn) -> Iterator[DeviceLink]:
    # In user_id order, which is the order of their pseudo devices ('userId:' + user_id).
    for uid, ts, eid, mid in conn.execute(
            SERVER_LINKS_SQL.format(indexed="", where="user_id IS NOT NULL") + " ORDER BY user_id"):
        yield DeviceLink(user_device(uid), user_id_node(uid), ts, "server", eid, mid)


def links_by_device(conn) -> Iterator[tuple[str, Iterator[DeviceLink]]]:
    """Every device link the full gather reads, device by device in anonymous_id order
    (SQLite's text order, code point by code point, is Python's)."""
    previous_of = partial(alias_previous, conn)
    streams = (_identify_links(conn, previous_of), _alias_links(conn, previous_of), _user_links(conn),
               _server_links(conn))
    return groupby(merge(*streams, key=attrgetter("anonymous_id")), attrgetter("anonymous_id"))


def device_rows(devices: Iterable[tuple[str, Iterable[DeviceLink]]], contact_of: dict[str, int | None],
                via_merge: set[str]) -> Iterator[tuple[list[Segment], int]]:
    """Each device's spans (rows of ``SEGMENT_COLUMNS``) and its number of contacts; links to
    waiting identifiers are left out, and a device with no other link has no spans."""
    for aid, links in devices:
        known = [link for link in links if contact_of.get(link.node) is not None]
        if known:
            spans = device_spans(aid, known, contact_of, via_merge)
            yield spans, len({s.contact for s in spans})


def _compare_and_write(conn, batch: list[Segment], counts: dict[str, int], low: str | None,
                       high: str | None) -> tuple[set[str], set[int]]:
    """The batch's devices against the stored ones after ``low`` up to ``high`` (None: no bound).
    The stored rows are read to the end before anything is written."""
    bounds = [(f"anonymous_id {op} ?", v) for op, v in ((">", low), ("<=", high)) if v is not None]
    where = ("WHERE " + " AND ".join(b for b, _ in bounds)) if bounds else ""
    stored = conn.execute(f"SELECT {SEGMENT_COLUMNS} FROM device_segments {where} ORDER BY anonymous_id, start_ts",
                          [v for _, v in bounds])
    fresh, stale = changed_devices(batch, stored)
    if not fresh and not stale:
        return set(), set()
    return write_segments(conn, fresh, stale, counts)


def write_devices(conn, devices: Iterable[tuple[list[Segment], int]]) -> tuple[set[str], set[int], int]:
    """device_segments and device flags as resolved, a batch of devices at a time, in key order;
    returns the changed devices, their contacts before and after, and the number of shared devices."""
    changed: set[str] = set()
    contacts: set[int] = set()
    shared = 0
    batch: list[Segment] = []
    counts: dict[str, int] = {}
    low = None
    for spans, n in devices:
        batch += spans
        aid = spans[0].anonymous_id
        counts[aid] = n
        shared += n >= 3
        if len(batch) >= BATCH_ROWS:
            c, k = _compare_and_write(conn, batch, counts, low, aid)
            changed |= c
            contacts |= k
            batch, counts, low = [], {}, aid
    # The last batch, and every stored device after it (those no longer linked go).
    c, k = _compare_and_write(conn, batch, counts, low, None)
    return changed | c, contacts | k, shared


def _write_people(conn, canonical: dict[str, str | None], via_merge: set[str], result) -> tuple[dict, set[int]]:
    """Contacts' canonical ids and identity_nodes as resolved; returns each node's contact id
    (``canonical``, emptied on the way, is not needed after) and the contacts touched."""
    ids = contact_ids(conn, (n for n in canonical if n.startswith("email:")), everyone=True)
    canon = {ids[n]: (ids[c] if c else None) for n, c in canonical.items() if n.startswith("email:")}
    touched = write_canonical(conn, canon, dict(conn.execute("SELECT id, canonical_id FROM contacts")))
    result.contacts = len({c for c in canon.values() if c})
    del canon
    result.waiting = sum(1 for n, c in canonical.items() if c is None and n.startswith("cid:"))
    contact_of = {n: (ids[c] if c else None) for n, c in canonical.items()}
    del ids
    canonical.clear()
    touched |= write_all_nodes(conn, contact_of, via_merge)
    return contact_of, touched


def full_stitch(conn, result, progress, upto: int | None, top: int) -> None:
    """Resolve every identity again from all evidence and write what changed into ``result``."""
    canonical, via_merge = resolve_people(gather_people(conn))  # the evidence goes as this returns
    if progress:
        progress.update("Stitching identities", 0.4)
    with conn:
        if not conn.in_transaction:
            conn.execute("BEGIN")  # now, so the scratch table comes and goes inside it
        contact_of, touched = _write_people(conn, canonical, via_merge, result)
        del canonical
        if progress:
            progress.update("Stitching identities", 0.5)
        devices, seg_contacts, result.shared_devices = write_devices(
            conn, device_rows(links_by_device(conn), contact_of, via_merge))
        del contact_of
        touched |= seg_contacts
        touched |= write_first_seen(conn)
        write_device_flags(conn, None if upto is None else (
            a for (a,) in conn.execute("SELECT DISTINCT anonymous_id FROM events WHERE id > ?", (upto,)) if a))
        done(conn, top)
    result.changed_contacts = touched
    result.changed_devices = devices
