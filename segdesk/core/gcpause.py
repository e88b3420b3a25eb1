"""Pausing Python's cyclic garbage collector around bulk work.

The stitch and the import build millions of small tuples and dicts that hold
no reference cycles. Each allocation burst triggers collections that walk
every live object, so the work grows faster than the data (at 5M events the
stitch spent most of its time collecting). Reference counting still frees
everything; cycles made meanwhile are collected when the pause ends.
"""

from __future__ import annotations

import gc
from contextlib import contextmanager


@contextmanager
def gc_paused():
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
