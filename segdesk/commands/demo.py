"""segdesk demo [--no-open]: a demo workspace with realistic data, a live local relay, and the app on it.

The workspace is a ``demo`` folder beside the default workspace unless
--workspace or SEGDESK_WORKSPACE says otherwise. Its data comes from
``core.demo.generate``. A relay runs on a free loopback port (configured as
the workspace's relay source) and a small trickle process posts simulated
visits and sign-ups to it every few seconds, so Sync Now brings something new
from the first minute. Both stop when the app closes. ``--no-open`` builds the
workspace and prints where it is; ``segdesk sync`` and ``segdesk erase`` on it
start the relay for their own duration (:func:`relay_for_command`).
"""

from __future__ import annotations

import contextlib
import os
import random
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

from ..core import paths
from ..core.progress import Progress
from ..core.store import Workspace, open_workspace
from ..errors import ProcessFailed
from .argtypes import MAX_DEMO_CONTACTS, bounded_int

DEMO_PASSPHRASE = "segdesk-demo"  # only for the demo relay's throwaway pull token, when no keychain exists
PORT_SETTING = "demo.relay_port"
WRITE_KEY_SETTING = "relay.write_key"  # the Relay page's snippet reads it too
TRICKLE_EVERY_S = 4.0


def register(sub, common) -> None:
    p = sub.add_parser("demo", help="make a demo workspace with a live local relay, and open it", parents=[common])
    p.add_argument("--no-open", action="store_true", help="build the workspace and print where it is")
    p.add_argument("--contacts", type=bounded_int(1, MAX_DEMO_CONTACTS), default=2000, help="contacts to generate (default 2000)")
    p.add_argument("--seed", type=bounded_int(0, 2**32 - 1), default=7)
    p.add_argument("--fresh", action="store_true", help="delete an existing demo workspace first")
    p.set_defaults(run=run)


def demo_folder(explicit: str | None) -> Path:
    if explicit or os.environ.get(paths.ENV_WORKSPACE):
        return paths.resolve_workspace(explicit)
    return paths.default_workspace().parent / "demo"


def _say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def build(folder: Path, contacts: int, seed: int, fresh: bool = False) -> Workspace:
    """Open the demo workspace, generating its data the first time."""
    if fresh and paths.database_path(folder).exists():
        for suffix in ("", "-wal", "-shm"):
            Path(str(paths.database_path(folder)) + suffix).unlink(missing_ok=True)
    ws = open_workspace(folder)
    if ws.conn.execute("SELECT count(*) FROM (SELECT 1 FROM contacts LIMIT 1)").fetchone()[0]:
        _say(f"Using the demo workspace at {folder}")
        return ws
    from ..core.demo import generate
    from ..core.refresh import refresh_reports

    _say(f"Generating a demo workspace with {contacts:,} contacts at {folder} …")
    last = [0.0]

    def show(p: Progress) -> None:
        if p.fraction is not None and p.fraction - last[0] >= 0.1:
            last[0] = p.fraction
            _say(f"  {p.status} {int(p.fraction * 100)}%")

    # The story ends today, so "last 30 days" on the dashboard has something to show.
    stats = generate(ws, contacts=contacts, seed=seed, now=datetime.now(timezone.utc),
                     progress=Progress(on_update=show))
    refresh_reports(ws)
    _say("  " + ", ".join(f"{v:,} {k.replace('_', ' ')}" for k, v in stats.items()))
    return ws


def free_port(preferred: int | None = None) -> int:
    for port in ([preferred] if preferred else []) + [0]:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return s.getsockname()[1]
    raise ProcessFailed("no free loopback port")


