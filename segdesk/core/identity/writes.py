"""The stitch's writes: derived identity rows compared with what is stored, and only the differences written.

Each writer takes the new rows and the stored rows they replace: the full stitch
passes whole tables, the component stitch (``component.py``) the rows of the
identifiers, devices and contacts it re-resolved. Anything outside that scope
is left as it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import chain, groupby, islice
from operator import itemgetter

from .identifiers import email_node

SCRATCH_ROWS = 10_000
IN_CHUNK = 500
SEGMENT_COLUMNS = "anonymous_id, start_ts, end_ts, contact_id, linked_by, linked_at, evidence_event_id"


def in_chunks(conn, sql: str, values: Iterable, *args) -> Iterator[tuple]:
    """Rows of ``sql``, whose ``{marks}`` is filled with a chunk of ``values`` at a time (then ``args``)."""
    for chunk in _chunks(sorted(set(values))):
        yield from conn.execute(sql.format(marks=",".join("?" * len(chunk))), (*chunk, *args))


def set_based(conn, columns: str, rows: Iterable[tuple], statement: str) -> None:
    """Run ``statement``, which reads the TEMP table ``{rows}`` (of ``columns``), over the rows, a chunk at a time.

    Row by row, each statement on a table with triggers opens a statement journal
    of its own: a third of the write time of a full re-stitch at 1M events. One
    INSERT ... SELECT or UPDATE ... FROM per chunk opens one per chunk, and the
    triggers still fire for every row. Chunks keep the table, which lives in memory, small.
    Each set of columns has a table of its own, emptied after each chunk and dropped by
    :func:`done`: SQLite refuses to drop a table while another statement is still reading,
    as the full stitch's reads of the events are while it writes spans (``full.py``).
    """
    table = "temp.stitch_" + "_".join(c.strip() for c in columns.split(","))
    conn.execute(f"CREATE TEMP TABLE IF NOT EXISTS {table.removeprefix('temp.')} ({columns})")
    insert = f"INSERT INTO {table} VALUES ({', '.join('?' * (columns.count(',') + 1))})"
    statement = statement.format(rows=table)
    rows = iter(rows)
    while chunk := list(islice(rows, SCRATCH_ROWS)):
        conn.executemany(insert, chunk)
        conn.execute(statement)
        conn.execute(f"DELETE FROM {table}")


def _drop_scratch(conn) -> None:
    for (name,) in conn.execute("SELECT name FROM sqlite_temp_master WHERE type = 'table' AND name LIKE 'stitch\\_%' "
                                "ESCAPE '\\'").fetchall():
        conn.execute(f"DROP TABLE temp.{name}")


def contact_ids(conn, email_nodes: Iterable[str], everyone: bool) -> dict[str, int]:
    """Every email node gets a contacts row; returns email node -> contact id (of every
    contact when ``everyone``, else of these nodes)."""
    if everyone:
        ids = {email_node(e): cid for cid, e in conn.execute("SELECT id, email FROM contacts")}
    else:
        email_nodes = set(email_nodes)
        ids = {email_node(e): cid for cid, e in in_chunks(
            conn, "SELECT id, email FROM contacts WHERE email IN ({marks})", (n[6:] for n in email_nodes))}
    # Sorted, so new contacts get their ids in the same order whatever the hash seed.
    for node in sorted(n for n in email_nodes if n not in ids):
        ids[node] = conn.execute("INSERT INTO contacts(email) VALUES (?)", (node[6:],)).lastrowid
    return ids


def write_canonical(conn, canon: dict[int, int | None], old: dict[int, int | None]) -> set[int]:
    """Each contact's canonical_id (``old``: the stored ones of the same contacts); returns the contacts touched."""
    moved = sorted(canon.items() - old.items())
    set_based(conn, "id, canonical_id", moved,
              "UPDATE contacts SET canonical_id = m.canonical_id FROM {rows} m WHERE contacts.id = m.id")
    return {cid for cid, _ in moved} | {c for _, c in moved if c} | {old[cid] for cid, _ in moved if old.get(cid)}


def write_nodes(conn, new: dict[str, int | None], via: set[str],
                old: dict[str, int | None], old_via: set[str]) -> set[int]:
    """identity_nodes as resolved; ``old`` holds the stored rows in scope, and those missing from
    ``new`` go. Returns the contacts of the rows that changed, before and after."""
    if new == old and via == old_via:
        return set()  # the usual re-stitch, found out by two comparisons in C
    changed = [n for n, c in new.items() if n not in old or old[n] != c or (n in via) != (n in old_via)]
    gone = [n for n in old if n not in new]
    before = {old[n] for n in changed if old.get(n)} | {old[n] for n in gone if old[n]}
    return _store_nodes(conn, new, via, changed, gone, before)


