"""Fixtures the report-cache tests share."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from segdesk.core import demo
from segdesk.core.refresh import refresh_after_import
from segdesk.core.store import open_workspace


@pytest.fixture
def small_demo(tmp_path):
    """A refreshed demo workspace of 300 contacts and 15,000 events, its clock fixed at 2026-03-01."""
    w = open_workspace(tmp_path / "ws")
    demo.generate(w, contacts=300, events=15_000, orders_per_contact=2.5, seed=5,
                  now=datetime(2026, 3, 1, tzinfo=UTC))
    refresh_after_import(w)
    yield w
    w.close()
