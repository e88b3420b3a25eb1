"""The one refresh rule: after new data arrives, the stitch, then report upkeep.

``refresh_after_import`` is the one call made after every import and every
sync, whoever runs it (``sync.engine.run_sync`` for ``segdesk sync`` and the
app's Sync Now alike, ``segdesk import``): it re-derives identity, erases
again whoever is on the suppression list (``core/suppression.py``), brings
sessions and touchpoints up to date from the events past their high-water
mark, and rebuilds the counted-orders cache if orders, refunds or identity
changed. Merge, unmerge and erase (``core.operations``) stitch as part of
the change and then call ``refresh_reports``, its second half.
"""

from __future__ import annotations

from dataclasses import dataclass

from .people import stitch_honouring_suppressions
from .progress import Progress
from .reports.data import refresh_report_orders
from .reports.sessions import SessionUpdate, update_sessions
from .stitch import StitchResult
from .store import Workspace


@dataclass
class RefreshResult:
    identity: StitchResult
    sessions: SessionUpdate
    orders_rebuilt: bool

    def as_dict(self) -> dict:
        return {"identity": self.identity.as_dict(), "sessions": self.sessions.as_dict(),
                "orders_rebuilt": self.orders_rebuilt}


def refresh_reports(ws: Workspace, progress: Progress | None = None) -> tuple[SessionUpdate, bool]:
    """Sessions, touchpoints and counted orders up to date (cheap when nothing changed)."""
    sessions = update_sessions(ws, progress)
    with ws.conn:
        rebuilt = refresh_report_orders(ws.conn)
    return sessions, rebuilt


def refresh_after_import(ws: Workspace, progress: Progress | None = None) -> RefreshResult:
    identity = stitch_honouring_suppressions(ws, progress)
    if progress:
        progress.check()
    sessions, rebuilt = refresh_reports(ws, progress)
    return RefreshResult(identity, sessions, rebuilt)
