"""Sync Now, as the status bar shows it: a bar per source, cancel, last sync time, failures with retry.

Each bar says what its source has done in plain words (records so far and,
when the vendor tells how much remains, the time left: sync/progress_words.py);
a source that fails is announced (``sourceFailed``) the moment it ends, not when
the whole sync does, so the window's banner can name it within seconds.

The sync engine's ``run_sync`` runs on a network thread and hands each page
to the one writer (``ctx.fetch``), so a merge queued during a slow sync runs
between two pages. Its per-source progress callback crosses into the GUI
thread as a queued signal, throttled, so the event loop stays free however
fast a source pages. The engine itself refreshes stitch, sessions and report
caches at the end, exactly as ``segdesk sync`` does.
"""

from __future__ import annotations

import threading
import time

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QMenu, QProgressBar, QToolButton, QWidget

from ..core.progress import Progress
from ..sync import state as sync_state
from ..sync.progress_words import describe
from .banner import restyle
from .context import AppContext
from .plaintext import as_text, set_plain

THROTTLE_S = 0.05


class _Bridge(QObject):
    """Carries per-source progress and results from the network thread to the GUI thread."""

    sourceProgress = Signal(str, str, object)  # name, what it has done in plain words, fraction
    sourceResult = Signal(str, str, str)  # name, ok | failed | cancelled, the one-line reason

    def __init__(self):
        super().__init__()
        self._last: dict[str, float] = {}
        self._started: dict[str, float] = {}
        self._lock = threading.Lock()

    def on_source(self, name: str, p: Progress) -> None:
        now = time.monotonic()
        with self._lock:
            started = self._started.setdefault(name, now)
            if p.fraction not in (0.0, 1.0) and now - self._last.get(name, 0.0) < THROTTLE_S:
                return
            self._last[name] = now
        self.sourceProgress.emit(name, describe(p.counts, p.fraction, now - started), p.fraction)

    def on_result(self, result) -> None:
        self.sourceResult.emit(result.name, result.status, result.reason)


