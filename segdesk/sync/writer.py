"""How network code reaches the workspace: through ``write(fn)``, never its connection.

A SQLite connection belongs to the one writer thread. Code that waits on the
network (a sync's pages, an erase at the relays) runs elsewhere in the app, so
it hands each database step to the writer as ``write(lambda ws: ...)`` and gets
the result back. Between two steps the writer is free for a merge or an import
queued behind. The CLI has no second thread: :func:`direct` runs the step where
it is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from ..core.store import Workspace

T = TypeVar("T")
Write = Callable[[Callable[[Workspace], Any]], Any]


def direct(ws: Workspace) -> Write:
    """``write`` for a caller that owns the workspace's connection itself."""

    def write(fn: Callable[[Workspace], T]) -> T:
        return fn(ws)

    return write
