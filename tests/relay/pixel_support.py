"""What the pixel's browser tests share: a real relay process, a site on another
loopback origin, and one headless Chromium per test module.

The site is served as http://www.shop.segdesk.test:<port> (Chromium maps every
*.segdesk.test name to 127.0.0.1), so the pixel's cookie-domain search has real
parent domains to try, and every call to the relay on 127.0.0.1 is cross-origin.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SITE_HOST = "www.shop.segdesk.test"
SITE_DOMAIN = "segdesk.test"
# The relay filters bots, and HeadlessChrome's own user agent is one.
USER_AGENT = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/124.0.0.0 Safari/537.36")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--no-proxy-server", f"--host-resolver-rules=MAP *.{SITE_DOMAIN} 127.0.0.1",
]
YEAR = 365 * 86400
REPO = Path(__file__).resolve().parents[2]
# Loopback only, whatever proxy the environment names.
_LOOPBACK = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(check, timeout: float = 10.0, interval: float = 0.05, what: str = "condition"):
    """Poll `check` until it returns something truthy; return that."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


# -- the relay ------------------------------------------------------------------


class Relay:
    """A real relay (`python -m segdesk.collector_relay serve`) in a subprocess,
    which a test may stop and start again on the same port and data folder."""

    def __init__(self, data: Path, host: str = "127.0.0.1", env: dict | None = None) -> None:
        self.data = data
        self.host = host
        self.port = free_port()
        self.env = {**os.environ, **(env or {})}
        self.env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), self.env.get("PYTHONPATH")]))
        self.proc: subprocess.Popen | None = None
        out = self._run("init", "--data", str(data), "--json")
        keys = json.loads(out)
        self.write_key = keys["write_key"]
        self.pull_token = keys["pull_token"]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def _command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "segdesk.collector_relay", *args]

    def _run(self, *args: str) -> str:
        done = subprocess.run(self._command(*args), env=self.env, capture_output=True,
                              text=True, timeout=30)
        assert done.returncode == 0, f"relay {args[0]} failed: {done.stderr.strip()}"
        return done.stdout

    def start(self) -> Relay:
        # Its output goes to a file: a pipe nobody reads would stall a chatty relay.
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                self._command("serve", "--host", "127.0.0.1", "--port", str(self.port),
                              "--data", str(self.data)),
                env=self.env, stdout=log, stderr=subprocess.STDOUT)
        wait_until(self._healthy, timeout=15, what=f"the relay on port {self.port}")
        return self

    @property
    def log(self) -> Path:
        return self.data.with_name(self.data.name + "-relay.log")

    def _healthy(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"the relay exited: {self.log.read_text()[-2000:]}")
        try:
            with _LOOPBACK.open(self._private("/healthz"), timeout=1) as r:
                return r.status == 200
        except (OSError, urllib.error.URLError):
            return False

    def _private(self, path: str) -> urllib.request.Request:
        return urllib.request.Request(f"http://127.0.0.1:{self.port}{path}",
                                      headers={"Authorization": f"Bearer {self.pull_token}"})

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def events(self) -> list[dict]:
        """Every buffered event, in seq order (the desktop app's pull)."""
        found, after = [], 0
        while True:
            with _LOOPBACK.open(self._private(f"/v1/events?after={after}&limit=1000"),
                                timeout=5) as r:
                page = json.load(r)
            found += [item["event"] for item in page["events"]]
            after = page["next"]
            if not page["more"]:
                return found

    def events_of(self, anonymous_id: str) -> list[dict]:
        return [e for e in self.events() if e.get("anonymousId") == anonymous_id]

    def wait_for(self, anonymous_id: str, count: int, timeout: float = 10.0, **match) -> list[dict]:
        """Wait until `count` events of this visitor match `match` (e.g.
        type="page"); return them all."""
        def check():
            hits = [e for e in self.events_of(anonymous_id)
                    if all(e.get(k) == v for k, v in match.items())]
            return hits if len(hits) >= count else None
        return wait_until(check, timeout, what=f"{count} event(s) {match} from {anonymous_id}")


@contextmanager
def running_relay(data: Path, **kwargs):
    relay = Relay(data, **kwargs).start()
    try:
        yield relay
    finally:
        relay.stop()


# -- the site -------------------------------------------------------------------

