"""A throw-away PostgreSQL cluster for the tests: initdb into a temporary
folder, `postgres` on a free loopback port, removed at the end.

Debian's `postgresql` package (scripts/system-deps.sh) puts the server in
/usr/lib/postgresql/<version>/bin, off PATH. initdb refuses to run as root, so
as root the cluster belongs to the `postgres` user the package creates.

Without the binaries the PostgreSQL tests skip, except under CI=true, where a
missing server is a failure: CI must never pass by silently testing less.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest


def server_bin() -> Path | None:
    """The newest installed server's bin folder, or None."""
    initdb = shutil.which("initdb")
    if initdb:  # possibly a symlink into the versioned folder holding its siblings
        return Path(initdb).resolve().parent
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                   key=lambda p: int(Path(p).parts[-3]) if Path(p).parts[-3].isdigit() else 0)
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Cluster:
    """One PostgreSQL server; stop() and start() simulate a restart."""

    def __init__(self, root: Path, bin_dir: Path, fsync: bool = False) -> None:
        self.root = root
        self.fsync = fsync
        self.bin = bin_dir
        self.data = root / "data"
        self.port = _free_port()
        self.proc: subprocess.Popen | None = None
        self.prefix = self._as_owner()
        self._counter = 0

    @staticmethod
    def _as_owner() -> list[str]:
        # setpriv (util-linux, on every Debian) execs the command in place, so
        # signals reach postgres itself; runuser would stay in between.
        if os.geteuid() != 0:
            return []
        return [shutil.which("setpriv") or "setpriv", "--reuid=postgres", "--regid=postgres",
                "--init-groups", "--reset-env"]

    def _run(self, *args: str) -> None:
        subprocess.run([*self.prefix, *args], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE)

    def init(self) -> None:
        # The cluster's owner must reach the folder: a root-made temp dir is 0700.
        os.chmod(self.root, 0o777)
        # --no-sync: a throw-away cluster needs no fsync of its skeleton.
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-A", "trust",
                  "-U", "postgres", "-E", "UTF8", "--no-sync")

    def start(self) -> None:
        # fsync off for tests: they prove the relay's logic, not the disk's;
        # the benchmark keeps it on. The socket lives in our folder, not /run.
        self.proc = subprocess.Popen(
            [*self.prefix, str(self.bin / "postgres"), "-D", str(self.data), "-k", str(self.root),
             "-p", str(self.port), "-h", "127.0.0.1", "-c", f"fsync={'on' if self.fsync else 'off'}",
             "-c", "max_connections=200"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"postgres exited with {self.proc.returncode}")
            ready = subprocess.run([str(self.bin / "pg_isready"), "-q", "-h", "127.0.0.1",
                                    "-p", str(self.port)])
            if ready.returncode == 0:
                return
            time.sleep(0.1)
        raise TimeoutError("postgres did not start")

    def stop(self, mode: int = signal.SIGINT) -> None:
        """SIGINT is PostgreSQL's fast shutdown: clients are cut off mid-transaction."""
        if self.proc is None:
            return
        self.proc.send_signal(mode)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def new_database(self) -> str:
        """A fresh empty database (one per test keeps tests independent); its URL."""
        import psycopg

        self._counter += 1
        name = f"t{os.getpid()}_{self._counter}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


@contextlib.contextmanager
def running_cluster():
    bin_dir = server_bin()
    if bin_dir is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true but no PostgreSQL server is installed (scripts/system-deps.sh)")
        pytest.skip("no PostgreSQL server installed (Debian: apt-get install postgresql)")
    root = Path(tempfile.mkdtemp(prefix="segdesk-pg-"))
    cluster = Cluster(root, bin_dir)
    try:
        cluster.init()
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(params=["sqlite", "postgres"], name="relay_buffer")
def both_buffers(request) -> str:
    """Import into a test module to run its relay tests on both buffers."""
    return request.param
