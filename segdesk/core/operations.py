"""A person's corrections as whole operations: merge, unmerge and the workspace half of erase.

Each is what both front ends call (``segdesk merge`` and the journey's Merge…
button): the change itself (``core.identity.people``, which re-stitches), then the report
caches brought up to date, so the CLI and the app leave the same state. Each
returns its own result and the :class:`~segdesk.core.changes.Changes` it made.
Erasing at the relays too is ``sync.operations.erase_everywhere`` (it needs HTTP).
"""

from __future__ import annotations

from dataclasses import dataclass

from .identity import people
from .changes import Changes
from .identity.identifiers import normalise_email
from .identity.people import EraseResult
from .refresh import refresh_reports
from .identity.stitch import StitchResult
from .store import Workspace


@dataclass(frozen=True)
class IdentityChange:
    """A merge or an unmerge: what the stitch did, and what the views should refresh."""

    identity: StitchResult
    changes: Changes

    def as_dict(self) -> dict:
        return self.identity.as_dict()


@dataclass(frozen=True)
class Erased:
    """The workspace half of an erase."""

    result: EraseResult
    changes: Changes


def _emails(*emails: str) -> frozenset[str]:
    return frozenset(normalise_email(e) or e for e in emails)


def merge(ws: Workspace, email_a: str, email_b: str) -> IdentityChange:
    """Join two contacts (undo with :func:`unmerge`)."""
    identity = people.merge(ws, email_a, email_b)
    refresh_reports(ws)
    return IdentityChange(identity, Changes(contacts=True, identity=True, emails=_emails(email_a, email_b)))


def unmerge(ws: Workspace, email: str) -> IdentityChange:
    """Undo every manual merge naming ``email``; every email of the old contact may have moved."""
    before = [r[0] for r in ws.conn.execute(
        "SELECT c.email FROM contacts c JOIN contacts me ON me.canonical_id = c.canonical_id WHERE me.email = ?",
        (normalise_email(email) or email,))]
    identity = people.unmerge(ws, email)
    refresh_reports(ws)
    return IdentityChange(identity, Changes(contacts=True, identity=True, emails=_emails(email, *before)))


def erase(ws: Workspace, email: str) -> Erased:
    """Delete a person from the workspace (events, orders, tags, device links) and refresh the reports."""
    result = people.erase(ws, email)
    refresh_reports(ws)
    return Erased(result, Changes(contacts=True, events=True, orders=True, identity=True,
                                  emails=frozenset({result.email})))
