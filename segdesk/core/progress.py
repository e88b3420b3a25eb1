"""The progress object every long job takes (Orange3's TaskState, in small).

Jobs call :meth:`Progress.update` between batches and stop early when
:meth:`Progress.cancelled` is true. The UI turns updates into signals, the CLI
into a progress bar, and tests read them directly.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from ..errors import Cancelled  # noqa: F401  (re-exported: jobs import it from here)


@dataclass
class Progress:
    on_update: Callable[["Progress"], None] | None = None
    status: str = ""
    fraction: float | None = None
    counts: dict[str, int] = field(default_factory=dict)
    _cancel: threading.Event = field(default_factory=threading.Event, repr=False)

    def update(self, status: str | None = None, fraction: float | None = None, **counts: int) -> None:
        if status is not None:
            self.status = status
        if fraction is not None:
            self.fraction = max(0.0, min(1.0, fraction))
        self.counts.update(counts)
        if self.on_update is not None:
            self.on_update(self)

    def cancel(self) -> None:
        self._cancel.set()

    def cancelled(self) -> bool:
        return self._cancel.is_set()

    def check(self) -> None:
        if self._cancel.is_set():
            raise Cancelled("cancelled")