def configure_relay(ws: Workspace, port: int) -> dict:
    """Make sure the relay's data folder exists and the workspace has a relay source for ``port``.

    Returns ``{"url", "write_key", "pull_token", "data"}``. Keys are reused while the
    workspace can still read its pull token, else rotated.
    """
    from ..collector_relay import config as relay_config
    from ..sync import secrets, sources

    data = ws.path / "relay"
    url = f"http://127.0.0.1:{port}"
    store = "keyring"
    if secrets.keyring_problem():
        os.environ.setdefault(secrets.PASSPHRASE_ENV, DEMO_PASSPHRASE)
        store = "encrypted-file"
    existing = next((s for s in sources.list_sources(ws.conn) if s.kind == "relay"), None)
    configured = (data / relay_config.CONFIG_NAME).exists()
    token = _secret_or_none(ws, existing) if existing is not None and configured else None
    write_key = ws.setting(WRITE_KEY_SETTING) if token else None
    rekeyed = not (token and write_key)
    if rekeyed:
        keys = relay_config.init(data, rotate=configured)
        token, write_key = keys["pull_token"], keys["write_key"]
    if existing is None or rekeyed or existing.config.get("base_url") != url:
        if existing is not None:
            sources.remove_source(ws, existing.name)
        sources.add_source(ws, "relay", "relay", {"base_url": url}, token, store)
    ws.set_setting(WRITE_KEY_SETTING, write_key)
    ws.set_setting(PORT_SETTING, str(port))
    return {"url": url, "write_key": write_key, "pull_token": token, "data": str(data)}


def _secret_or_none(ws: Workspace, source) -> str | None:
    from ..sync import secrets, sources

    try:
        return sources.secret_of(ws, source)
    except (secrets.SecretError, OSError):
        return None


def _wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 15.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise ProcessFailed(f"the demo relay stopped at start (exit status {proc.returncode})")
        if _answers(url):
            return
        time.sleep(0.15)
    raise ProcessFailed(f"the demo relay did not answer at {url} within {timeout:.0f} s")


def _die_with_parent() -> None:
    """Linux: the child gets SIGTERM if the demo process dies without cleaning up (kill -9, crash)."""
    import ctypes
    import signal

    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _spawn(argv: list[str], log) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", *argv], stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL,
                            preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None)


