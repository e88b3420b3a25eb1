"""Work off the GUI thread: one database writer, a small pool of readers, network threads.

STYLE.md's "one writer": every write (sync, import, merge, erase, settings)
runs on :class:`DbWriter`'s single thread, which owns the workspace's writing
connection. Reads (contact pages, journeys, reports) run on :class:`ReaderPool`,
whose threads each keep their own WAL read connection, so a long sync never
blocks a query. Waits on the network (a sync's pages, an erase at the relays)
run on :class:`NetworkRunner`'s threads, which hand each database step to the
writer (:meth:`DbWriter.run`), so a slow API never holds up a merge queued
behind it (Anki's network executor beside its collection executor).

Both hand back a :class:`Job`: a QObject living in the GUI thread whose
signals arrive there (queued), carrying progress, the result or a one-line
reason. Widgets are only ever touched from those signals.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal

from ..core.gcpause import gc_paused
from ..core.progress import Cancelled, Progress
from ..core.store import Workspace, open_workspace
from ..errors import SegDeskError
from . import qtfix  # noqa: F401  (before the first emit: PySide6's emit reference bug)

PROGRESS_INTERVAL_S = 0.05  # at most ~20 progress signals a second per job
UNEXPECTED = "unexpected error ({name}); the details are in the log"
log = logging.getLogger("segdesk")


def one_line(exc: BaseException) -> str:
    """The reason a user reads: the exception's first line, never a traceback."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def failure_reason(exc: Exception, label: str = "") -> str:
    """What a failed job shows: the app's one place that turns an exception into words.

    A :class:`SegDeskError` carries its own line; SQLite's complaints about the
    database (locked, disk full, damaged) get the command line's "database
    error" line. Anything else is a bug: logged with its traceback, shown as
    the generic line.
    """
    if isinstance(exc, SegDeskError):
        return one_line(exc)
    if isinstance(exc, sqlite3.DatabaseError):
        return f"database error: {one_line(exc)}"
    log.error("unexpected error in %s", label or "a background job", exc_info=exc)
    return UNEXPECTED.format(name=type(exc).__name__)


class Job(QObject):
    """One unit of background work as seen from the GUI thread.

    ``progressed(dict)`` carries ``status``, ``fraction`` and ``counts``;
    exactly one of ``finished(result)``, ``failed(reason)`` or ``cancelled()``
    follows.
    """

    progressed = Signal(object)
    finished = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    # The worker thread only ever emits this one, connected (queued) at construction;
    # the public signals are re-emitted from the GUI thread. So a job that ends
    # before its caller has connected to ``finished`` still reaches the caller.
    _deliver = Signal(str, object)

    def __init__(self, label: str = "", parent: QObject | None = None):
        super().__init__(parent)
        self._deliver.connect(self._on_deliver, Qt.ConnectionType.QueuedConnection)
        self.label = label
        self.progress = Progress(on_update=self._on_update)
        self.future: Future | None = None
        self.done = False
        self.result: Any = None
        self.error: str | None = None
        self._last_emit = 0.0
        self._lock = threading.Lock()

    def cancel(self) -> None:
        """Ask the job to stop at its next check; a job still queued never starts."""
        self.progress.cancel()
        if self.future is not None and self.future.cancel():
            self._deliver.emit("cancelled", None)  # it never started, so nobody else will say so

    def is_cancelled(self) -> bool:
        return self.progress.cancelled()

    def _on_update(self, p: Progress) -> None:
        now = time.monotonic()
        final = p.fraction is not None and p.fraction >= 1.0
        with self._lock:
            if not final and now - self._last_emit < PROGRESS_INTERVAL_S:
                return
            self._last_emit = now
        self._deliver.emit("progress", {"status": p.status, "fraction": p.fraction, "counts": dict(p.counts)})

    def _on_deliver(self, what: str, value) -> None:
        if what == "progress":
            if not self.done:
                self.progressed.emit(value)
            return
        self.done = True
        if what == "finished":
            self.result = value
            self.finished.emit(value)
        elif what == "failed":
            self.error = value
            self.failed.emit(value)
        else:
            self.cancelled.emit()

    def _run(self, fn: Callable, resource) -> None:
        try:
            if self.progress.cancelled():
                raise Cancelled("cancelled")
            result = fn(resource, self.progress)
        except Cancelled:
            self._deliver.emit("cancelled", None)
            return
        except Exception as exc:  # a background job reports, it never crashes the app
            self._deliver.emit("failed", failure_reason(exc, self.label))
            return
        self._deliver.emit("finished", result)


