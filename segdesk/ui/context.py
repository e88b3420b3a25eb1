"""What every view shares: the open workspace, its one writer, readers, change news and display settings.

A view gets an :class:`AppContext` and never opens the database itself:

- ``ctx.write(fn)`` runs ``fn(workspace, progress)`` on the single writer thread;
- ``ctx.read(fn)`` runs ``fn(read_connection, progress)`` on a reader thread;
- ``ctx.fetch(fn)`` runs ``fn(write, progress)`` on a network thread, where
  ``write(step)`` runs ``step(workspace)`` on the writer (sync and erase: their
  waits on the network never hold up the writer);
- all three return a :class:`~segdesk.ui.workers.Job` whose signals arrive in the GUI thread;
- ``ctx.reader()`` is a fresh read connection the caller owns (and closes);
- ``ctx.dataChanged(Changes)`` fires after a sync, import, merge or erase, so each
  view refreshes only what the change touched (Anki's ``OpChanges``);
- ``ctx.display`` holds the timezone and currency display; ``ctx.money()`` and
  ``ctx.time()`` format with them, and ``settingsChanged`` fires when they change.
"""

from __future__ import annotations

import sqlite3
import sys
import threading
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from PySide6.QtCore import QObject, QSettings, QTimer, Signal

from ..core.traffic import useragent
from ..core.changes import Changes
from ..core.money import format_money, to_major
from ..core.timeutil import parse_ts
from .workers import DbWriter, Job, NetworkRunner, ReaderPool

ORG = "SegDesk"
APP = "SegDesk"

SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥", "inr": "₹", "krw": "₩", "cny": "CN¥",
           "cad": "CA$", "aud": "A$", "nzd": "NZ$", "chf": "CHF ", "brl": "R$", "mxn": "MX$"}


@dataclass(frozen=True)
class DisplaySettings:
    timezone: str = "local"          # "local" or an IANA name such as "Europe/Berlin"
    currency_display: str = "symbol"  # "symbol" ($49.00) or "code" (49.00 USD)

    def tz(self) -> tzinfo:
        if self.timezone and self.timezone != "local":
            try:
                return ZoneInfo(self.timezone)
            except (ZoneInfoNotFoundError, ValueError):
                pass
        return datetime.now().astimezone().tzinfo or timezone.utc

    @classmethod
    def load(cls) -> "DisplaySettings":
        s = QSettings(ORG, APP)
        return cls(str(s.value("display/timezone", "local")), str(s.value("display/currency", "symbol")))

    def save(self) -> None:
        s = QSettings(ORG, APP)
        s.setValue("display/timezone", self.timezone)
        s.setValue("display/currency", self.currency_display)


class AppContext(QObject):
    """The open workspace as the UI sees it. One per main window."""

    dataChanged = Signal(object)      # Changes
    settingsChanged = Signal(object)  # DisplaySettings
    syncStarted = Signal()
    syncFinished = Signal(object)     # the sync engine's report (or None when cancelled / failed)

    def __init__(self, workspace: str | Path | None = None, parent: QObject | None = None,
                 display: DisplaySettings | None = None):
        super().__init__(parent)
        self.writer = DbWriter(workspace)
        self.workspace = self.writer.workspace  # touch .conn only on the writer thread
        self.workspace_path: Path = self.workspace.path
        self.readers = ReaderPool(self.workspace)
        self.network = NetworkRunner(self.writer)
        self._sync_lock = threading.Lock()
        self.display = display or DisplaySettings.load()
        self._closed = False
        # Device names' rules compile once (~0.1 s): after the window is up, not on the first journey.
        QTimer.singleShot(1500, self._warm_device_names)

    def _warm_device_names(self) -> None:
        if not self._closed:
            self.read(lambda conn, progress: useragent.warm(), "device-name rules")

    # -- work ---------------------------------------------------------------
    def write(self, fn, label: str = "") -> Job:
        """Run ``fn(workspace, progress)`` on the one writer thread."""
        return self.writer.submit(fn, label)

    def read(self, fn, label: str = "") -> Job:
        """Run ``fn(read_connection, progress)`` on a reader thread."""
        return self.readers.submit(fn, label)

    def fetch(self, fn, label: str = "") -> Job:
        """Run ``fn(write, progress)`` on a network thread; ``write(step)`` runs ``step(workspace)`` on the writer."""
        return self.network.submit(fn, label)

    def sync(self, names: list[str] | None = None, *, on_source=None, on_result=None, options=None) -> Job:
        """``run_sync`` (what ``segdesk sync`` runs) on a network thread; one sync at a time.

        Its result is the engine's ``SyncReport``; ``report.changes`` is what to refresh.
        """
        ws, lock = self.workspace, self._sync_lock  # ws for its folder (secrets); the database through `write`

        def job(write, progress):
            from ..sync.engine import run_sync  # httpx and the connectors load on the first sync, not at start

            kwargs = {"options": options} if options is not None else {}
            with lock:  # two syncs at once would race for the same cursors
                return run_sync(ws, names, progress, on_source=on_source, on_result=on_result, write=write,
                                **kwargs)

        return self.fetch(job, "sync")

    def reader(self) -> sqlite3.Connection:
        """A new read connection; the caller closes it."""
        return self.workspace.reader()

    def notify(self, changes: Changes) -> None:
        if changes.any():
            self.dataChanged.emit(changes)

    # -- display ------------------------------------------------------------
    def set_display(self, display: DisplaySettings) -> None:
        if display != self.display:
            self.display = display
            display.save()
            self.settingsChanged.emit(display)

    def money(self, amounts: dict[str, int | float] | None, empty: str = "—") -> str:
        """{'usd': 4900, 'eur': 100} -> '$49.00, €1.00' (currencies are never added)."""
        if not amounts:
            return empty
        return ", ".join(self.money_one(v, c) for c, v in sorted(amounts.items()))

    def money_one(self, minor: int | float, currency: str) -> str:
        if self.display.currency_display == "code" or currency.lower() not in SYMBOLS:
            return format_money(minor, currency)
        value = to_major(minor, currency)
        exp = 0 if currency.lower() in ("jpy", "krw") else 2
        sign = "-" if value < 0 else ""
        return f"{sign}{SYMBOLS[currency.lower()]}{abs(value):,.{exp}f}"

    def time(self, ts: str | None, fmt: str = "%Y-%m-%d %H:%M", empty: str = "") -> str:
        """A stored UTC timestamp in the user's timezone."""
        if not ts:
            return empty
        try:
            return parse_ts(ts).astimezone(self.display.tz()).strftime(fmt)
        except ValueError:
            return ts

    # -- lifetime -----------------------------------------------------------
    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self.readers.shutdown()
        self.network.shutdown()  # before the writer: its last step may still be queued there
        self.writer.shutdown()
        secrets = sys.modules.get("segdesk.sync.secrets")  # loaded only if a source was added or synced
        if secrets is not None:
            secrets.forget(self.workspace_path)  # an unlocked secrets file locks again with its window


__all__ = ["AppContext", "Changes", "DisplaySettings", "ORG", "APP"]
