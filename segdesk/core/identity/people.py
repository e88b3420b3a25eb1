"""A person's corrections and rights: merge, unmerge, erase (the local part).

Merges are evidence like any other: a row in ``manual_merges`` that the stitch
reads, so an unmerge is just deleting that row and stitching again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ...errors import InvalidInput, NotFound
from .identifiers import USER_DEVICE, contact_key_node, email_node, normalise_email
from .stitch import KEY_NODE, StitchResult, stitch
from .suppression import active, suppress, suppressed_nodes
from ..store import Workspace
from ..timeutil import now_ts
from ..webhook_rows import erase_webhooks


def _known_email(conn, email: str) -> str:
    normal = normalise_email(email)
    if normal is None:
        raise InvalidInput(f"'{email}' is not an email address")
    if conn.execute("SELECT 1 FROM contacts WHERE email = ?", (normal,)).fetchone() is None:
        raise NotFound(f"no contact with email {normal}")
    return normal


def merge(ws: Workspace, email_a: str, email_b: str) -> StitchResult:
    a, b = sorted((_known_email(ws.conn, email_a), _known_email(ws.conn, email_b)))
    if a == b:
        raise InvalidInput("both emails are the same contact")
    with ws.conn:
        ws.conn.execute(
            "INSERT OR IGNORE INTO manual_merges(email_a, email_b, merged_at) VALUES (?, ?, ?)", (a, b, now_ts())
        )
    return stitch(ws)


def unmerge(ws: Workspace, email: str) -> StitchResult:
    """Undo every manual merge that names this email."""
    e = _known_email(ws.conn, email)
    with ws.conn:
        removed = ws.conn.execute(
            "DELETE FROM manual_merges WHERE email_a = ? OR email_b = ?", (e, e)
        ).rowcount
    if not removed:
        row = ws.conn.execute(
            "SELECT c.email FROM contacts c JOIN contacts me ON me.canonical_id = c.canonical_id "
            "WHERE me.email = ? AND c.email != ?", (e, e)
        ).fetchone()
        if row:
            raise InvalidInput(
                f"{e} was joined to {row[0]} by a shared contact or customer id, not by a manual merge"
            )
        raise InvalidInput(f"{e} was never merged")
    return stitch(ws)


@dataclass
class EraseResult:
    email: str
    events: int
    orders: int
    anonymous_ids: list[str]

    def as_dict(self) -> dict:
        return {"email": self.email, "events": self.events, "orders": self.orders,
                "anonymous_ids": self.anonymous_ids}


def erase(ws: Workspace, email: str) -> EraseResult:
    """Delete a person everywhere in the workspace: every email and id of the contact, their events and orders.

    A shared device loses only the spans credited to this person; the other
    people on it keep theirs.
    """
    conn = ws.conn
    e = _known_email(conn, email)
    cid = conn.execute("SELECT coalesce(canonical_id, id) FROM contacts WHERE email = ?", (e,)).fetchone()[0]
    emails = [r[0] for r in conn.execute("SELECT email FROM contacts WHERE canonical_id = ? OR id = ?", (cid, cid))]
    nodes = [r[0] for r in conn.execute("SELECT node FROM identity_nodes WHERE contact_id = ?", (cid,))]
    nodes = sorted(set(nodes) | {email_node(x) for x in emails})
    keys = [n.split(":", 1)[1] for n in nodes if not n.startswith("email:")]
    spans = conn.execute(
        "SELECT anonymous_id, start_ts, end_ts FROM device_segments WHERE contact_id = ?", (cid,)
    ).fetchall()
    events = orders = 0
    em = ",".join("?" * len(emails))
    # Devices whose events go, counted again below: the person's spans' devices, and any other
    # device an event of theirs names (a device whose identify the stitch has not read yet, say).
    touched = {aid for aid, _, _ in spans if not aid.startswith(USER_DEVICE)}
    with conn:
        for aid, start, end in spans:
            if aid.startswith(USER_DEVICE):  # server-side page views of a userId (an email, say)
                events += conn.execute("DELETE FROM events WHERE user_id = ? AND anonymous_id IS NULL",
                                       (aid[len(USER_DEVICE):],)).rowcount
                conn.execute("INSERT OR IGNORE INTO sessions_dirty(anonymous_id) VALUES (?)", (aid,))
                continue
            events += conn.execute(
                "DELETE FROM events WHERE anonymous_id = ? AND ts >= ? AND (? IS NULL OR ts < ?)",
                (aid, start, end, end),
            ).rowcount
        gone = _delete_events(conn, f"email IN ({em})", emails)
        if keys:
            km = ",".join("?" * len(keys))
            gone += _delete_events(conn, f"contact_key IN ({km}) OR user_id IN ({km})", (*keys, *keys))
            conn.execute(f"DELETE FROM contact_keys WHERE key IN ({km})", keys)
            orders += conn.execute(f"DELETE FROM orders WHERE customer_key IN ({km})", keys).rowcount
            conn.execute(f"DELETE FROM subscriptions WHERE customer_key IN ({km})", keys)
        conn.execute(
            f"DELETE FROM refunds WHERE EXISTS (SELECT 1 FROM orders o WHERE o.origin = refunds.origin "
            f"AND o.order_id = refunds.order_id AND o.email IN ({em}))", emails)
        orders += conn.execute(f"DELETE FROM orders WHERE email IN ({em})", emails).rowcount
        conn.execute(f"DELETE FROM subscriptions WHERE email IN ({em})", emails)
        conn.execute(f"DELETE FROM email_clicks WHERE email IN ({em})", emails)
        erase_webhooks(conn, emails)  # kept raw deliveries name the buyer too
        nm = ",".join("?" * len(nodes))
        conn.execute(f"DELETE FROM tags WHERE identifier IN ({nm})", nodes)
        conn.execute(f"DELETE FROM manual_merges WHERE email_a IN ({em}) OR email_b IN ({em})", (*emails, *emails))
        conn.execute(f"DELETE FROM identity_nodes WHERE node IN ({nm})", nodes)
        conn.execute("DELETE FROM device_segments WHERE contact_id = ?", (cid,))
        conn.execute(f"DELETE FROM contacts WHERE email IN ({em})", emails)
        # Kept as keyed hashes, so the next import or sync does not bring the person back.
        suppress(conn, nodes)
        events += len(gone)
        _recount_devices(conn, touched.union(aid for (aid,) in gone))
    stitch(ws)
    aids = sorted({aid for aid, _, _ in spans if not aid.startswith(USER_DEVICE)})
    return EraseResult(e, events, orders, aids)


def _delete_events(conn, where: str, params) -> list[tuple[str | None]]:
    """Delete the events matching ``where``; returns the anonymous id of each."""
    return conn.execute(f"DELETE FROM events WHERE {where} RETURNING anonymous_id", params).fetchall()


def _recount_devices(conn, aids: Iterable[str | None]) -> None:
    """Devices some of whose events were deleted: those with no event left go (a row made by an
    event the stitch has not read yet would otherwise keep flags no stitch looks at again),
    the others get their counts back."""
    for aid in sorted(a for a in set(aids) if a is not None):
        row = conn.execute("SELECT min(ts), max(ts), count(*) FROM events WHERE anonymous_id = ?", (aid,)).fetchone()
        if row[2] == 0:
            conn.execute("DELETE FROM devices WHERE anonymous_id = ?", (aid,))
        else:
            conn.execute("UPDATE devices SET first_seen = ?, last_seen = ?, events = ? WHERE anonymous_id = ?",
                         (*row, aid))


def enforce_suppressions(ws: Workspace, contacts: Iterable[int] | None = None) -> int:
    """Erase again whoever a suppressed identifier resolves to after a stitch (a CRM, payment,
    CSV or relay copy of an erased person), and the rows of suppressed ids that reach no
    contact (a payment under an erased customer id); returns rows deleted.

    ``contacts``: only these contacts can have changed (the stitch's news); None checks all.
    Nothing is hashed when the list is empty.
    """
    conn = ws.conn
    if not active(conn):
        return 0
    if contacts is None:
        nodes = [n for (n,) in conn.execute("SELECT node FROM identity_nodes WHERE contact_id IS NOT NULL")]
    else:
        ids = sorted(contacts)
        nodes = [n for i in range(0, len(ids), 500) for (n,) in conn.execute(
            f"SELECT node FROM identity_nodes WHERE contact_id IN ({','.join('?' * len(ids[i:i + 500]))})",
            ids[i:i + 500])]
    hits = suppressed_nodes(conn, nodes)
    marks = ",".join("?" * len(hits))
    emails = [e for (e,) in conn.execute(
        f"SELECT DISTINCT c.email FROM identity_nodes n JOIN contacts c ON c.id = n.contact_id "
        f"WHERE n.node IN ({marks}) ORDER BY c.email", hits)] if hits else []
    deleted = 0
    for email in emails:
        result = erase(ws, email)
        deleted += 1 + result.events + result.orders
    with conn:
        deleted += _purge_unowned(conn)
    return deleted


# Outside ids that reach no contact (no email known for them): candidate nodes, and the rows to
# delete for each suppressed one. Ids that reach a contact are handled by erasing that contact.
UNRESOLVED = "NOT EXISTS (SELECT 1 FROM identity_nodes n WHERE n.node = {node} AND n.contact_id IS NOT NULL)"
UNOWNED = tuple((f"SELECT DISTINCT {node} FROM {table} WHERE {column} IS NOT NULL AND "
                 + UNRESOLVED.format(node=node), statements) for node, table, column, statements in (
    ("'cus:' || customer_key", "orders", "customer_key",
     ("DELETE FROM refunds WHERE EXISTS (SELECT 1 FROM orders o WHERE o.origin = refunds.origin "
      "AND o.order_id = refunds.order_id AND o.customer_key = substr(?1, 5))",
      "DELETE FROM orders WHERE customer_key = substr(?1, 5)")),
    ("'cus:' || customer_key", "subscriptions", "customer_key",
     ("DELETE FROM subscriptions WHERE customer_key = substr(?1, 5)",)),
    ("identifier", "tags", "identifier", ("DELETE FROM tags WHERE identifier = ?1",)),
    # An email platform's clicks by an erased address that is nobody's contact (core/email_clicks.py).
    ("'email:' || email", "email_clicks", "email", ("DELETE FROM email_clicks WHERE email = substr(?1, 7)",)),
    # (contact_key is set on identifies only: the condition lets SQLite read the identify index)
    ("'cid:' || contact_key", "events", "type IN ('identify', 'alias') AND contact_key",
     ("DELETE FROM events WHERE type IN ('identify', 'alias') AND contact_key = substr(?1, 5) "
      "RETURNING anonymous_id",)),
    ("'user:' || user_id", "events", "user_id",
     ("DELETE FROM events WHERE user_id = substr(?1, 6) RETURNING anonymous_id",)),
))


def _purge_unowned(conn) -> int:
    deleted = 0
    devices: set[str | None] = set()  # of the events deleted (RETURNING anonymous_id), to count again
    for candidates, statements in UNOWNED:
        for node in suppressed_nodes(conn, [n for (n,) in conn.execute(candidates)]):
            for sql in statements:
                rows = conn.execute(sql, (node,))
                devices.update(aid for (aid,) in rows)
                deleted += rows.rowcount  # (counted once RETURNING's rows are read)
    _recount_devices(conn, devices)
    keys = {KEY_NODE.get(kind, contact_key_node)(key): (key, kind)
            for key, kind in conn.execute("SELECT key, kind FROM contact_keys WHERE email IS NULL")}
    for node in suppressed_nodes(conn, list(keys)):
        deleted += conn.execute("DELETE FROM contact_keys WHERE key = ? AND kind = ?", keys[node]).rowcount
    return deleted


def stitch_honouring_suppressions(ws: Workspace, progress=None) -> StitchResult:
    """The stitch every import and sync ends with, then the suppression list enforced."""
    result = stitch(ws, progress)
    # Only new evidence can bring anyone back, and only to the contacts it changed.
    if result.evidence_changed and enforce_suppressions(ws, result.changed_contacts):
        again = stitch(ws)  # the counts after the erase; what changed is both stitches' news
        again.changed_contacts |= result.changed_contacts
        again.changed_devices |= result.changed_devices
        result = again
    return result
