"""`deploy` against a real OpenSSH server started on loopback, with systemd
replaced by nohup (``deploy(without_systemd=True)``, injected by the tests only)."""

from __future__ import annotations

import contextlib
import functools
import os
import re
import shutil
import signal
import site
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from segdesk.collector_relay import deploy as relay_deploy
from segdesk.collector_relay.__main__ import main

SSHD = "/usr/sbin/sshd"
UA = "Mozilla/5.0 (X11; Linux x86_64; rv:126.0) Gecko/20100101 Firefox/126.0"

# About 10 s in all, so not marked slow.
pytestmark = [
    pytest.mark.skipif(not (os.path.exists(SSHD) and shutil.which("ssh") and shutil.which("ssh-keygen")),
                       reason="needs openssh-server and openssh-client"),
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_port(port: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"sshd is not listening on {port}")


@pytest.fixture
def sshd(tmp_path):
    keys = tmp_path / "ssh"
    keys.mkdir(mode=0o700)
    for name in ("host", "client"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(keys / name)],
                       check=True)
    shutil.copy(keys / "client.pub", keys / "authorized_keys")
    port = _free_port()
    user = subprocess.run(["id", "-un"], capture_output=True, text=True).stdout.strip()
    # The "server" is this machine. The test-mode venv reuses the server's
    # site-packages; a login shell may put another python3 first on PATH (root's
    # .bashrc with pyenv), so also hand the relay our own site-packages, which
    # hold its dependencies wherever the tests run (a CI venv included).
    path = f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin"
    site_dirs = ":".join(site.getsitepackages())
    (keys / "sshd_config").write_text(f"""
Port {port}
ListenAddress 127.0.0.1
HostKey {keys / 'host'}
PidFile {keys / 'sshd.pid'}
AuthorizedKeysFile {keys / 'authorized_keys'}
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UsePAM no
StrictModes no
SetEnv PATH={path} PYTHONPATH={site_dirs}
""")
    if os.geteuid() == 0:
        os.makedirs("/run/sshd", exist_ok=True)  # sshd's privilege-separation folder
    proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(keys / "sshd_config")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _wait_for_port(port)
    args = [f"ssh://{user}@127.0.0.1:{port}", "--identity", str(keys / "client"),
            "--ssh-option", f"UserKnownHostsFile={keys / 'known_hosts'}"]
    yield args
    proc.terminate()
    proc.wait(10)


@pytest.fixture
def server_prefix(tmp_path):
    prefix = tmp_path / "srv" / "segdesk-relay"
    yield prefix
    pid_file = prefix / "relay.pid"
    if pid_file.exists():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)


def test_deploy_installs_then_updates_keeping_events(sshd, server_prefix, monkeypatch, capsys):
    monkeypatch.setattr(relay_deploy, "deploy", functools.partial(relay_deploy.deploy, without_systemd=True))
    port = _free_port()
    deploy = ["deploy", *sshd, "--prefix", str(server_prefix), "--port", str(port)]

    assert main(deploy) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "installed" in out and f"http://127.0.0.1:{port}" in out
    write_key = re.search(r'data-write-key="([^"]+)"', out).group(1)
    pull_token = re.search(r"pull token: (\S+)", out).group(1)
    pull = {"Authorization": f"Bearer {pull_token}"}
    url = f"http://127.0.0.1:{port}"
    assert httpx.get(f"{url}/healthz", headers=pull).json()["buffered"] == 0
    assert httpx.get(f"{url}/p.js").status_code == 200  # the pixel script was shipped too
    for i in range(3):
        sent = httpx.post(f"{url}/v1/page", auth=(write_key, ""), headers={"User-Agent": UA},
                          json={"type": "page", "anonymousId": "a", "messageId": f"m{i}"})
        assert sent.status_code == 200
    first_pid = (server_prefix / "relay.pid").read_text()

    assert main(deploy) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "updated" in out and pull_token not in out
    assert (server_prefix / "relay.pid").read_text() != first_pid  # really restarted
    health = httpx.get(f"{url}/healthz", headers=pull).json()
    assert health["ok"] is True and health["buffered"] == 3
    events = httpx.get(f"{url}/v1/events", headers=pull).json()["events"]
    assert [e["event"]["messageId"] for e in events] == ["m0", "m1", "m2"]


@pytest.mark.skipif(os.path.isdir("/run/systemd/system"), reason="this machine runs systemd")
def test_deploy_says_what_is_missing_and_changes_nothing(sshd, server_prefix, monkeypatch, capsys):
    # Without the test's nohup this container lacks systemd, a real requirement.
    assert main(["deploy", *sshd, "--prefix", str(server_prefix)]) == 1
    err = capsys.readouterr().err
    assert "systemd" in err and "nothing was changed" in err and err.count("\n") == 1
    assert not server_prefix.exists()


def test_deploy_rejects_unreachable_and_bad_targets(capsys):
    assert main(["deploy", "ftp://example.com"]) == 1
    assert "ssh://" in capsys.readouterr().err
    port = _free_port()  # nothing listens there
    assert main(["deploy", f"ssh://nobody@127.0.0.1:{port}"]) == 1
    assert "cannot connect" in capsys.readouterr().err


# -- hostile values: nothing reaches a shell --------------------------------------------