def write_all_nodes(conn, new: dict[str, int | None], via: set[str]) -> set[int]:
    """The whole of identity_nodes as resolved (the full stitch), compared with the stored rows a
    chunk at a time: at 10M events a dict of every stored row would cost about as much as ``new``."""
    changed, gone, before = set(), [], set()
    items, stored = new.items(), 0
    rows = conn.execute("SELECT node, contact_id FROM identity_nodes")
    while chunk := rows.fetchmany(SCRATCH_ROWS):
        stored += len(chunk)
        if dict(chunk).items() <= items:
            continue  # the usual chunk, every row as resolved: checked in C
        for node, contact in chunk:
            if node not in new:
                gone.append(node)
            elif new[node] != contact:
                changed.add(node)
            else:
                continue
            if contact:
                before.add(contact)
    old_via = {n for (n,) in conn.execute("SELECT node FROM identity_nodes WHERE via_merge = 1")}
    changed.update(n for n in via.symmetric_difference(old_via) if n in new)
    if stored - len(gone) < len(new):  # the table lacks some nodes: find which
        unseen = set(new)
        unseen.difference_update(map(itemgetter(0), conn.execute("SELECT node FROM identity_nodes")))
        changed |= unseen
    if not changed and not gone:
        return set()
    return _store_nodes(conn, new, via, list(changed), gone, before)


def _store_nodes(conn, new: dict[str, int | None], via: set[str], changed: list[str], gone: list[str],
                 before: set[int]) -> set[int]:
    """Write the changed and the gone nodes; returns their contacts (``before``: the stored ones)."""
    # In key order, SQLite appends to the B-tree instead of inserting all over it.
    changed.sort()
    # (WHERE true: without it SQLite would read ON CONFLICT as a join's ON.)
    set_based(conn, "node, contact_id, via_merge", ((n, new[n], 1 if n in via else 0) for n in changed),
              "INSERT INTO identity_nodes(node, contact_id, via_merge) "
              "SELECT node, contact_id, via_merge FROM {rows} WHERE true "
              "ON CONFLICT(node) DO UPDATE SET contact_id = excluded.contact_id, via_merge = excluded.via_merge")
    conn.executemany("DELETE FROM identity_nodes WHERE node = ?", ((n,) for n in gone))
    return {new[n] for n in changed if new[n]} | before


def changed_devices(new: list[tuple], stored) -> tuple[list[tuple], list[tuple]]:
    """The rows of the devices whose spans differ: ``new`` (sorted rows of ``SEGMENT_COLUMNS``)
    against ``stored``, a cursor over the stored rows in the same order. The full stitch compares
    all of device_segments this way instead of holding every stored row at once (about 500 bytes
    a span in Python): equal chunks are compared in C, the rest device by device."""
    pos = 0
    while chunk := stored.fetchmany(SCRATCH_ROWS):
        if new[pos:pos + len(chunk)] != chunk:
            break
        pos += len(chunk)
    if pos == len(new) and not chunk:
        return [], []
    # The last device compared may go on past the chunks found equal: start again from its first row.
    start = pos
    while start and new[start - 1][0] == new[pos - 1][0]:
        start -= 1
    return _device_by_device(new[start:], chain(new[start:pos], chunk, stored))


def _device_by_device(new: Iterable[tuple], old: Iterable[tuple]) -> tuple[list[tuple], list[tuple]]:
    fresh: list[tuple] = []
    stale: list[tuple] = []
    new_devices, old_devices = _by_device(new), _by_device(old)
    n, o = next(new_devices, None), next(old_devices, None)
    while n is not None or o is not None:
        if o is None or (n is not None and n[0] < o[0]):
            fresh.extend(n[1])
            n = next(new_devices, None)
        elif n is None or o[0] < n[0]:
            stale.extend(o[1])
            o = next(old_devices, None)
        else:
            if n[1] != o[1]:
                fresh.extend(n[1])
                stale.extend(o[1])
            n, o = next(new_devices, None), next(old_devices, None)
    return fresh, stale


def _by_device(rows: Iterable[tuple]) -> Iterator[tuple[str, list[tuple]]]:
    for aid, spans in groupby(rows, itemgetter(0)):
        yield aid, list(spans)


