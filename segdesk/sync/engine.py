"""Sync Now: pull every configured source, then refresh once (stitch, sessions, report caches).

Each source runs as a plain function ``connector.sync(ctx)`` with its own
progress object (sharing the caller's cancel flag) and its own cursor. A
source that fails (rejected key, API down after retries, unreadable file)
records ``last_error`` and the others still run. The returned
:class:`SyncReport` says, per source, ok or failed with a one-line reason,
what was fetched, what actually changed, and the :class:`Changes` for views.

``segdesk sync`` and the app's Sync Now both call :func:`run_sync`; the app
runs it on its network thread and passes ``write`` (sync/writer.py), so every
database step (cursor, page, stitch) runs on the one writer while the waits for
the network leave the writer free.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ..core.changes import Changes, changes_of_counts
from ..core.progress import Cancelled, Progress
from ..core.refresh import RefreshResult, refresh_after_import
from ..core.store import Workspace
from ..core.timeutil import now_ts
from .connectors import CONNECTORS
from .context import SyncContext, load_cursor
from ..errors import SegDeskError
from .http import HttpOptions
from .reconcile import reconcile_orders
from .sources import Source, check_base_url, get_source, list_sources, secret_of
from .writer import Write, direct

EXPECTED = SegDeskError  # a source's failure with its one line; anything else is a bug (below)


@dataclass
class SourceResult:
    name: str
    kind: str
    status: str  # ok | failed | cancelled
    reason: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    changed: dict[str, int] = field(default_factory=dict)
    requests: int = 0
    retries: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def as_dict(self) -> dict:
        return {"source": self.name, "kind": self.kind, "status": self.status, "reason": self.reason,
                "counts": self.counts, "changed": self.changed, "requests": self.requests,
                "retries": self.retries, "notes": self.notes}


@dataclass
class SyncReport:
    sources: list[SourceResult] = field(default_factory=list)
    identity: dict = field(default_factory=dict)
    changed_contacts: set[int] = field(default_factory=set)
    orders_matched: int = 0
    cancelled: bool = False
    refreshed: RefreshResult | None = None

    @property
    def changes(self) -> Changes:
        """What the views should refresh after this sync."""
        changed: dict[str, int] = {}
        for s in self.sources:
            for key, n in s.changed.items():
                changed[key] = changed.get(key, 0) + n
        return changes_of_counts(changed, bool(self.changed_contacts), bool(self.identity.get("changed_devices")))

    @property
    def ok(self) -> bool:
        return not self.cancelled and all(s.ok for s in self.sources)

    @property
    def failed(self) -> list[SourceResult]:
        return [s for s in self.sources if s.status == "failed"]

    def as_dict(self) -> dict:
        return {"ok": self.ok, "cancelled": self.cancelled, "sources": [s.as_dict() for s in self.sources],
                "orders_matched": self.orders_matched, "identity": self.identity}


def _record(conn, name: str, error: str | None) -> None:
    now = now_ts()
    with conn:
        conn.execute(
            "INSERT INTO sync_state(source, last_success, last_error, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT(source) DO UPDATE SET last_success = coalesce(excluded.last_success, last_success), "
            "last_error = excluded.last_error, updated_at = excluded.updated_at",
            (name, None if error else now, error, now),
        )


def _selected(ws: Workspace, names: Iterable[str] | None) -> list[Source]:
    if not names:
        return list_sources(ws.conn)
    return [get_source(ws.conn, n) for n in dict.fromkeys(names)]


def sync_source(ws: Workspace, source: Source, progress: Progress, options: HttpOptions,
                write: Write | None = None) -> SourceResult:
    """Run one source; never raises for the source's own failures (only Cancelled and BaseException)."""
    write = write or direct(ws)
    result = SourceResult(source.name, source.kind, "ok")
    ctx = None
    try:
        check_base_url(source.config)  # also for sources added before https was required
        ctx = SyncContext(ws, source, secret_of(ws, source), progress, options,
                          cursor=write(lambda w: load_cursor(w.conn, source.name)), write=write)
        progress.update(f"{source.name}: starting", 0.0)
        CONNECTORS[source.kind].sync(ctx)
        progress.update(f"{source.name}: done", 1.0)
    except Cancelled:
        result.status, result.reason = "cancelled", "cancelled; what was stored so far is kept"
    except EXPECTED as exc:
        result.status, result.reason = "failed", _one_line(exc)
    except Exception as exc:  # a bug or a vendor answer we did not foresee: this source only
        result.status = "failed"
        result.reason = f"unexpected error: {type(exc).__name__}: {_one_line(exc)}"
        result.notes.append(traceback.format_exc(limit=3).strip().splitlines()[-1])
    finally:
        if ctx is not None:
            ctx.close()
            result.counts, result.changed = dict(ctx.counts), dict(ctx.changed)
            result.requests, result.retries = ctx.requests, ctx.retries
            result.notes.extend(ctx.notes)
    if result.status != "cancelled":
        write(lambda w: _record(w.conn, source.name, None if result.ok else result.reason))
    return result


def run_sync(ws: Workspace, names: Iterable[str] | None = None, progress: Progress | None = None, *,
             on_source: Callable[[str, Progress], None] | None = None,
             on_result: Callable[[SourceResult], None] | None = None,
             options: HttpOptions | None = None, write: Write | None = None) -> SyncReport:
    """Pull the named sources (default: all), match orders across sources, then refresh once.

    ``progress`` gets the overall fraction and cancel flag; ``on_source(name,
    progress)`` gets every update of each source's own progress (per-source
    bars in the CLI and the app); ``on_result(result)`` hears each source's end
    as it happens (the app reports a failed source before the others finish). ``write`` runs each database step where the
    workspace's connection lives (default: here).
    """
    progress = progress or Progress()
    options = options or HttpOptions()
    write = write or direct(ws)
    selected = write(lambda w: _selected(w, names))
    report = SyncReport()
    total = max(1, len(selected))
    for i, source in enumerate(selected):
        def forward(p: Progress, name=source.name, i=i) -> None:
            if on_source is not None:
                on_source(name, p)
            progress.update(f"{name}: {p.status}", (i + (p.fraction or 0.0)) / total)

        source_progress = Progress(on_update=forward, _cancel=progress._cancel)
        result = sync_source(ws, source, source_progress, options, write)
        report.sources.append(result)
        if on_result is not None:
            on_result(result)
        if result.status == "cancelled":
            report.cancelled = True
            break
    report.orders_matched = write(lambda w: reconcile_orders(w.conn))
    # Everything committed is consistent, so the refresh runs even after a cancel
    # (without the cancel flag: a cancelled sync still leaves stitch and caches current).
    progress.update("Stitching identities", 1.0 if not selected else None)
    report.refreshed = write(refresh_after_import)
    report.identity = report.refreshed.identity.as_dict()
    report.changed_contacts = report.refreshed.identity.changed_contacts
    progress.update("Sync finished" if not report.cancelled else "Sync cancelled", 1.0)
    return report


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