class _Runner:
    """Keeps jobs alive until they end (a Job with no Python reference would vanish mid-flight)."""

    def __init__(self):
        self._live: set[Job] = set()
        self._lock = threading.Lock()

    def _track(self, job: Job) -> None:
        with self._lock:
            self._live.add(job)
        for sig in (job.finished, job.failed, job.cancelled):
            sig.connect(lambda *_a, j=job: self._untrack(j))

    def _untrack(self, job: Job) -> None:
        with self._lock:
            self._live.discard(job)

    def live_jobs(self) -> list[Job]:
        with self._lock:
            return list(self._live)

    def submit(self, fn: Callable[..., Any], label: str = "") -> Job:
        """Run ``fn`` on this runner's threads as a :class:`Job`; ``_run_job`` says what ``fn`` is given."""
        job = Job(label)
        self._track(job)
        job.future = self._pool.submit(self._run_job, job, fn)
        return job


class DbWriter(_Runner):
    """The single writer: one thread that owns the workspace and its writing connection."""

    def __init__(self, folder: str | Path | None):
        super().__init__()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="segdesk-writer")
        self.workspace: Workspace = self._pool.submit(open_workspace, folder).result()

    def _run_job(self, job: Job, fn: Callable[[Workspace, Progress], Any]) -> None:
        """``fn(workspace, progress)`` on the writer thread."""
        with gc_paused():
            job._run(fn, self.workspace)

    def call(self, fn: Callable[[Workspace], Any], timeout: float | None = 30) -> Any:
        """Run ``fn(workspace)`` on the writer thread and wait for it (short setup calls only)."""
        return self._pool.submit(fn, self.workspace).result(timeout)

    def run(self, fn: Callable[[Workspace], Any]) -> Any:
        """``write`` for the network thread (sync/writer.py): queue ``fn(workspace)``, wait, return its result.

        Never call it from the writer thread itself (it would wait for itself).
        """
        return self._pool.submit(self._call_quietly, fn).result()

    def _call_quietly(self, fn: Callable[[Workspace], Any]) -> Any:
        with gc_paused():
            return fn(self.workspace)

    def shutdown(self) -> None:
        for job in self.live_jobs():
            job.cancel()
        self._pool.submit(self.workspace.close)
        self._pool.shutdown(wait=True, cancel_futures=False)


class NetworkRunner(_Runner):
    """Threads for jobs that wait on the network; their database steps go to the writer.

    Two threads, so an erase at the relays does not wait for a slow sync
    (syncs take turns among themselves: ``AppContext.sync``).

    A job is ``fn(write, progress)`` where ``write(step)`` runs ``step(workspace)``
    on the writer thread and returns its result (see sync/writer.py).
    """

    def __init__(self, writer: DbWriter, threads: int = 2):
        super().__init__()
        self._writer = writer
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="segdesk-network")

    def _run_job(self, job: Job, fn: Callable[[Callable, Progress], Any]) -> None:
        # Parsing a sync's pages allocates as much as writing them: no cyclic
        # collections meanwhile either (see gc_paused).
        with gc_paused():
            job._run(fn, self._writer.run)

    def shutdown(self) -> None:
        """Cancel what runs (it stops at its next check) and wait: its last page still goes to the writer."""
        for job in self.live_jobs():
            job.cancel()
        self._pool.shutdown(wait=True, cancel_futures=True)


class ReaderPool(_Runner):
    """Read queries off the GUI thread; each pool thread keeps one read connection."""

    def __init__(self, workspace: Workspace, threads: int = 2):
        super().__init__()
        self._workspace = workspace
        self._local = threading.local()
        self._conns: list[sqlite3.Connection] = []
        self._conns_lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="segdesk-reader")

    def connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._workspace.reader()
            self._local.conn = conn
            with self._conns_lock:
                self._conns.append(conn)
        return conn

    def _run_job(self, job: Job, fn: Callable[[sqlite3.Connection, Progress], Any]) -> None:
        """``fn(read_connection, progress)`` on a reader thread."""
        job._run(fn, self.connection())

    def shutdown(self) -> None:
        for job in self.live_jobs():
            job.cancel()
        self._pool.shutdown(wait=True, cancel_futures=True)
        with self._conns_lock:
            for conn in self._conns:
                try:
                    conn.close()
                except sqlite3.Error:
                    pass
            self._conns.clear()
