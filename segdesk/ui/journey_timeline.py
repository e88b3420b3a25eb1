"""The journey page's writes (no Qt here): merge and unmerge bring reports up to date, erase reaches the relays.

What the page reads (the timeline, device evidence) is core's read model, ``core/timeline.py``.
"""

from __future__ import annotations

from ..core import people
from ..core.refresh import refresh_reports
from ..sync.relay_erase import erase_remote


def with_reports(ws, result):
    """Bring sessions and counted orders up to date after an identity change; pass the result on."""
    refresh_reports(ws)
    return result


def erase_everywhere(ws, email: str) -> str:
    """Erase in the workspace, then at every relay; one line saying what happened."""
    result = with_reports(ws, people.erase(ws, email))
    line = f"Erased {result.email}: {result.events} events and {result.orders} orders deleted from this workspace"
    remote = erase_remote(ws, result.email)
    for name, n in remote.erased.items():
        line += f"; relay “{name}”: {n} buffered events erased"
    for name, reason in remote.failed.items():
        line += f"; relay “{name}” could not erase ({reason})"
    return line + "."
