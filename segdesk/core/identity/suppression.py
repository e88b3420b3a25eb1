"""The suppression list: erased people stay erased (docs/SPEC.md §4, Erasure).

``segdesk erase`` deletes a person and puts every identifier they had (emails,
CRM contact ids, payment customer ids, user ids: the stitch's node names) on
this list as keyed hashes: HMAC-SHA256 under a random key made for this
workspace and kept in it. The list can tell whether an identifier is
suppressed but never says whose it is, so it holds no address.

Every import and sync ends in a stitch; :func:`people.enforce_suppressions`
then erases again whoever a suppressed identifier resolves to, so a CRM,
payment, CSV or relay copy of the person never survives the job that brought
it. Lifting an entry (the person came back and consents) deletes it and asks
every non-relay source for a full re-read on its next sync, which brings the
person's records back; relays have purged what they delivered.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Iterable

from ...errors import InvalidInput, NotFound
from .identifiers import email_node, normalise_email
from ..store import read_setting
from ..timeutil import now_ts

KEY_SETTING = "suppression.key"
KINDS = {"email": "email", "cid": "CRM contact id", "cus": "payment customer id", "user": "user id"}


def _key(conn, create: bool = False) -> bytes | None:
    value = read_setting(conn, KEY_SETTING)
    if value is not None:
        return bytes.fromhex(value)
    if not create:
        return None
    key = secrets.token_bytes(32)
    conn.execute("INSERT INTO settings(key, value) VALUES (?, ?)", (KEY_SETTING, key.hex()))
    return key


def _digest(key: bytes, node: str) -> str:
    return hmac.digest(key, node.encode(), "sha256").hex()


def active(conn) -> bool:
    return conn.execute("SELECT 1 FROM suppressed_ids LIMIT 1").fetchone() is not None


def suppress(conn, identifiers: Iterable[str]) -> int | None:
    """Add node names (``email:a@b.c``, ``cid:ac:1``, ...) to the list; returns the entry id.

    Identifiers that join an entry already listed (a new CRM id of an erased
    person) go into that entry. Call inside the erase's transaction.
    """
    nodes = sorted(set(identifiers))
    if not nodes:
        return None
    key = _key(conn, create=True)
    digests = [(_digest(key, n), n.split(":", 1)[0]) for n in nodes]
    marks = ",".join("?" * len(digests))
    row = conn.execute(f"SELECT min(entry_id) FROM suppressed_ids WHERE digest IN ({marks})",
                       [d for d, _ in digests]).fetchone()
    entry = row[0] if row and row[0] is not None else conn.execute(
        "INSERT INTO suppression_entries(erased_at) VALUES (?)", (now_ts(),)).lastrowid
    conn.executemany("INSERT OR IGNORE INTO suppressed_ids(digest, entry_id, kind) VALUES (?, ?, ?)",
                     ((d, entry, kind) for d, kind in digests))
    return entry


def is_suppressed(conn, identifier: str) -> bool:
    """Whether a node name (or a bare email) is on the list."""
    key = _key(conn)
    if key is None:
        return False
    node = identifier if ":" in identifier.split("@")[0] else email_node(normalise_email(identifier) or identifier)
    return conn.execute("SELECT 1 FROM suppressed_ids WHERE digest = ?", (_digest(key, node),)).fetchone() is not None


def suppressed_nodes(conn, nodes: Iterable[str]) -> list[str]:
    """Those of ``nodes`` that are on the list (nothing to hash when the list is empty)."""
    key = _key(conn)
    if key is None or not active(conn):
        return []
    listed = {d for (d,) in conn.execute("SELECT digest FROM suppressed_ids")}
    return [n for n in nodes if _digest(key, n) in listed]


def entries(conn) -> list[dict]:
    """Each erase still in force: when, and what kinds of identifiers it holds (never whose)."""
    out = []
    for entry_id, erased_at, kinds, n in conn.execute(
        "SELECT e.id, e.erased_at, group_concat(DISTINCT s.kind), count(s.digest) FROM suppression_entries e "
        "LEFT JOIN suppressed_ids s ON s.entry_id = e.id GROUP BY e.id ORDER BY e.erased_at, e.id"
    ):
        names = sorted(KINDS.get(k, k) for k in (kinds or "").split(",") if k)
        out.append({"id": entry_id, "erased_at": erased_at, "identifiers": n, "kinds": names})
    return out


def lift(conn, email: str) -> dict:
    """Lift the entry that holds this email (the person came back and consents); returns the entry.

    Non-relay sources re-read everything on their next sync, so the person's
    records come back; raises NotFound when the email is not suppressed.
    """
    normal = normalise_email(email)
    if normal is None:
        raise InvalidInput(f"'{email}' is not an email address")
    key = _key(conn)
    row = conn.execute("SELECT entry_id FROM suppressed_ids WHERE digest = ?",
                       (_digest(key, email_node(normal)),)).fetchone() if key else None
    if row is None:
        raise NotFound(f"{normal} is not on the suppression list")
    return lift_entry(conn, row[0])


def lift_entry(conn, entry_id: int) -> dict:
    found = [e for e in entries(conn) if e["id"] == entry_id]
    if not found:
        raise NotFound(f"no suppression entry {entry_id}")
    with conn:
        conn.execute("DELETE FROM suppressed_ids WHERE entry_id = ?", (entry_id,))
        conn.execute("DELETE FROM suppression_entries WHERE id = ?", (entry_id,))
        # What the syncs skipped while the entry stood is behind their cursors: read it again.
        conn.execute("UPDATE sync_state SET cursor = NULL WHERE source IN "
                     "(SELECT name FROM sources WHERE kind != 'relay')")
    return found[0]
