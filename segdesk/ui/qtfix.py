"""A guard against a PySide6 reference-count bug in ``SignalInstance.emit``.

PySide6 6.12.0 (at least) returns ``True`` from a Python-side ``emit()``
without taking a reference to it, so every emit costs ``True`` one
reference; after a few hundred emits CPython 3.11 aborts with "bool_dealloc:
deallocating True or False". We probe for the bug once and, only where it
shows, wrap ``emit`` to give back the reference it took. Imported by
``context`` and ``workers``, so it is in place before any view emits.
"""

from __future__ import annotations

import ctypes
import sys

from PySide6.QtCore import QObject, Signal, SignalInstance

PROBES = 8


class _Probe(QObject):
    ping = Signal()


def emit_leaks() -> bool:
    """True when an emit from Python steals a reference from its return value."""
    probe = _Probe()
    before = sys.getrefcount(True)
    for _ in range(PROBES):
        probe.ping.emit()
    leaked = before - sys.getrefcount(True)
    # Give back what the probe itself took, so the check leaves no trace.
    for _ in range(max(0, leaked)):
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(True))
    return leaked >= PROBES


def install() -> bool:
    """Wrap ``SignalInstance.emit`` when (and only when) this PySide6 has the bug; returns whether it did."""
    if getattr(SignalInstance.emit, "_segdesk_fixed", False):
        return True
    if not emit_leaks():
        return False
    original = SignalInstance.emit
    incref = ctypes.pythonapi.Py_IncRef
    py_object = ctypes.py_object

    def emit(self, *args):
        result = original(self, *args)
        incref(py_object(result))  # the reference emit() should have taken
        return result

    emit._segdesk_fixed = True
    SignalInstance.emit = emit
    return True


INSTALLED = install()
