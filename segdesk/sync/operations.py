"""Erase everywhere: the workspace, then every configured relay's buffer.

``segdesk erase`` and the journey's Erase… button both call
:func:`erase_everywhere`. The steps run in order, each a plain call, so a step
can be added between them (e.g. remembering the erased person). The workspace
step goes through ``write`` (sync/writer.py); the HTTP calls to the relays run
on the caller's thread, which in the app is the network thread, not the writer.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..core import operations
from ..core.changes import Changes
from ..core.identity.people import EraseResult
from ..core.store import Workspace
from .http import HttpOptions
from .relay_erase import RemoteErase, erase_remote
from .writer import Write, direct


@dataclass(frozen=True)
class Erasure:
    local: EraseResult
    relays: RemoteErase
    changes: Changes

    @property
    def ok(self) -> bool:
        """False when a relay could not erase (the workspace part is done either way)."""
        return self.relays.ok

    def as_dict(self) -> dict:
        return {**self.local.as_dict(), "relays": self.relays.as_dict()}

    def summary(self) -> str:
        """One sentence for a banner."""
        line = (f"Erased {self.local.email}: {self.local.events} events and {self.local.orders} orders "
                "deleted from this workspace")
        for name, n in self.relays.erased.items():
            line += f"; relay “{name}”: {n} buffered events erased"
        for name, reason in self.relays.failed.items():
            line += f"; relay “{name}” could not erase ({reason})"
        return line + "."


def erase_everywhere(ws: Workspace, email: str, *, options: HttpOptions | None = None,
                     write: Write | None = None) -> Erasure:
    """The workspace first (it is ours and cannot fail half-way), then every relay's buffer."""
    write = write or direct(ws)
    local = write(lambda w: operations.erase(w, email))
    relays = erase_remote(ws, local.result.email, options=options, write=write)
    return Erasure(local.result, relays, local.changes)