def _marker_values(marker: Path) -> dict[str, list[str]]:
    touch = f"touch {marker}"
    return {
        "--origin": [f"https://example.com\nENV\n{touch}\ncat <<'ENV'", f"https://example.com/$({touch})",
                     f"https://`{touch}`.example.com", "https://example.com/path", "javascript:alert(1)",
                     f"https://example.com;{touch}", "https://example.com:70000"],
        "--prefix": ["/opt/../etc", f"/opt/x;{touch}", "relative/path", f"/opt/$({touch})", "/opt/a b"],
        "--domain": [f"t.example.com\n{touch}", f"t.example.com;{touch}", "-t.example.com"],
        "--identity": [f"-oProxyCommand={touch}", "/no/such/key"],
    }


def test_hostile_option_values_are_refused_before_any_connection(tmp_path, capsys):
    marker = tmp_path / "pwned"
    for option, values in _marker_values(marker).items():
        for value in values:
            code = main(["deploy", "ssh://nobody@127.0.0.1:1", f"{option}={value}"])
            err = capsys.readouterr().err
            assert code == 1, (option, value)
            assert err.count("\n") == 1 and option in err and "cannot connect" not in err, (option, value, err)
    for target in [f"-oProxyCommand=touch {marker}",  # after "--": a target, not an option f"ssh://-oProxyCommand=touch {marker}",
                   f"ssh://me;touch {marker}@host", "ssh://me@host\n-oProxyCommand=x", "ssh://me@host/path"]:
        assert main(["deploy", "--", target]) == 1, target
        assert "target" in capsys.readouterr().err
    assert main(["deploy", "ssh://nobody@127.0.0.1:1", "--port", "0"]) == 2
    assert not marker.exists()


def test_hostile_values_against_the_server_run_nothing(sshd, server_prefix, tmp_path, monkeypatch, capsys):
    """Hostile values through the whole command against the loopback sshd: each is
    refused in one line, nothing runs and nothing is installed."""
    monkeypatch.setattr(relay_deploy, "deploy", functools.partial(relay_deploy.deploy, without_systemd=True))
    marker = tmp_path / "pwned"
    for option, values in _marker_values(marker).items():
        if option == "--identity":
            continue  # the fixture's own --identity is the one ssh needs
        for value in values:
            argv = ["deploy", *sshd, "--prefix", str(server_prefix), f"{option}={value}"]
            assert main(argv) == 1, (option, value)
            assert option in capsys.readouterr().err
    assert not marker.exists() and not server_prefix.exists()


def test_env_file_is_written_verbatim_by_the_remote_shell(sshd, tmp_path):
    """The env-file lines of the install script, run by the server's shell over
    ssh: a value full of shell syntax lands in relay.env as text and reads back
    the same through `.`; a line break is refused before a script exists."""
    from segdesk.collector_relay.deploy import DeployError, Remote, parse_target
    from segdesk.collector_relay.deploy_scripts import write_env_file

    marker = tmp_path / "pwned"
    hostile = f"https://a.example,$(touch {marker}),`touch {marker}`;touch {marker} *"
    remote = Remote(parse_target(sshd[0]), sshd[2], [sshd[4]])
    script = "\n".join(["set -eu", f"P={tmp_path}", write_env_file({"SEGDESK_RELAY_ORIGINS": hostile}),
                        'set -a; . "$P/relay.env"; set +a', 'printf "%s" "$SEGDESK_RELAY_ORIGINS"'])
    assert remote.run(script) == hostile
    assert not marker.exists()
    with pytest.raises(DeployError):
        write_env_file({"SEGDESK_RELAY_ORIGINS": f"https://a.example\nENV\ntouch {marker}"})


def test_deploy_with_a_database_url_buffers_in_postgresql(sshd, server_prefix, monkeypatch,
                                                           capsys, pg_cluster):
    monkeypatch.setattr(relay_deploy, "deploy", functools.partial(relay_deploy.deploy, without_systemd=True))
    # & and ? need the quoting: unquoted, sh would cut the line at the &.
    database_url = pg_cluster.new_database() + "?application_name=deployed&connect_timeout=5"
    monkeypatch.setenv("RELAY_DB", database_url)
    port = _free_port()
    assert main(["deploy", *sshd, "--prefix", str(server_prefix), "--port", str(port),
                 "--database-url-env", "RELAY_DB"]) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    write_key = re.search(r'data-write-key="([^"]+)"', out).group(1)
    assert oct((server_prefix / "relay.env").stat().st_mode & 0o777) == "0o600"
    sent = httpx.post(f"http://127.0.0.1:{port}/v1/page", auth=(write_key, ""),
                      headers={"User-Agent": UA},
                      json={"type": "page", "anonymousId": "a", "messageId": "in-pg"})
    assert sent.status_code == 200
    import psycopg

    with psycopg.connect(database_url) as conn:
        assert conn.execute("SELECT message_id FROM relay_events").fetchall() == [("in-pg",)]
        assert conn.execute("SELECT count(*) FROM pg_stat_activity"
                            " WHERE application_name = 'deployed'").fetchone()[0] >= 1
    assert not (server_prefix / "data" / "buffer.db").exists()


def test_deploy_refuses_a_database_url_of_another_kind(monkeypatch, capsys):
    monkeypatch.setenv("RELAY_DB", "mysql://u:secret@db/relay")
    assert main(["deploy", "ssh://nobody@127.0.0.1:1", "--database-url-env", "RELAY_DB"]) == 1
    err = capsys.readouterr().err
    assert "postgresql://" in err and "secret" not in err and err.count("\n") == 1
