"""Parsing processes die with the import: after a SIGKILL of `segdesk import
events`, the worker processes stop (parent-death signal on Linux, a parent-id
poll everywhere) and take their shard files with them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from segdesk.core.importing import parallel_import

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux") or parallel_import.worker_count() < 2,
                                reason="reads /proc; needs two cores for worker processes")


def _workers_of(pid: int) -> list[int]:
    """Live spawned multiprocessing children of `pid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid and b"spawn_main" in cmdline:
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")  # a zombie has stopped; only its parent's reaper is missing


def _wait(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_sigkill_of_the_import_stops_its_workers_and_leaves_no_shards(tmp_path):
    events = tmp_path / "events.jsonl"
    with events.open("w") as f:
        for i in range(400_000):
            f.write(json.dumps({"type": "page", "anonymousId": f"a{i % 5000}", "messageId": f"m{i}",
                                "timestamp": "2024-01-01T00:00:00Z",
                                "context": {"page": {"url": f"https://shop.example.com/p/{i}"}}}) + "\n")
    workspace = tmp_path / "ws"
    with (tmp_path / "stderr").open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "segdesk.cli", "--workspace", str(workspace),
                                 "import", "events", str(events)],
                                env={**os.environ, "PYTHONPATH": str(REPO)}, stdout=subprocess.DEVNULL, stderr=log)
    try:
        # Kill once the workers are parsing: their shard folder exists and holds a shard.
        workers = _wait(lambda: len(_workers_of(proc.pid)) >= 2 and list(workspace.glob(".import-*/chunk*"))
                        and _workers_of(proc.pid), 60, "worker processes writing shards")
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        _wait(lambda: not any(_alive(w) for w in workers), 20, f"workers {workers} to stop")
        _wait(lambda: not list(workspace.glob(".import-*")), 10,
              f"the shard folder to go: {[p.name for p in workspace.glob('.import-*/*')]} "
              f"{(tmp_path / 'stderr').read_text()[-2000:]}")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for w in _workers_of(proc.pid):
            os.kill(w, signal.SIGKILL)
    # Nothing of the killed import is stored: the bulk load is one transaction.
    import sqlite3

    conn = sqlite3.connect(workspace / "segdesk.sqlite")
    assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == 0
    conn.close()
