"""What `segdesk sync` says when there is nothing to sync."""

from __future__ import annotations

from segdesk.cli import main


def test_sync_without_sources_says_how_to_add_one(capsys):
    assert main(["sync"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("segdesk: no sources configured yet; add one with 'segdesk sources add KIND'")
    assert err.count("\n") == 1