def start_relay(relay: dict, port: int, log_dir: Path) -> subprocess.Popen:
    """The demo relay on ``port``, once it answers."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log = open(log_dir / "demo-relay.log", "ab")
    proc = _spawn(["segdesk.collector_relay", "serve", "--host", "127.0.0.1", "--port", str(port),
                   "--data", relay["data"]], log)
    try:
        _wait_healthy(relay["url"], proc)
    except ProcessFailed:
        stop([proc])
        raise
    return proc


def start_background(relay: dict, port: int, log_dir: Path) -> list[subprocess.Popen]:
    """Start the relay and the trickle; returns both processes (relay first)."""
    relay_proc = start_relay(relay, port, log_dir)
    log = open(log_dir / "demo-relay.log", "ab")
    trickle_proc = _spawn(["segdesk.commands.demo", "--trickle", relay["url"], relay["write_key"]], log)
    return [relay_proc, trickle_proc]


def _answers(url: str) -> bool:
    import httpx

    try:
        httpx.get(f"{url}/healthz", timeout=1.0)  # any answer (401 without the token) means it is up
        return True
    except httpx.HTTPError:
        return False


@contextlib.contextmanager
def relay_for_command(ws: Workspace) -> Iterator[None]:
    """While ``segdesk sync`` or ``erase`` works on the demo workspace: its relay answers and its secret opens.

    ``segdesk demo`` runs the relay only while the app is open. A command that
    talks to it on its own starts it for its duration (on its usual port, or a
    free one when that is taken), posts one round of simulated visits so a sync
    has something new, and stops it after. Without a keychain the demo's pull
    token is in the workspace's secrets file under the demo passphrase, which
    is supplied here as when the demo was built. Any other workspace: nothing.
    """
    from ..collector_relay.config import CONFIG_NAME
    from ..sync.secrets import PASSPHRASE_ENV

    port = ws.setting(PORT_SETTING)
    if port is None or not (ws.path / "relay" / CONFIG_NAME).exists():
        yield
        return
    os.environ.setdefault(PASSPHRASE_ENV, DEMO_PASSPHRASE)
    if _answers(f"http://127.0.0.1:{port}"):  # the app's demo relay is running
        yield
        return
    port = free_port(int(port))
    relay = configure_relay(ws, port)
    proc = start_relay(relay, port, ws.path / "logs")
    try:
        _post_visits(relay)
        yield
    finally:
        stop([proc])


def _post_visits(relay: dict) -> None:
    import httpx

    batch = trickle_batch(random.Random(), [])
    try:
        httpx.post(f"{relay['url']}/v1/batch", json={"batch": batch}, auth=(relay["write_key"], ""), timeout=5.0)
    except httpx.HTTPError:
        pass  # a sync with nothing new is still a sync


def stop(procs: list[subprocess.Popen]) -> None:
    for proc in reversed(procs):
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run(args, _ws) -> int:
    folder = demo_folder(getattr(args, "workspace", None))
    ws = build(folder, args.contacts, args.seed, args.fresh)
    try:
        preferred = int(ws.setting(PORT_SETTING) or 0) or None
        port = free_port(preferred)
        relay = configure_relay(ws, port)
    finally:
        ws.close()
    if args.no_open:
        print(folder)
        _say(f"Demo workspace ready. Open it with: segdesk demo   (or: segdesk --workspace {folder} app)")
        return 0
    procs = start_background(relay, port, folder / "logs")
    _say(f"Demo relay on {relay['url']} with simulated visitors; press Sync Now (Ctrl+R) in the app.")
    try:
        from ..ui.app import main as app_main

        return app_main(folder)
    finally:
        stop(procs)


# -- the trickle: simulated visitors posting to the demo relay ----------------------------------------

CHANNELS = [("?utm_source=facebook&utm_medium=cpc&utm_campaign=spring_sale", "https://l.facebook.com/"),
            ("?gclid=demo", "https://www.google.com/"), ("", "https://www.google.com/search"),
            ("?utm_source=newsletter&utm_medium=email&utm_campaign=weekly_digest", ""), ("", "")]
PAGES = [("/", "Home"), ("/pricing", "Pricing"), ("/blog/ltv-guide", "The LTV guide"), ("/features", "Features")]
# The relay drops events whose user agent looks like a bot (httpx's own would), so each says which browser it is.
BROWSERS = [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 Version/17.4 Mobile Safari/604.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
]


def trickle_batch(rng: random.Random, visitors: list[dict], site: str = "https://shop.example.com") -> list[dict]:
    """A few page views from new and returning visitors; now and then one of them signs up."""
    now = datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    if not visitors or rng.random() < 0.6:
        visitors.append({"aid": f"trickle-{uuid.uuid4().hex[:12]}", "channel": rng.choice(CHANNELS), "known": False,
                         "ua": rng.choice(BROWSERS)})
    batch = []
    for v in rng.sample(visitors, min(len(visitors), rng.randint(1, 3))):
        path, title = rng.choice(PAGES)
        query, referrer = v.pop("channel", ("", ""))
        batch.append({"type": "page", "anonymousId": v["aid"], "messageId": str(uuid.uuid4()), "timestamp": now,
                      "context": {"userAgent": v["ua"],
                                  "page": {"url": f"{site}{path}{query}", "path": path, "title": title,
                                           "referrer": referrer, "search": query}}})
        if not v["known"] and rng.random() < 0.3:
            v["known"] = True
            email = f"{rng.choice(['ana', 'ben', 'chloe', 'dev', 'ella'])}.{v['aid'][-6:]}@trickle.example.com"
            batch.append({"type": "identify", "anonymousId": v["aid"], "messageId": str(uuid.uuid4()),
                          "timestamp": now, "traits": {"email": email},
                          "context": {"userAgent": v["ua"], "segdesk": {"method": "form"},
                                      "page": {"url": f"{site}{path}"}}})
    del visitors[:-40]
    return batch


def trickle_main(argv: list[str]) -> int:
    """``python -m segdesk.commands.demo --trickle URL WRITE_KEY``: post until the parent goes away."""
    import httpx

    url, write_key = argv[0].rstrip("/"), argv[1]
    parent = os.getppid()
    rng = random.Random()
    visitors: list[dict] = []
    with httpx.Client(timeout=5.0, auth=(write_key, "")) as client:
        while os.getppid() == parent:
            try:
                client.post(f"{url}/v1/batch", json={"batch": trickle_batch(rng, visitors)})
            except httpx.HTTPError:
                pass  # the relay may be restarting; try again next round
            time.sleep(TRICKLE_EVERY_S * rng.uniform(0.5, 1.5))
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--trickle"]:
        sys.exit(trickle_main(sys.argv[2:]))
    sys.exit(2)
