"""Pausing Python's cyclic garbage collector around bulk work.

The stitch and the import build millions of small tuples and dicts that hold
no reference cycles. Each allocation burst triggers collections that walk
every live object, so the work grows faster than the data (at 5M events the
stitch spent most of its time collecting; in the app, each automatic full
collection held the GIL and froze the GUI thread for up to a second at 1M
events). Reference counting still frees everything; cycles made meanwhile are
collected when the pause ends.

Pauses nest and may overlap across threads (the app's writer thread pauses
around a whole job, and the import inside it pauses again): the collector
comes back when the last pause ends, and only if it was on when the first began.
"""

from __future__ import annotations

import gc
import threading
from contextlib import contextmanager

_lock = threading.Lock()
_pauses = 0
_was_enabled = False


@contextmanager
def gc_paused():
    global _pauses, _was_enabled
    with _lock:
        if _pauses == 0:
            _was_enabled = gc.isenabled()
        _pauses += 1
        gc.disable()
    try:
        yield
    finally:
        with _lock:
            _pauses -= 1
            if _pauses == 0 and _was_enabled:
                gc.enable()
