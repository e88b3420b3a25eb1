"""`segdesk relay hooks add|list|remove`: secrets from the environment only, HMAC keys in an owner-only
file, equality secrets hashed, and one-line errors."""

from __future__ import annotations

import json
import stat

from segdesk.cli import main
from segdesk.collector_relay import hook_sources
from segdesk.collector_relay.config import hash_secret


def test_add_list_remove(relay_data, monkeypatch, capsys):
    data, _ = relay_data
    monkeypatch.setenv("SHOP_SECRET", "shpss_abc")
    monkeypatch.setenv("TC_WORD", "WORD123")
    assert main(["relay", "hooks", "add", "shopify", "--data", str(data), "--secret-env", "SHOP_SECRET"]) == 0
    assert "https://YOUR-RELAY-HOST/v1/hooks/shopify" in capsys.readouterr().out
    assert main(["relay", "hooks", "add", "thrivecart", "--name", "tc", "--data", str(data),
                 "--secret-env", "TC_WORD"]) == 0
    assert main(["relay", "hooks", "add", "samcart", "--data", str(data), "--secret-env", "UNSET_VAR"]) == 0
    made = capsys.readouterr().out.split("SamCart key: ")[1].split()[0]
    stored = json.loads((data / "hooks.json").read_text())
    assert stat.S_IMODE((data / "hooks.json").stat().st_mode) == 0o600
    assert stored["shopify"] == {"kind": "shopify", "key": "shpss_abc"}  # the relay must compute the HMAC
    assert stored["tc"] == {"kind": "thrivecart", "secret_hash": hash_secret("WORD123")}
    assert stored["samcart"] == {"kind": "samcart", "secret_hash": hash_secret(made)}
    assert "WORD123" not in (data / "hooks.json").read_text()
    assert main(["relay", "hooks", "list", "--data", str(data), "--json"]) == 0
    assert [r["name"] for r in json.loads(capsys.readouterr().out)] == ["samcart", "shopify", "tc"]
    assert main(["relay", "hooks", "remove", "tc", "--data", str(data)]) == 0
    assert set(hook_sources.load(data, environ={})) == {"samcart", "shopify"}


def test_errors_are_one_line(relay_data, tmp_path, monkeypatch, capsys):
    data, _ = relay_data
    monkeypatch.setenv("S", "x")
    assert main(["relay", "hooks", "add", "stripe", "--data", str(data), "--secret-env", "NOPE"]) == 1
    assert capsys.readouterr().err.strip() == "segdesk-relay: $NOPE is not set"
    assert main(["relay", "hooks", "add", "stripe", "--data", str(data), "--secret-env", "S"]) == 0
    assert main(["relay", "hooks", "add", "stripe", "--data", str(data), "--secret-env", "S"]) == 1
    assert "exists already" in capsys.readouterr().err
    assert main(["relay", "hooks", "add", "stripe", "--name", "Bad-Name", "--data", str(data),
                 "--secret-env", "S"]) == 1
    assert main(["relay", "hooks", "add", "stripe", "--data", str(tmp_path / "nothing"), "--secret-env", "S"]) == 1
    assert main(["relay", "hooks", "add", "paypal", "--data", str(data)]) == 2
    err = capsys.readouterr().err
    assert "not a usable webhook source name" in err and "not set up yet" in err


def test_environment_form_for_container_hosts(tmp_path):
    sources = hook_sources.load(None, environ={"SEGDESK_RELAY_HOOK_SHOP": "shopify:k1",
                                               "SEGDESK_RELAY_HOOK_TC": "thrivecart:w"})
    assert sources["shop"].key == "k1" and sources["tc"].secret_hash == hash_secret("w")


def test_add_drip_makes_a_url_key_and_prints_where_to_paste_it(relay_data, capsys):
    data, _ = relay_data
    assert main(["relay", "hooks", "add", "drip", "--data", str(data)]) == 0  # no terminal: a key is made
    out = capsys.readouterr().out
    made = out.split("Drip key: ")[1].split()[0]
    assert f"paste this address into Drip (Settings > Webhooks > New Webhook, with the events you want): " \
           f"https://YOUR-RELAY-HOST/v1/hooks/drip?key={made}" in out
    assert json.loads((data / "hooks.json").read_text())["drip"] == {"kind": "drip", "secret_hash": hash_secret(made)}
