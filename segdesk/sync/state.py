"""What the app shows about syncing: each source with its last success and error, the last sync, failures.

Read models over ``sources`` and ``sync_state`` (the engine writes both); plain
functions of a read connection, so the Sources page and the status bar ask
the same questions the command line could.
"""

from __future__ import annotations

from typing import NamedTuple

from ..core.origins import data_origins, origin_name
from .sources import list_sources


class SourceState(NamedTuple):
    name: str
    kind: str
    vendor: str
    origin: str
    address: str            # base URL or file path, "" when the source has neither
    last_success: str | None
    last_error: str | None
    counts: dict[str, int] | None = None  # rows this source's origin holds (origin_states only)
    configured: bool = True  # False: data with no configured source (an import, the demo)
    latest: str | None = None  # the newest dated row it brought


def source_states(conn) -> list[SourceState]:
    """Every configured source, in the order ``sources list`` shows them, with its sync state."""
    state = {name: (ok, err) for name, ok, err in
             conn.execute("SELECT source, last_success, last_error FROM sync_state")}
    out = []
    for s in list_sources(conn):
        ok, err = state.get(s.name, (None, None))
        out.append(SourceState(s.name, s.kind, s.vendor, s.origin,
                               s.config.get("base_url") or s.config.get("path") or "", ok, err))
    return out


def origin_states(conn) -> list[SourceState]:
    """Every origin of data: the configured sources first (with what they hold), then imports and the demo."""
    held = {o.origin: o for o in data_origins(conn)}
    out = []
    for s in source_states(conn):
        found = held.pop(s.origin, None)
        out.append(s._replace(counts=found.counts if found else {}, latest=found.latest if found else None))
    for o in held.values():
        kind = "Demo" if o.origin.startswith("demo") else "Import"
        out.append(SourceState(origin_name(o.origin), kind.lower(), kind, o.origin, "", None, None, o.counts, False,
                               o.latest))
    return out


def last_sync(conn) -> str | None:
    """When any source last synced without an error (None: never)."""
    return conn.execute("SELECT max(last_success) FROM sync_state").fetchone()[0]


def failures(conn) -> list[tuple[str, str]]:
    """Sources whose latest sync failed, by name: (name, the one-line reason)."""
    return conn.execute("SELECT s.name, st.last_error FROM sources s JOIN sync_state st ON st.source = s.name "
                        "WHERE st.last_error IS NOT NULL ORDER BY s.name").fetchall()
