"""After `segdesk demo --no-open`, every command of the README's "Using it" section works on that workspace.

No keychain here (the root conftest's null keyring) and no passphrase in the
environment: the demo must not need either from the user, and `segdesk sync`
and `segdesk erase` reach the demo relay although no app is running it.
"""

from __future__ import annotations

import json
import os

import pytest

from segdesk.cli import main
from segdesk.sync.secrets import PASSPHRASE_ENV
from tests.core.wire import at, identify, page


@pytest.fixture
def demo_folder(tmp_path, monkeypatch, capsys):
    folder = tmp_path / "demo"
    monkeypatch.setenv("SEGDESK_WORKSPACE", str(folder))
    monkeypatch.delenv(PASSPHRASE_ENV, raising=False)  # and restored after, whatever the demo sets
    monkeypatch.setenv("QT_QPA_PLATFORM", os.environ.get("QT_QPA_PLATFORM", "offscreen"))
    assert main(["demo", "--no-open", "--contacts", "40"]) == 0
    capsys.readouterr()
    return folder


def run(capsys, *args: str, json_out: bool = True):
    code = main([*args, "--json"] if json_out else list(args))
    out = capsys.readouterr()
    assert code == 0, out.err
    return json.loads(out.out) if json_out else out.out


def test_every_using_it_command_works_on_the_demo_workspace(demo_folder, tmp_path, capsys):
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(json.dumps(e) for e in [
        page("cli-1", at(0)), identify("cli-1", at(0, minutes=1), email="newcomer@example.com")]) + "\n")
    (tmp_path / "contacts.csv").write_text("email,first_name\nnewcomer@example.com,Nia\n")
    (tmp_path / "orders.csv").write_text("order_id,email,amount,currency,created_at\n"
                                         "cli-o1,newcomer@example.com,12.50,usd,2026-03-02\n")
    (tmp_path / "spend.csv").write_text("date,source,medium,campaign,spend,currency\n"
                                        "2026-03-01,facebook,cpc,spring_sale,30.00,usd\n")

    assert run(capsys, "import", "events", str(events))["imported"] == 2
    for kind in ("contacts", "orders", "spend"):
        assert run(capsys, "import", kind, str(tmp_path / f"{kind}.csv"))["rows"] == 1

    contacts = run(capsys, "contacts")["contacts"]
    assert len(contacts) == 41
    assert [c["email"] for c in run(capsys, "contacts", "--search", "newcomer")["contacts"]] == \
        ["newcomer@example.com"]
    journey = run(capsys, "journey", "newcomer@example.com")
    assert journey["contact"]["revenue"] == {"usd": 1250}

    a, b = contacts[0]["email"], contacts[1]["email"]
    run(capsys, "merge", a, b)
    assert set(run(capsys, "journey", a)["contact"]["emails"]) == {a, b}
    run(capsys, "unmerge", a)

    erased = run(capsys, "erase", "newcomer@example.com")
    assert (erased["events"], erased["orders"]) == (2, 1)
    assert erased["relays"]["failed"] == {} and list(erased["relays"]["erased"]) == ["relay"]

    assert run(capsys, "report", "summary")
    assert run(capsys, "report", "ltv", "--by", "source")["rows"]
    assert run(capsys, "report", "attribution", "--model", "linear", "--lookback-days", "90", "--by", "source")
    pdf = run(capsys, "export", "pdf", str(tmp_path / "report.pdf"))
    assert pdf["pages"] >= 1 and (tmp_path / "report.pdf").read_bytes().startswith(b"%PDF")

    # segdesk sync: the demo relay answers for the duration, with a round of simulated visitors.
    assert main(["sync", "--json"]) == 0, capsys.readouterr().err
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    result = next(line for line in lines if line["type"] == "result")
    assert result["source"] == "relay" and result["status"] == "ok" and result["changed"]["events"] >= 1