def write_segments(conn, new: list[tuple], old: list[tuple], counts: dict[str, int]) -> tuple[set[str], set[int]]:
    """device_segments and device flags as resolved. ``new`` and ``old`` (the stored spans of the
    same devices) are sorted rows of ``SEGMENT_COLUMNS``; ``counts``: contacts per device.
    Returns the changed devices and their contacts, before and after."""
    if new == old:
        return set(), set()
    fresh, stale = set(new).difference(old), set(old).difference(new)
    changed = {r[0] for r in fresh} | {r[0] for r in stale}
    new = [r for r in new if r[0] in changed]
    old = [r for r in old if r[0] in changed]
    # A changed device's spans are replaced whole: the triggers then mark every contact
    # it had or has in first_touch_dirty, the same contacts this returns.
    set_based(conn, "anonymous_id", ((a,) for a in sorted({r[0] for r in old})),
              "DELETE FROM device_segments WHERE anonymous_id IN (SELECT anonymous_id FROM {rows})")
    set_based(conn, SEGMENT_COLUMNS, new,
              f"INSERT INTO device_segments({SEGMENT_COLUMNS}) SELECT {SEGMENT_COLUMNS} FROM {{rows}}")
    _mark_handovers(conn, old, new)
    flags = ((aid, counts.get(aid, 0), 1 if counts.get(aid, 0) >= 3 else 0) for aid in sorted(changed))
    # Most flags stay as they were: a row left alone is cheaper than one rewritten.
    set_based(conn, "anonymous_id, contacts, shared", flags,
              "UPDATE devices SET contacts = f.contacts, shared = f.shared FROM {rows} f "
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
    "FROM device_segments s JOIN devices d ON d.anonymous_id = s.anonymous_id {where} GROUP BY s.contact_id",
    "SELECT c.canonical_id, min(o.created_at) FROM orders o JOIN contacts c ON c.email = o.email "
    "WHERE c.canonical_id IS NOT NULL {also} GROUP BY c.canonical_id",
    "SELECT canonical_id, min(created_at) FROM contacts WHERE canonical_id IS NOT NULL {also} GROUP BY canonical_id",
)
SCOPES = ("WHERE s.contact_id IN ({marks})", "AND c.canonical_id IN ({marks})", "AND canonical_id IN ({marks})")


def write_first_seen(conn, contacts: set[int] | None = None) -> set[int]:
    """Each canonical contact's earliest sign of life (of every contact, or of these), recomputed
    and written only where it changed."""
    first: dict[int, str] = {}
    if contacts is None:
        rows = (conn.execute(sql.format(where="", also="")) for sql in FIRST_SEEN_SOURCES)
        old = dict(conn.execute(
            "SELECT id, first_seen FROM contacts WHERE canonical_id = id OR first_seen IS NOT NULL"))
    else:
        rows = (in_chunks(conn, sql.format(where=scope, also=scope), contacts)
                for sql, scope in zip(FIRST_SEEN_SOURCES, SCOPES))
        old = {cid: t for cid, t, canonical in in_chunks(
            conn, "SELECT id, first_seen, canonical_id FROM contacts WHERE id IN ({marks})", contacts)
            if canonical == cid or t is not None}
    for source in rows:
        for cid, t in source:
            if t and (cid not in first or t < first[cid]):
                first[cid] = t
    updates = [(t, cid) for cid, t in first.items() if old.get(cid) != t]
    updates += [(None, cid) for cid, t in old.items() if t is not None and cid not in first]
    conn.executemany("UPDATE contacts SET first_seen = ? WHERE id = ?", updates)
    return {cid for _, cid in updates}


def done(conn, upto: int) -> None:
    """The evidence up to event ``upto`` and every logged change are stitched."""
    conn.execute("UPDATE identity_state SET dirty = 0, full = 0, events_upto = ?", (upto,))
    conn.execute("DELETE FROM identity_touched")
    _drop_scratch(conn)


FLAGS_SQL = ("UPDATE devices SET contacts = c.n, shared = c.n >= 3 FROM (SELECT anonymous_id, "
             "count(DISTINCT contact_id) AS n FROM device_segments {where} GROUP BY anonymous_id) c "
             "WHERE devices.anonymous_id = c.anonymous_id AND devices.contacts != c.n")


def write_device_flags(conn, devices: Iterable[str] | None) -> None:
    """Contacts and shared flags of these devices (None: all) from their stored spans: a device
    whose row came after its spans (an alias's previousId seen before its first event) gets them then."""
    if devices is None:
        conn.execute(FLAGS_SQL.format(where=""))
        return
    for chunk in _chunks(sorted(set(devices))):
        conn.execute(FLAGS_SQL.format(where=f"WHERE anonymous_id IN ({','.join('?' * len(chunk))})"), chunk)


def _chunks(values: list) -> Iterator[list]:
    for i in range(0, len(values), IN_CHUNK):
        yield values[i:i + IN_CHUNK]
