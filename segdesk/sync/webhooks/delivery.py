"""A delivery as the parsers see it, and what they write through (see the package docstring)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import orjson

from ...errors import InvalidInput


class Unreadable(InvalidInput):
    """A delivery SegDesk cannot read: kept with this one line, and read again on later syncs."""


@dataclass(frozen=True)
class Delivery:
    key: str
    source: str
    kind: str
    received_at: str
    headers: dict
    body: bytes

    @property
    def origin(self) -> str:
        """The origin of the rows it writes: the one its vendor's API connector uses for that name."""
        return self.kind if self.source == self.kind else f"{self.kind}:{self.source}"

    @property
    def digest(self) -> str:
        """A short stable id of this delivery, for rows a vendor gives no id of their own (a rebill)."""
        return hashlib.sha256(self.key.encode()).hexdigest()[:16]

    def json(self) -> dict:
        try:
            payload = orjson.loads(self.body)
        except orjson.JSONDecodeError:
            raise Unreadable("the body is not JSON") from None
        if not isinstance(payload, dict):
            raise Unreadable("the body is not a JSON object")
        return payload


@dataclass
class HookContext:
    """The part of a SyncContext the connectors' store functions use: the origin and what changed."""

    origin: str
    changed: dict[str, int] = field(default_factory=dict)

    def add_changed(self, **changed: int) -> None:
        for key, n in changed.items():
            if n:
                self.changed[key] = self.changed.get(key, 0) + n
