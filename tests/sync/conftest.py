"""Sync test fixtures: an in-memory keychain, a workspace, and fast (no-sleep) HTTP options."""

from __future__ import annotations

import keyring
import pytest
from keyring.backend import KeyringBackend

from segdesk.core.store import open_workspace
from segdesk.sync.http import HttpOptions


class MemoryKeyring(KeyringBackend):
    """A keychain that lives in this test's memory only."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):
        return self.items.get((service, username))

    def set_password(self, service, username, password):
        self.items[(service, username)] = password

    def delete_password(self, service, username):
        self.items.pop((service, username), None)


@pytest.fixture(autouse=True)
def memory_keyring():
    previous = keyring.get_keyring()
    ring = MemoryKeyring()
    keyring.set_keyring(ring)
    yield ring
    keyring.set_keyring(previous)


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
