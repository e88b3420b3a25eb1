"""Shared fixtures: every test gets its own workspace folder, never the user's."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def _fresh_workspace(tmp_path, monkeypatch):
    ws = tmp_path / "workspace"
    monkeypatch.setenv("SEGDESK_WORKSPACE", str(ws))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", os.environ.get("SEGDESK_TEST_KEYRING", "keyring.backends.null.Keyring"))
    yield ws
