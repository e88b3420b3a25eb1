"""`segdesk-relay init / serve` and the relay's independence from desktop code."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import httpx

from segdesk.collector_relay import config as relay_config
from segdesk.collector_relay.__main__ import main

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_init_prints_keys_once_and_stores_hashes(tmp_path, capsys):
    data = tmp_path / "relay"
    assert main(["init", "--data", str(data), "--json"]) == 0
    keys = json.loads(capsys.readouterr().out)
    stored = (data / "relay.json").read_text()
    assert keys["write_key"] not in stored and keys["pull_token"] not in stored
    assert relay_config.hash_secret(keys["write_key"]) in stored
    assert oct((data / "relay.json").stat().st_mode & 0o777) == "0o600"

    assert main(["init", "--data", str(data)]) == 1
    err = capsys.readouterr().err
    assert "--rotate" in err and err.count("\n") == 1 and "Traceback" not in err

    assert main(["init", "--data", str(data), "--rotate"]) == 0
    out = capsys.readouterr().out
    assert "write key:" in out and keys["write_key"] not in out
    config = relay_config.load(data, environ={})
    assert not relay_config.secret_matches(keys["write_key"], config.write_key_hash)


def test_usage_errors_exit_2_and_config_errors_exit_1(tmp_path, capsys):
    assert main([]) == 2
    assert main(["serve", "--port", "x"]) == 2
    assert main(["serve", "--data", str(tmp_path / "nothing-here")]) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("segdesk-relay:") and "init" in err
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "relay.json").write_text("{not json")
    assert main(["serve", "--data", str(tmp_path / "bad")]) == 1


def test_keys_from_environment_for_container_hosts(tmp_path, spawn_relay):
    env = {"SEGDESK_RELAY_WRITE_KEY": "w" * 40, "SEGDESK_RELAY_PULL_TOKEN": "p" * 40,
           "SEGDESK_RELAY_ORIGINS": "https://example.com"}
    relay = spawn_relay(tmp_path / "fresh", env)  # no init: the environment is enough
    ua = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0"}
    sent = httpx.post(f"{relay.url}/v1/page", auth=("w" * 40, ""), headers=ua,
                      json={"type": "page", "anonymousId": "a"})
    assert sent.status_code == 200
    health = httpx.get(f"{relay.url}/healthz", headers={"Authorization": "Bearer " + "p" * 40})
    assert health.json()["buffered"] == 1
    assert (tmp_path / "fresh" / "buffer.db").exists()


def test_relay_imports_no_desktop_code():
    # What a small server installs must be enough: no Qt, no workspace code.
    code = ("import sys, segdesk.collector_relay.app, segdesk.collector_relay.__main__,"
            " segdesk.collector_relay.deploy\n"
            "bad = [m for m in sys.modules if m.split('.')[0] in"
            " ('PySide6', 'pyqtgraph', 'sqlite_utils', 'keyring', 'platformdirs')"
            " or m.startswith(('segdesk.core', 'segdesk.sync', 'segdesk.ui', 'segdesk.cli'))]\n"
            "print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": REPO}, check=True).stdout
    assert out.strip() == "[]"