class SyncStatus(QWidget):
    """The status bar's right side; owns the running sync job."""

    started = Signal()
    finished = Signal(object)  # SyncReport, or None when the sync itself failed
    sourceFailed = Signal(str, str)  # name, the one-line reason: as soon as that source gave up
    sourceSynced = Signal(str)  # name: that source synced without an error

    def __init__(self, ctx: AppContext, parent=None):
        super().__init__(parent)
        self.ctx = ctx
        self.job = None
        self.http_options = None  # tests inject fake transports (sync.http.HttpOptions)
        self.last_report = None  # the engine's SyncReport
        self.failures: list[tuple[str, str]] = []
        self.bars: dict[str, QProgressBar] = {}
        self._bridge = _Bridge()
        self._bridge.sourceProgress.connect(self._source_progress)
        self._bridge.sourceResult.connect(self._source_result)

        self.bars_box = QWidget()
        self.bars_layout = QHBoxLayout(self.bars_box)
        self.bars_layout.setContentsMargins(0, 0, 0, 0)
        self.bars_layout.setSpacing(6)
        self.message = QLabel("")
        self.message.setObjectName("muted")
        self.cancel_btn = QToolButton()
        self.cancel_btn.setText("Cancel")
        self.cancel_btn.clicked.connect(self.cancel)
        self.cancel_btn.hide()
        self.last_sync = QLabel("Never synced")
        self.last_sync.setObjectName("muted")
        set_plain(self.message, self.last_sync)
        self.failed_btn = QToolButton()
        self.failed_btn.setObjectName("failures")
        self.failed_btn.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.failed_btn.hide()
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 6, 0)
        lay.setSpacing(10)
        lay.addWidget(self.message, 1)
        for w in (self.bars_box, self.cancel_btn, self.failed_btn, self.last_sync):
            lay.addWidget(w)
        self.refresh_state()

    @property
    def running(self) -> bool:
        return self.job is not None and not self.job.done

    # -- starting and stopping -------------------------------------------------
    def start(self, names: list[str] | None = None) -> None:
        if self.running:
            return
        for bar in self.bars.values():
            bar.deleteLater()
        self.bars.clear()
        self.message.setText("Syncing…")
        self.cancel_btn.show()
        self.cancel_btn.setEnabled(True)
        self._bridge._started.clear()
        self.job = self.ctx.sync(list(names) if names else None, on_source=self._bridge.on_source,
                                 on_result=self._bridge.on_result, options=self.http_options)
        self.job.finished.connect(self._done)
        self.job.failed.connect(self._failed)
        self.job.cancelled.connect(lambda: self._done(None))
        self.started.emit()
        self.ctx.syncStarted.emit()

    def cancel(self) -> None:
        if self.running:
            self.job.cancel()
            self.message.setText("Cancelling… (what is stored so far is kept)")
            self.cancel_btn.setEnabled(False)

    def retry_failed(self) -> None:
        names = [n for n, _r in self.failures]
        if names:
            self.start(names)

    # -- progress ----------------------------------------------------------------
    def _bar(self, name: str) -> QProgressBar:
        bar = self.bars.get(name)
        if bar is None:
            bar = QProgressBar()
            bar.setObjectName("sourceBar")
            bar.setRange(0, 1000)
            bar.setFixedWidth(170)
            bar.setTextVisible(True)
            bar.setFormat(f"{name}")
            self.bars[name] = bar
            self.bars_layout.addWidget(bar)
        return bar

    def _source_progress(self, name: str, words: str, fraction) -> None:
        if not self.running:
            return
        bar = self._bar(name)
        if fraction is None:
            bar.setRange(0, 0)  # the vendor does not say how much remains: a busy bar, counts in words
        else:
            bar.setRange(0, 1000)
            bar.setValue(int(fraction * 1000))
        bar.setFormat(f"{name}: {words}")
        bar.setToolTip(as_text(f"{name}: {words}"))
        self.message.setText(f"Syncing {name}: {words}")

    def _source_result(self, name: str, status: str, reason: str) -> None:
        if status == "failed":
            self.sourceFailed.emit(name, reason)
        elif status == "ok":
            self.sourceSynced.emit(name)

    # -- the end -------------------------------------------------------------------
    def _done(self, report) -> None:
        self.cancel_btn.hide()
        self.last_report = report
        if report is None:
            self.message.setText("Sync cancelled")
        else:
            for s in report.sources:
                bar = self._bar(s.name)
                bar.setRange(0, 1000)
                bar.setValue(1000 if s.ok else bar.value())
                bar.setFormat(f"{s.name} ✓" if s.ok else f"{s.name} ✗")
                bar.setProperty("failed", s.status == "failed")
                bar.setToolTip(as_text(s.reason or f"{s.name}: {describe(s.counts, 1.0, 0.0, finished=True)}"))
                restyle(bar)
            if report.cancelled:
                self.message.setText("Sync cancelled; what was stored so far is kept")
            elif not report.sources:
                self.message.setText("No sources yet: add one on the Sources page")
            else:
                self.message.setText(self._summary(report))
            self.ctx.notify(report.changes)
        self.refresh_state()
        self.ctx.syncFinished.emit(report)
        self.finished.emit(report)

    def _failed(self, reason: str) -> None:
        self.cancel_btn.hide()
        self.message.setText(f"Sync failed: {reason}")
        self.refresh_state()
        self.ctx.syncFinished.emit(None)
        self.finished.emit(None)

    @staticmethod
    def _summary(report) -> str:
        ok = [s for s in report.sources if s.ok]
        parts = [f"{len(ok)} of {len(report.sources)} sources synced"]
        events = sum(s.changed.get("events", 0) for s in report.sources)
        if events:
            parts.append(f"{events:,} new event{'s' if events != 1 else ''}")
        if report.changed_contacts:
            n = len(report.changed_contacts)
            parts.append(f"{n:,} contact{'s' if n != 1 else ''} updated")
        return ", ".join(parts)

    def refresh_state(self) -> None:
        """Last sync time and standing failures, from sync_state (read off the GUI thread)."""
        job = self.ctx.read(lambda conn, _p: (sync_state.last_sync(conn), sync_state.failures(conn)), "sync state")
        job.finished.connect(self._show_state)

    def _show_state(self, state) -> None:
        last, errors = state
        self.last_sync.setText(f"Last sync {self.ctx.time(last)}" if last else "Never synced")
        self.failures = [(n, e) for n, e in errors]
        if not self.failures:
            self.failed_btn.hide()
            return
        n = len(self.failures)
        self.failed_btn.setText(f"⚠ {self.failures[0][0]} failed" if n == 1 else f"⚠ {n} sources failed")
        self.failed_btn.setToolTip(as_text("\n".join(f"{name}: {reason}" for name, reason in self.failures)))
        menu = QMenu(self.failed_btn)
        for name, reason in self.failures:
            info = menu.addAction(f"{name}: {reason}")
            info.setEnabled(False)
            menu.addAction(f"Retry {name}", lambda name=name: self.start([name]))
        if n > 1:
            menu.addSeparator()
            menu.addAction("Retry all failed", self.retry_failed)
        self.failed_btn.setMenu(menu)
        self.failed_btn.show()
        self.failed_btn.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
