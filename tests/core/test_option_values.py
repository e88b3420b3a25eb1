"""Option values are checked: numbers out of range are wrong usage with one
line, and search text is matched literally."""

from __future__ import annotations

import json

import pytest

from segdesk.cli import main
from segdesk.collector_relay.__main__ import main as relay_main
from segdesk.core.importing.csv_import import import_contacts
from segdesk.core.refresh import refresh_after_import
from segdesk.core.store import open_workspace


@pytest.mark.parametrize("argv", [
    ["report", "attribution", "--lookback-days", "3650000"],
    ["report", "attribution", "--lookback-days", "-1"],
    ["report", "attribution", "--lookback-days", "ten"],
    ["export", "pdf", "out.pdf", "--lookback-days", "99999999"],
    ["contacts", "--limit", "0"],
    ["contacts", "--limit", "-1"],
    ["contacts", "--limit", str(2**63)],
    ["demo", "--no-open", "--contacts", "0"],
    ["demo", "--no-open", "--seed", "-5"],
])
def test_numbers_out_of_range_are_wrong_usage_with_one_line(_fresh_workspace, capsys, argv):
    with pytest.raises(SystemExit) as exit_:  # argparse's own exit for wrong usage
        main(argv)
    assert exit_.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert "out of range" in error or "not a whole number" in error, error


@pytest.mark.parametrize("argv", [["serve", "--port", "70000"], ["serve", "--port", "0"],
                                  ["deploy", "ssh://h", "--port", "-22"], ["serve", "--port", "8o80"]])
def test_relay_ports_are_checked(capsys, argv):
    assert relay_main(argv) == 2
    assert "is not a port" in capsys.readouterr().err


def test_a_century_of_lookback_is_accepted(_fresh_workspace, capsys):
    assert main(["report", "attribution", "--lookback-days", "36500", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["lookback_days"] == 36500


def test_search_matches_wildcard_characters_literally(_fresh_workspace, capsys):
    ws = open_workspace(_fresh_workspace)
    import_contacts(ws, "email,first_name\nann@example.com,Ann\nbo_b@example.com,Bob\npct@example.com,100%\n"
                        "back@example.com,a\\b\n")
    refresh_after_import(ws)
    ws.close()

    def search(q: str) -> list[str]:
        capsys.readouterr()
        assert main(["contacts", "--search", q, "--json"]) == 0
        return [c["email"] for c in json.loads(capsys.readouterr().out)["contacts"]]

    assert search("_") == ["bo_b@example.com"]
    assert search("%") == ["pct@example.com"]
    assert search("\\") == ["back@example.com"]
    assert search("o_b") == ["bo_b@example.com"]
    assert search("ANN") == ["ann@example.com"]

    from segdesk.core.read.contacts import ordered_ids

    ws = open_workspace(_fresh_workspace)
    try:
        assert len(ordered_ids(ws.conn, "_")) == 1
        assert len(ordered_ids(ws.conn, "%")) == 1
        assert len(ordered_ids(ws.conn, "")) == 4
    finally:
        ws.close()
