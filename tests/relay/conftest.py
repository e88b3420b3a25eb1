"""Running the relay for tests: in a thread (fast) or as a real process (for
crash tests and the command line), always on a free loopback port."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from segdesk.collector_relay import config as relay_config
from tests.pg import running_cluster

REPO = Path(__file__).resolve().parents[2]
BROWSER_UA = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
              "(KHTML, like Gecko) Version/17.4 Safari/605.1.15")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 15.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"relay exited with {proc.returncode}: {proc.stderr.read()!r}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port}")


class RelayThread:
    """A real uvicorn server on loopback, in a thread of the test process."""

    def __init__(self, config: relay_config.RelayConfig) -> None:
        import uvicorn

        from segdesk.collector_relay.app import create_app

        self.app = create_app(config)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(
            self.app, log_level="warning", access_log=False, proxy_headers=False, lifespan="on"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                       daemon=True)

    def __enter__(self) -> "RelayThread":
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("relay thread did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


class RelayProcess:
    """`python -m segdesk.collector_relay serve` as a child process."""

    def __init__(self, data: Path, env: dict | None = None) -> None:
        self.data = data
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {**os.environ, "PYTHONPATH": str(REPO), **(env or {})}
        self.proc: subprocess.Popen | None = None

    def start(self) -> "RelayProcess":
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "segdesk.collector_relay", "serve", "--data", str(self.data),
             "--port", str(self.port)],
            env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_for_port(self.port, proc=self.proc)
        return self

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        if self.proc and self.proc.stderr:
            self.proc.stderr.close()


@pytest.fixture
def relay_data(tmp_path):
    """A fresh data folder and its keys: (folder, {"write_key", "pull_token"})."""
    data = tmp_path / "relay"
    return data, relay_config.init(data)


@pytest.fixture(scope="session")
def pg_cluster():
    """One throw-away PostgreSQL server for the session (tests/pg.py)."""
    with running_cluster() as cluster:
        yield cluster


@pytest.fixture
def relay_buffer() -> str:
    """The buffer make_relay uses; a module runs on both by importing
    tests.pg.both_buffers."""
    return "sqlite"


@pytest.fixture
def database_url(request, relay_buffer) -> str:
    """A fresh PostgreSQL database for this test, or "" on SQLite."""
    if relay_buffer != "postgres":
        return ""
    return request.getfixturevalue("pg_cluster").new_database()


@pytest.fixture
def make_relay(relay_data, database_url):
    """Start a threaded relay with settings overridden: make_relay(rate_burst=5)."""
    data, keys = relay_data
    started = []

    def start(**settings) -> RelayThread:
        config = relay_config.load(data, environ={})
        config.database_url = database_url
        config.purge_interval_seconds = 3600
        for name, value in settings.items():
            setattr(config, name, value)
        relay = RelayThread(config).__enter__()
        relay.keys = keys
        started.append(relay)
        return relay

    yield start
    for relay in started:
        relay.__exit__(None, None, None)


@pytest.fixture
def relay(make_relay):
    return make_relay()


class Clients:
    """Ready-made HTTP clients for one relay: `send` (write key, browser UA)
    and `pull` (pull token)."""

    def __init__(self, url: str, keys: dict) -> None:
        self.keys = keys
        self.send = httpx.Client(base_url=url, auth=(keys["write_key"], ""),
                                 headers={"User-Agent": BROWSER_UA}, timeout=10)
        self.pull = httpx.Client(base_url=url, timeout=30,
                                 headers={"Authorization": f"Bearer {keys['pull_token']}"})
        self.anon = httpx.Client(base_url=url, headers={"User-Agent": BROWSER_UA}, timeout=10)

    def events(self, after: int = 0, limit: int = 1000) -> list[dict]:
        response = self.pull.get("/v1/events", params={"after": after, "limit": limit})
        response.raise_for_status()
        return response.json()["events"]

    def close(self) -> None:
        for client in (self.send, self.pull, self.anon):
            client.close()


@pytest.fixture
def make_clients():
    """make_clients(relay) -> Clients, closed after the test."""
    made = []

    def make(relay) -> Clients:
        made.append(Clients(relay.url, relay.keys))
        return made[-1]

    yield make
    for c in made:
        c.close()


@pytest.fixture
def clients(relay, make_clients):
    return make_clients(relay)


@pytest.fixture
def spawn_relay():
    """spawn_relay(data, env=None) -> a started RelayProcess, stopped after the test."""
    spawned = []

    def spawn(data: Path, env: dict | None = None) -> RelayProcess:
        spawned.append(RelayProcess(data, env))
        return spawned[-1].start()

    yield spawn
    for proc in spawned:
        proc.stop()