SNIPPET = (
    "<script>window.segdesk=window.segdesk||function(){(segdesk.q=segdesk.q||[]).push(arguments)};"
    "</script>\n"
    '<script async src="%s" data-write-key="%s"%s></script>'
)


class Site:
    """A small website on loopback with the snippet in every page. Pages are
    added by tests; any other path gets a plain page. Form posts are recorded."""

    def __init__(self, relay: Relay, host: str = SITE_HOST) -> None:
        self.relay = relay
        self.host = host
        self.pages: dict[str, tuple[str, str]] = {}
        self.posts: list[tuple[str, dict]] = []
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                site._answer(self)

            def do_POST(self):
                length = int(self.headers.get("content-length") or 0)
                form = urllib.parse.parse_qs(self.rfile.read(length).decode())
                site.posts.append((self.path, form))
                site._answer(self)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str = "/") -> str:
        return f"http://{self.host}:{self.port}{path}"

    @property
    def origin(self) -> str:
        return self.url("")

    def add(self, path: str, body: str = "", attrs: str = "") -> str:
        """Serve `body` at `path` with the snippet (extra tag attributes in
        `attrs`); return the page's URL."""
        self.pages[path] = (body, attrs)
        return self.url(path)

    def _answer(self, handler: BaseHTTPRequestHandler) -> None:
        path = handler.path.split("?", 1)[0]
        if path == "/favicon.ico":
            handler.send_response(404)
            handler.end_headers()
            return
        body, attrs = self.pages.get(path, (f"<h1>{path}</h1>", ""))
        snippet = SNIPPET % (f"{self.relay.url}/p.js", self.relay.write_key, attrs)
        html = (f"<!doctype html><html><head><meta charset=utf-8><title>Page {path}</title>"
                f"{snippet}</head><body>{body}</body></html>").encode()
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html; charset=utf-8")
        handler.send_header("Content-Length", str(len(html)))
        handler.end_headers()
        handler.wfile.write(html)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# -- the browser ----------------------------------------------------------------


@contextmanager
def chromium():
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM}")
    playwright_api = pytest.importorskip("playwright.sync_api")
    with playwright_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class Visitor:
    """One browser context (a visitor with fresh cookies and storage) with a
    page open, and every request it made to the relay."""

    def __init__(self, browser, relay: Relay, init_script: str | None = None) -> None:
        self.relay = relay
        self.context = browser.new_context(user_agent=USER_AGENT)
        if init_script:
            self.context.add_init_script(init_script)
        self.relay_requests: list = []
        self.errors: list[str] = []
        self.page = self.context.new_page()
        self.page.on("request", self._request)
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))

    def _request(self, request) -> None:
        if request.url.startswith(self.relay.url + "/v1/"):
            self.relay_requests.append(request)

    def pump(self, ms: float = 0) -> None:
        """Let Playwright deliver the browser's pending events (requests seen,
        errors): the sync API only does that while it is being called."""
        self.page.wait_for_timeout(ms)

    def sent_events(self) -> list[dict]:
        """Every event the pixel tried to send (delivered or not)."""
        self.pump()
        events = []
        for request in self.relay_requests:
            if request.method == "POST":
                events += json.loads(request.post_data)["batch"]
        return events

    def goto(self, url: str) -> None:
        self.page.goto(url)
        self.wait_loaded()

    def wait_loaded(self) -> None:
        self.page.wait_for_function("window.segdesk && window.segdesk.loaded")

    def cookies(self) -> dict[str, dict]:
        return {c["name"]: c for c in self.context.cookies()}

    def anonymous_id(self) -> str:
        return wait_until(lambda: self.cookies().get("sd_aid", {}).get("value"),
                          what="the sd_aid cookie")

    def close(self) -> None:
        """Close the context; fail if the page saw an uncaught error."""
        self.pump()
        self.context.close()
        assert not self.errors, f"the page saw errors: {self.errors}"


# -- fixtures (imported by the test_pixel_* modules) ------------------------------


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


@pytest.fixture(scope="module")
def pixel_relay(tmp_path_factory):
    with running_relay(tmp_path_factory.mktemp("relay")) as relay:
        yield relay


@pytest.fixture(scope="module")
def site(pixel_relay):
    served = Site(pixel_relay)
    yield served
    served.close()


@pytest.fixture
def visitor(browser, pixel_relay):
    opened = Visitor(browser, pixel_relay)
    yield opened
    opened.close()
