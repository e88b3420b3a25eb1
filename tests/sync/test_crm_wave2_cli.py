"""`segdesk sources add drip|ontraport|highlevel`: the account each needs, the secret from the environment."""

from __future__ import annotations

import json

from segdesk.cli import main


def add(wsdir: str, *args: str) -> int:
    return main(["--workspace", wsdir, "sources", "add", *args, "--secret-env", "VENDOR_SECRET", "--json"])


def test_each_is_added_with_its_account_and_listed_where_it_reads(tmp_path, capsys, monkeypatch, memory_keyring):
    monkeypatch.setenv("VENDOR_SECRET", "s3cret")
    wsdir = str(tmp_path / "w")
    assert add(wsdir, "drip", "--account-id", "9999999") == 0
    assert json.loads(capsys.readouterr().out)["config"] == {"account_id": "9999999"}
    assert add(wsdir, "ontraport", "--app-id", "2_123456_AbCd", "--currency", "EUR") == 0
    assert json.loads(capsys.readouterr().out)["config"] == {"app_id": "2_123456_AbCd", "currency": "eur"}
    assert add(wsdir, "highlevel", "--location-id", "ve9EPM428h8vShlRW1KT", "--opportunities-as-orders") == 0
    assert json.loads(capsys.readouterr().out)["config"] == {"location_id": "ve9EPM428h8vShlRW1KT",
                                                             "opportunities_as_orders": True}
    assert sorted(memory_keyring.items.values()) == ["s3cret"] * 3
    assert main(["--workspace", wsdir, "sources", "list"]) == 0
    out = capsys.readouterr().out
    assert all(where in out for where in ("9999999", "2_123456_AbCd", "ve9EPM428h8vShlRW1KT"))


def test_a_missing_or_malformed_account_is_one_line_and_stores_nothing(tmp_path, capsys, monkeypatch,
                                                                       memory_keyring):
    monkeypatch.setenv("VENDOR_SECRET", "s3cret")
    wsdir = str(tmp_path / "w")
    for args in (["drip", "--account-id", "acct-9"], ["ontraport"], ["highlevel"]):
        assert add(wsdir, *args) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "needs --" in err
    assert memory_keyring.items == {}
