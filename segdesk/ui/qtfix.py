"""A guard against PySide6 6.12.0's reference-count bugs on ``True`` and ``None``.

On CPython 3.11, PySide6 6.12.0 drops a reference to ``True`` on every
Python-side ``Signal.emit()`` (it returns it without taking one) and to
``None`` on every call of a void C++ method (``setText``, ``setValue``...).
After a few hundred emits or a few thousand setters CPython aborts with
"deallocating True or False" / "deallocating None". We probe for the leaks
once and, only where they show, give ``True``, ``False`` and ``None`` a
reference count so large it can never reach zero (what Python 3.12 does for
them anyway: they are immortal there). Imported by ``workers``, so it is in
place before any view exists.

:func:`collect_on_gui_thread` is the other Qt-and-Python guard: cycles of Qt
objects collected on the GUI thread only (charts call it).
"""

from __future__ import annotations

import ctypes
import sys

from PySide6.QtCore import QObject, Signal

PROBES = 8
PLENTY = 1 << 40  # references no program can drop


class _Probe(QObject):
    ping = Signal()


def _leaked(obj, action) -> int:
    before = sys.getrefcount(obj)
    for _ in range(PROBES):
        action()
    return before - sys.getrefcount(obj)


def leaks() -> bool:
    """True when this PySide6 drops references to True (emit) or None (void calls)."""
    probe = _Probe()
    return (_leaked(True, probe.ping.emit) >= PROBES
            or _leaked(None, lambda: probe.setObjectName("probe")) >= PROBES)


def _make_immortal(obj) -> None:
    if sys.getrefcount(obj) < PLENTY:
        ctypes.c_ssize_t.from_address(id(obj)).value += PLENTY  # ob_refcnt is an object's first field


def install() -> bool:
    """Guard True, False and None when (and only when) the leaks show; returns whether it did."""
    if sys.version_info >= (3, 12) or not leaks():
        return False
    for obj in (True, False, None):
        _make_immortal(obj)
    return True


INSTALLED = install()


_collector = None


def collect_on_gui_thread() -> None:
    """Python's cycle collector only on the GUI thread, from now on (pyqtgraph's ``GarbageCollector``).

    A plot holds its menus and check boxes in reference cycles; collected by an automatic pass that
    happens to run on a reader or network thread, their Qt objects were destroyed off the GUI thread
    and the app (and the test suite) crashed now and then. Automatic collection stays off; a timer on
    the GUI thread collects when the counts pass the usual thresholds.
    """
    global _collector
    if _collector is None:
        from pyqtgraph.util.garbage_collector import GarbageCollector

        _collector = GarbageCollector(interval=1.0)
