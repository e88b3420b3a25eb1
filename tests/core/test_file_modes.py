"""Private files are private: the relay's data folder and buffer, the workspace,
its database, backups, exports and the secrets file are created owner-only
(0700 folders, 0600 files) whatever the umask; an existing folder open to
others gets a one-line warning."""

from __future__ import annotations

import asyncio
import os
import stat

import pytest

from segdesk.cli import main
from segdesk.collector_relay.__main__ import main as relay_main
from segdesk.collector_relay.buffer import Row
from segdesk.collector_relay.buffer_sqlite import SQLiteBuffer
from segdesk.core.store import _backup_before_migrating, open_workspace

pytestmark = pytest.mark.skipif(os.name != "posix", reason="POSIX modes")


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture(params=[0o022, 0o000], ids=["umask022", "umask000"])
def loose_umask(request):
    old = os.umask(request.param)
    yield
    os.umask(old)


def test_relay_init_and_buffer_are_owner_only(tmp_path, loose_umask, capsys):
    data = tmp_path / "relay"
    assert relay_main(["init", "--data", str(data), "--json"]) == 0
    assert capsys.readouterr().err == ""
    assert mode(data) == 0o700 and mode(data / "relay.json") == 0o600

    buffer = SQLiteBuffer(data / "buffer.db")
    buffer.start()
    try:
        asyncio.run(buffer.append([Row("m1", "2024-01-01T00:00:00.000Z", 0.0, "a", None, None, b"{}")]))
        files = [p for p in data.iterdir() if p.name.startswith("buffer.db")]
        assert {p.name for p in files} >= {"buffer.db", "buffer.db-wal", "buffer.db-shm"}
        assert {p.name: mode(p) for p in files} == {p.name: 0o600 for p in files}
    finally:
        buffer.stop()


def test_relay_warns_about_an_open_data_folder(tmp_path, capsys):
    data = tmp_path / "relay"
    data.mkdir()
    os.chmod(data, 0o755)
    assert relay_main(["init", "--data", str(data)]) == 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "other users" in err and "chmod 700" in err
    assert mode(data) == 0o755  # the operator's choice is reported, not overridden


def test_workspace_database_backup_and_exports_are_owner_only(tmp_path, loose_umask, monkeypatch, capsys):
    folder = tmp_path / "deep" / "ws"
    ws = open_workspace(folder)
    try:
        assert ws.warnings == []
        ws.conn.execute("CREATE TABLE IF NOT EXISTS probe (x)")
        ws.conn.execute("INSERT INTO probe VALUES (1)")
        ws.conn.commit()
        assert mode(folder) == 0o700
        for name in ("segdesk.sqlite", "segdesk.sqlite-wal", "segdesk.sqlite-shm"):
            assert mode(folder / name) == 0o600, name
        backup = _backup_before_migrating(folder / "segdesk.sqlite", folder)
        assert mode(backup.parent) == 0o700 and mode(backup) == 0o600
    finally:
        ws.close()

    out = tmp_path / "report.pdf"
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert main(["--workspace", str(folder), "export", "pdf", str(out), "--report", "summary"]) == 0
    assert mode(out) == 0o600

    from segdesk.sync.secrets import EncryptedFile

    monkeypatch.setenv("SEGDESK_SECRETS_PASSPHRASE", "correct horse battery staple")
    (folder / "secrets.enc.tmp").write_text("stale")
    os.chmod(folder / "secrets.enc.tmp", 0o644)
    EncryptedFile(folder / "secrets.enc.json").put("stripe", "sk_test_123")
    assert mode(folder / "secrets.enc.json") == 0o600


def test_cli_warns_once_about_an_open_workspace_folder(tmp_path, capsys):
    folder = tmp_path / "ws"
    open_workspace(folder).close()
    os.chmod(folder, 0o755)
    capsys.readouterr()
    assert main(["--workspace", str(folder), "contacts", "--json"]) == 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "can be read by other users" in err and str(folder) in err
