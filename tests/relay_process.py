"""A real relay process on a free loopback port, for tests that sync from it.

The process itself is the pixel tests' ``Relay`` (init, serve, wait for /healthz);
this gives the sync and app tests the address and keys they use.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from .relay.pixel_support import running_relay as _relay


@contextlib.contextmanager
def running_relay(data: Path) -> Iterator[tuple[str, dict]]:
    """``segdesk-relay init`` then ``serve`` in a subprocess; yields (url, keys) once it answers."""
    with _relay(data) as relay:
        yield relay.url, {"write_key": relay.write_key, "pull_token": relay.pull_token}
