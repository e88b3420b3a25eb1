"""The official JavaScript libraries as the relay's clients, installed from npm
(tests/relay/js/package-lock.json): analytics.js 2.0 (@segment/analytics-next's
browser build in headless Chromium, pointed at the relay by its Segment.io
settings), @segment/analytics-node and RudderStack's Node SDK. Each call must
come out of the pull API exactly once."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

try:  # the fixtures are used by name
    from .pixel_support import (  # noqa: F401
        SITE_HOST, Visitor, browser, pixel_relay, wait_until)
except ImportError:  # tests/relay is not a package
    from pixel_support import SITE_HOST, Visitor, browser, pixel_relay, wait_until  # noqa: F401

JS = Path(__file__).resolve().parent / "js"
AJS_BUILD = JS / "node_modules" / "@segment" / "analytics-next" / "dist" / "umd"
STAMP = JS / "node_modules" / ".installed"


@pytest.fixture(scope="module")
def npm_packages() -> Path:
    """The locked npm packages; `make test` installs them, a bare pytest run too."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not (node and npm):
        pytest.fail("node and npm are needed: run scripts/system-deps.sh (make test does)")
    lock = JS / "package-lock.json"
    if not STAMP.exists() or STAMP.stat().st_mtime < lock.stat().st_mtime:
        done = subprocess.run([npm, "ci", "--prefix", str(JS), "--no-audit", "--no-fund"],
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"npm ci failed: {done.stderr[-2000:]}"
        STAMP.touch()
    return JS


def pulled(relay, prefix: str) -> Counter:
    return Counter(e["messageId"] for e in relay.events() if e["messageId"].startswith(prefix))


# -- server-side libraries ----------------------------------------------------------


@pytest.mark.parametrize(("library", "name"), [("segment", "@segment/analytics-node"),
                                               ("rudderstack", "analytics-node")])
def test_node_library_calls_arrive_once(npm_packages, pixel_relay, library, name):
    env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost"}
    done = subprocess.run(["node", "send_server.js", library, pixel_relay.url,
                           pixel_relay.write_key, library],
                          cwd=npm_packages, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    kinds = ["identify", "track", "page", "alias", "group", "screen"]
    assert pulled(pixel_relay, library + "-") == Counter(f"{library}-{k}" for k in kinds)
    events = {e["messageId"]: e for e in pixel_relay.events()}
    identify, order = events[f"{library}-identify"], events[f"{library}-track"]
    assert identify["context"]["library"]["name"] == name
    assert identify["traits"] == {"email": "ann@example.com", "contact_id": "crm-7"}
    assert (identify["userId"], identify["anonymousId"]) == ("user-42", "anon-42")
    assert order["event"] == "Order Completed"
    assert order["properties"] == {"order_id": f"{library}-o1", "revenue": 49.5, "currency": "usd"}
    assert events[f"{library}-alias"]["previousId"] == "anon-42"
    assert "writeKey" not in identify and "_metadata" in identify


# -- analytics.js 2.0 in a browser ----------------------------------------------------

PAGE = """<!doctype html><html><head><meta charset=utf-8><title>Shop</title>
<script src="/ajs/index.js"></script></head><body><h1>Shop</h1><script>
// The marketer's own analytics.js, its Segment.io destination pointed at the relay.
const writeKey = %(write_key)s;
const analytics = AnalyticsNext.AnalyticsBrowser.load({writeKey, cdnSettings: {integrations: {
  'Segment.io': Object.assign({apiKey: writeKey, apiHost: %(api_host)s, protocol: 'http'},
                              %(delivery)s)}}});
window.sent = (async () => {
  const ctxs = [
    await analytics.page('Pricing', {plan: 'pro'}),
    await analytics.identify('user-7', {email: 'bob@example.com'}),
    await analytics.track('Order Completed', {order_id: 'o-9', revenue: 25, currency: 'eur'}),
    await analytics.alias('user-7', 'previous-7'),
    await analytics.group('org-2', {plan: 'team'}),
  ];
  return ctxs.map((ctx) => [ctx.event.type, ctx.event.messageId]);
})();
</script></body></html>"""


class AjsSite:
    """A site on loopback serving analytics-next's browser build and one page."""

    def __init__(self, relay, delivery: dict) -> None:
        page = PAGE % {"write_key": json.dumps(relay.write_key),
                       "api_host": json.dumps(f"127.0.0.1:{relay.port}/v1"),
                       "delivery": json.dumps(delivery)}

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                path = self.path.split("?", 1)[0]
                if path.startswith("/ajs/") and "/" not in path[5:] and (AJS_BUILD / path[5:]).is_file():
                    body, kind = (AJS_BUILD / path[5:]).read_bytes(), "text/javascript"
                elif path == "/favicon.ico":  # the browser asks; a 404 would log an error
                    body, kind = b"", "image/x-icon"
                elif path == "/shop":
                    body, kind = page.encode(), "text/html; charset=utf-8"
                else:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://{SITE_HOST}:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.mark.browser
@pytest.mark.parametrize(("delivery", "paths"), [
    ({}, {"/v1/p", "/v1/i", "/v1/t", "/v1/a", "/v1/g"}),
    ({"deliveryStrategy": {"strategy": "batching", "config": {"size": 10, "timeout": 300}}},
     {"/v1/b"}),
], ids=["one-letter-paths", "batching"])
def test_analytics_js_in_the_browser_arrives_once(npm_packages, browser, pixel_relay, delivery, paths):
    site = AjsSite(pixel_relay, delivery)
    visitor = Visitor(browser, pixel_relay)
    console, elsewhere = [], []
    visitor.page.on("console", lambda m: m.type == "error" and console.append(
        f"{m.text} ({m.location.get('url')})"))
    visitor.page.on("request", lambda r: r.url.startswith((site.origin, pixel_relay.url))
                    or elsewhere.append(r.url))
    try:
        visitor.page.goto(site.origin + "/shop")
        sent = visitor.page.evaluate("window.sent")
        ids = [message_id for _, message_id in sent]
        assert [kind for kind, _ in sent] == ["page", "identify", "track", "alias", "group"]
        wait_until(lambda: set(pulled(pixel_relay, "")) >= set(ids), what="analytics.js events")
        visitor.pump(500)  # time for a stray retry to arrive, if there were one
        counts = pulled(pixel_relay, "")
        assert {i: counts[i] for i in ids} == {i: 1 for i in ids}
        events = {e["messageId"]: e for e in pixel_relay.events() if e["messageId"] in ids}
        page, identify, order, alias, group = (events[i] for i in ids)
        assert page["name"] == "Pricing" and page["properties"]["plan"] == "pro"
        assert page["context"]["page"]["url"] == site.origin + "/shop"
        assert page["context"]["library"]["name"] == "analytics.js"
        assert identify["userId"] == "user-7" and identify["traits"] == {"email": "bob@example.com"}
        assert identify["anonymousId"] == page["anonymousId"]
        assert order["event"] == "Order Completed" and order["properties"]["revenue"] == 25
        assert (alias["userId"], alias["previousId"]) == ("user-7", "previous-7")
        assert group["groupId"] == "org-2"
        assert "writeKey" not in identify and "bundled" in identify["_metadata"]
        posted = {r.url[len(pixel_relay.url):] for r in visitor.relay_requests if r.method == "POST"}
        assert posted == paths
        assert console == [] and elsewhere == []
    finally:
        visitor.close()
        site.close()
