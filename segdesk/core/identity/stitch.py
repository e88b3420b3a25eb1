"""The identity stitch: gather evidence from the workspace, resolve, store the difference.

Events stay untouched; only the derived tables change (``identity_nodes``,
``device_segments``, ``contacts.canonical_id`` and ``first_seen``, the
``devices`` flags). Only rows whose value changed are written, and the result
lists what changed. A sync's stitch re-resolves only the components its new
evidence touches (``component.py``); the full stitch (``full.py``), which reads all
evidence, runs when that cannot be trusted or would not be quicker.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from . import component
from .evidence import KEY_NODE
from .full import full_stitch
from ..gcpause import gc_paused
from ..progress import Progress
from ..store import Workspace

__all__ = ["KEY_NODE", "StitchResult", "stitch"]


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
        result = StitchResult(evidence_changed=True, full=True)
        full_stitch(conn, result, progress, upto, top)
    else:
        result = StitchResult(contacts=_contacts_count(conn), waiting=_waiting_count(conn),
                              changed_contacts=changed[0], changed_devices=changed[1],
                              shared_devices=_shared_count(conn), evidence_changed=bool(dirty))
    if progress:
        progress.update("Stitched identities", 1.0)
    return result
