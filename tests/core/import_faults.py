"""Faults for the parsing processes of a parallel import (``parallel_import.FileFill``'s ``before_chunk``).

Module-level functions, because they are pickled to the spawned workers; this
module imports nothing heavy, because each worker imports it.
"""

from __future__ import annotations

import os


def crash_on_chunk_2(chunk) -> None:
    """The process dies without a word, as on an out-of-memory kill."""
    if chunk.index == 2:
        os._exit(3)


def disk_full_on_chunk_5(chunk) -> None:
    if chunk.index == 5:
        raise OSError(28, "No space left on device")
