"""A real relay process on a free loopback port, for tests that sync from it."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_relay(data: Path) -> Iterator[tuple[str, dict]]:
    """``segdesk-relay init`` then ``serve`` in a subprocess; yields (url, keys) once it accepts connections."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    keys = json.loads(subprocess.run(
        [sys.executable, "-m", "segdesk.collector_relay", "init", "--data", str(data), "--json"],
        env=env, check=True, capture_output=True, text=True).stdout)
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "segdesk.collector_relay", "serve", "--data", str(data),
                             "--host", "127.0.0.1", "--port", str(port)],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline, "relay did not start"
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}", keys
    finally:
        proc.terminate()
        proc.wait(10)
        proc.stderr.close()
