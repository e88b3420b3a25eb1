"""A person's corrections and rights: merge, unmerge, erase (the local part).

Merges are evidence like any other: a row in ``manual_merges`` that the stitch
reads, so an unmerge is just deleting that row and stitching again.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import InvalidInput, NotFound
from .identifiers import email_node, normalise_email
from .stitch import StitchResult, stitch
from .store import Workspace
from .timeutil import now_ts


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
    with conn:
        for aid, start, end in spans:
            events += conn.execute(
                "DELETE FROM events WHERE anonymous_id = ? AND ts >= ? AND (? IS NULL OR ts < ?)",
                (aid, start, end, end),
            ).rowcount
        events += conn.execute(f"DELETE FROM events WHERE email IN ({em})", emails).rowcount
        if keys:
            km = ",".join("?" * len(keys))
            events += conn.execute(f"DELETE FROM events WHERE contact_key IN ({km}) OR user_id IN ({km})",
                                   (*keys, *keys)).rowcount
            conn.execute(f"DELETE FROM contact_keys WHERE key IN ({km})", keys)
            orders += conn.execute(f"DELETE FROM orders WHERE customer_key IN ({km})", keys).rowcount
            conn.execute(f"DELETE FROM subscriptions WHERE customer_key IN ({km})", keys)
        conn.execute(
            f"DELETE FROM refunds WHERE EXISTS (SELECT 1 FROM orders o WHERE o.origin = refunds.origin "
            f"AND o.order_id = refunds.order_id AND o.email IN ({em}))", emails)
        orders += conn.execute(f"DELETE FROM orders WHERE email IN ({em})", emails).rowcount
        conn.execute(f"DELETE FROM subscriptions WHERE email IN ({em})", emails)
        nm = ",".join("?" * len(nodes))
        conn.execute(f"DELETE FROM tags WHERE identifier IN ({nm})", nodes)
        conn.execute(f"DELETE FROM manual_merges WHERE email_a IN ({em}) OR email_b IN ({em})", (*emails, *emails))
        conn.execute(f"DELETE FROM identity_nodes WHERE node IN ({nm})", nodes)
        conn.execute("DELETE FROM device_segments WHERE contact_id = ?", (cid,))
        conn.execute(f"DELETE FROM contacts WHERE email IN ({em})", emails)
        # Devices with no event left go too; the others get their counts back.
        aids = sorted({s[0] for s in spans})
        for aid in aids:
            row = conn.execute("SELECT min(ts), max(ts), count(*) FROM events WHERE anonymous_id = ?", (aid,)).fetchone()
            if row[2] == 0:
                conn.execute("DELETE FROM devices WHERE anonymous_id = ?", (aid,))
            else:
                conn.execute("UPDATE devices SET first_seen = ?, last_seen = ?, events = ? WHERE anonymous_id = ?",
                             (*row, aid))
    stitch(ws)
    return EraseResult(e, events, orders, aids)
