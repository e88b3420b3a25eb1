"""Sync test fixtures: an in-memory keychain, a workspace, and fast (no-sleep) HTTP options."""

from __future__ import annotations

import pytest

from segdesk.core.store import open_workspace
from segdesk.sync.http import HttpOptions

from ..memory_keyring import memory_keyring  # noqa: F401  (autouse: a keychain per test)


@pytest.fixture
def ws(tmp_path):
    workspace = open_workspace(tmp_path / "ws")
    yield workspace
    workspace.close()


class Sleeps(list):
    """Records requested sleeps instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps():
    return Sleeps()


@pytest.fixture
def options(sleeps):
    def make(**transports):
        return HttpOptions(transports=transports, sleep=sleeps, max_attempts=4)
    return make
