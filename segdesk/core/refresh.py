"""The one refresh rule: after new data arrives, the stitch, then report upkeep.

``refresh_after_import`` is the one call made after every import and every
sync, whoever runs it (``sync.engine.run_sync`` for ``segdesk sync`` and the
app's Sync Now alike, ``segdesk import``): it re-derives identity, erases
again whoever is on the suppression list (``core/identity/suppression.py``), brings
sessions and touchpoints up to date from the events past their high-water
mark, and rebuilds the counted-orders cache if orders, refunds or identity
changed. Before the stitch, ``Order Completed``/``Order Refunded`` events that
arrived since the last refresh become orders and refunds (``core/event_orders.py``)
and are reconciled with the same purchase from other routes (``core/reconcile.py``);
after it, event orders without an email take their device's contact. Merge, unmerge and erase (``core.operations``) stitch as part of
the change and then call ``refresh_reports``, its second half.
"""

from __future__ import annotations

from dataclasses import dataclass

from .compaction import compact_events, pending as compaction_pending
from .event_orders import EventOrders, derive_event_orders, resolve_buyers, waiting
from .identity.people import stitch_honouring_suppressions
from .progress import Progress
from .reconcile import reconcile_orders
from .reports.data import refresh_report_orders
from .reports.sessions import SessionUpdate, update_sessions
from .reports.campaigns import refresh_channel_visitors
from .reports.cohort import refresh_as_of
from .reports.contact_facts import refresh_contact_facts
from .reports.contact_value import refresh_contact_value, refresh_converted
from .reports.device_facts import refresh_device_facts
from .reports.order_hours import refresh_order_hours
from .reports.shares import refresh_shares
from .reports.tagged import refresh_contact_tags
from .identity.stitch import StitchResult
from .store import Workspace


@dataclass
class RefreshResult:
    identity: StitchResult
    sessions: SessionUpdate
    orders_rebuilt: bool
    event_orders: EventOrders

    def as_dict(self) -> dict:
        return {"identity": self.identity.as_dict(), "sessions": self.sessions.as_dict(),
                "orders_rebuilt": self.orders_rebuilt, "orders_from_events": self.event_orders.as_dict()}


def refresh_reports(ws: Workspace, progress: Progress | None = None) -> tuple[SessionUpdate, bool]:
    """Sessions, touchpoints and counted orders up to date (cheap when nothing changed)."""
    # Also after a merge or an erase: deleted events move the high-water marks down (sessions do the same).
    derive_event_orders(ws.conn)
    sessions = update_sessions(ws, progress)
    with ws.conn:
        rebuilt = refresh_report_orders(ws.conn)
        refresh_contact_tags(ws.conn)
        refresh_contact_value(ws.conn)  # after the touches and counted orders it is computed from
        refresh_converted(ws.conn)  # the same two in the reporting currency, after both
        refresh_shares(ws.conn)  # attribution's weights per touch: the same inputs
        refresh_device_facts(ws.conn)
        refresh_order_hours(ws.conn)  # after the counted orders (and their converted cache)
        refresh_contact_facts(ws.conn)  # after the touches (update_sessions recomputes them)
        refresh_as_of(ws.conn)
        refresh_channel_visitors(ws.conn)  # after update_sessions
    return sessions, rebuilt


def refresh_converted_caches(conn) -> None:
    """The caches held in the reporting currency, after it changed (the rest do not depend on it)."""
    refresh_converted(conn)
    refresh_order_hours(conn)  # after the converted orders it is built from


def refresh_after_import(ws: Workspace, progress: Progress | None = None) -> RefreshResult:
    # Events that came in plain (syncs before the workspace had a dictionary, an upgraded
    # workspace) are packed first, a batch per commit: cancelled, the next refresh goes on.
    # No VACUUM here: a sync must not need a second copy of the file; later events fill the pages.
    if compaction_pending(ws.conn):
        compact_events(ws.conn, progress, vacuum=False)
    event_orders = derive_event_orders(ws.conn)
    if event_orders.orders:
        reconcile_orders(ws.conn)
    identity = stitch_honouring_suppressions(ws, progress)
    if resolve_buyers(ws.conn):
        reconcile_orders(ws.conn)  # with a buyer, an event order can meet its payment
        again = stitch_honouring_suppressions(ws, progress)  # the buyers' first purchases date them
        again.changed_contacts |= identity.changed_contacts
        again.changed_devices |= identity.changed_devices
        identity = again
    event_orders.waiting = waiting(ws.conn)
    if progress:
        progress.check()
    sessions, rebuilt = refresh_reports(ws, progress)
    return RefreshResult(identity, sessions, rebuilt, event_orders)
