"""The pixel when things go wrong: a relay outage, a lost script cookie, a
relay that refuses credentials."""

from __future__ import annotations

import json
from collections import Counter

import pytest

try:  # the fixtures are used by name
    from .pixel_support import (  # noqa: F401
        SITE_DOMAIN, Relay, Site, Visitor, browser, running_relay, wait_until)
except ImportError:  # tests/relay is not a package
    from pixel_support import (  # noqa: F401
        SITE_DOMAIN, Relay, Site, Visitor, browser, running_relay, wait_until)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def flaky_relay(tmp_path_factory):
    """A relay this module stops and starts; no other module shares it."""
    with running_relay(tmp_path_factory.mktemp("flaky")) as relay:
        yield relay


@pytest.fixture
def flaky_site(flaky_relay):
    served = Site(flaky_relay)
    yield served
    served.close()


def queued(visitor) -> list[dict]:
    return json.loads(visitor.page.evaluate("localStorage.getItem('sd_queue') || '[]'"))


def test_events_survive_a_relay_outage_exactly_once(browser, flaky_relay, flaky_site):
    relay, site = flaky_relay, flaky_site
    visitor = Visitor(browser, relay)
    try:
        visitor.goto(site.url("/before"))
        aid = visitor.anonymous_id()
        relay.wait_for(aid, 1, type="page")

        relay.stop()
        visitor.page.evaluate("segdesk('track', 'Offline click', {n: 1})")
        visitor.page.evaluate("history.pushState({}, '', '/during/spa')")
        # A new page while the relay is down: p.js comes from the HTTP cache,
        # and the events of the last page are still queued in localStorage.
        visitor.goto(site.url("/during/page"))
        visitor.page.evaluate("segdesk('identify', {email: 'down@example.com'})")
        wait_until(lambda: len(queued(visitor)) == 4, what="four queued events")
        # While it is down the pixel backs off instead of hammering the relay.
        attempts = len(visitor.relay_requests)
        visitor.page.wait_for_timeout(1500)
        assert len(visitor.relay_requests) - attempts <= 2

        relay.start()  # same port, same data folder
        visitor.page.evaluate("window.dispatchEvent(new Event('online'))")
        attempted = {e["messageId"] for e in visitor.sent_events()}
        assert len(attempted) == 5  # the page before, and four during the outage
        wait_until(lambda: attempted <= {e["messageId"] for e in relay.events_of(aid)},
                   what="every event after the relay came back")
        wait_until(lambda: queued(visitor) == [], what="an empty queue")

        # A later page load finds nothing left to resend; nothing arrives twice.
        visitor.goto(site.url("/after"))
        pages = relay.wait_for(aid, 4, type="page")
        assert [p["context"]["page"]["path"] for p in pages] == [
            "/before", "/during/spa", "/during/page", "/after"]
        delivered = Counter(e["messageId"] for e in relay.events_of(aid))
        assert set(delivered.values()) == {1}
        assert attempted <= set(delivered)
        kinds = Counter(e["type"] for e in relay.events_of(aid))
        assert kinds == {"page": 4, "track": 1, "identify": 1}
    finally:
        visitor.close()


def test_the_offline_queue_is_bounded(browser, flaky_relay, flaky_site):
    visitor = Visitor(browser, flaky_relay)
    try:
        visitor.goto(flaky_site.url("/"))
        flaky_relay.stop()
        visitor.page.evaluate("for (let i = 0; i < 250; i++) segdesk('track', 'Burst', {i})")
        wait_until(lambda: len(queued(visitor)) == 200, what="a full queue")
        numbers = [e["properties"]["i"] for e in queued(visitor) if e["type"] == "track"]
        assert numbers[-1] == 249 and len(numbers) == 200  # the oldest were dropped
    finally:
        visitor.close()
        flaky_relay.start()


@pytest.fixture(scope="module")
def same_site(tmp_path_factory):
    """Site and relay on the same host, as www.example.com and t.example.com
    would be, with the site's origin allowed to send credentials."""
    relay = Relay(tmp_path_factory.mktemp("same-site"), host="localhost")
    site = Site(relay, host="localhost")
    relay.env["SEGDESK_RELAY_ORIGINS"] = site.origin
    relay.start()
    yield relay, site
    site.close()
    relay.stop()


def test_relay_cookie_restores_a_lost_visitor_id(browser, same_site):
    # The relay's HttpOnly cookie reaches it, so it can tell the pixel the id
    # that Safari deleted from the script cookie.
    relay, site = same_site
    visitor = Visitor(browser, relay)
    try:
        visitor.goto(site.url("/first"))
        aid = visitor.anonymous_id()
        relay.wait_for(aid, 1, type="page")
        server_cookie = wait_until(lambda: visitor.cookies().get("sd_vid"), what="the relay cookie")
        assert server_cookie["value"] == aid and server_cookie["httpOnly"]

        visitor.context.clear_cookies(name="sd_aid")
        visitor.page.evaluate("localStorage.clear()")
        visitor.goto(site.url("/back-after-a-week"))
        assert visitor.anonymous_id() == aid
        pages = relay.wait_for(aid, 2, type="page")
        assert pages[-1]["context"]["page"]["path"] == "/back-after-a-week"
    finally:
        visitor.close()


RECORD_FETCHES = """
window.__fetches = [];
const realFetch = window.fetch;
window.fetch = function (url) {
  window.__fetches.push([String(url), performance.now()]);
  return realFetch.apply(this, arguments);
};
"""


def test_a_slow_id_lookup_delays_the_first_page_view_briefly(browser, same_site):
    relay, site = same_site
    visitor = Visitor(browser, relay, init_script=RECORD_FETCHES)
    hanging = []
    try:
        visitor.context.route("**/v1/id", lambda route: hanging.append(route))  # never answered
        visitor.goto(site.url("/slow"))
        aid = visitor.anonymous_id()
        relay.wait_for(aid, 1, type="page")
        calls = dict(visitor.page.evaluate("window.__fetches"))
        waited = calls[relay.url + "/v1/batch"] - calls[relay.url + "/v1/id"]
        assert hanging and 250 <= waited < 1000
    finally:
        visitor.close()


def test_default_relay_page_load_has_no_browser_errors(browser, tmp_path):
    """A relay on t.<site domain> with no site origins configured (the default)
    answers `*`: the pixel it serves makes no credentialed call, so a page load
    logs no CORS error and sends everything on the first try."""
    relay = Relay(tmp_path / "relay", host="t." + SITE_DOMAIN)
    site = Site(relay)
    relay.start()
    visitor = Visitor(browser, relay)
    console, failed = [], []
    visitor.page.on("console", lambda m: m.type in ("error", "warning") and console.append(
        f"{m.text} ({m.location.get('url')})"))
    visitor.page.on("requestfailed", lambda r: failed.append(r.url))
    try:
        visitor.goto(site.url("/"))
        aid = visitor.anonymous_id()
        visitor.page.evaluate("segdesk('track', 'Second')")
        events = relay.wait_for(aid, 2)
        assert sorted(e["type"] for e in events) == ["page", "track"]
        wait_until(lambda: queued(visitor) == [], what="an empty queue")
        visitor.pump(200)
        # The site answers the browser's own favicon request with a 404.
        assert [m for m in console if "favicon.ico" not in m] == [] and failed == []
        paths = [r.url[len(relay.url):] for r in visitor.relay_requests]
        assert "/v1/id" not in paths and set(paths) == {"/v1/batch"}
    finally:
        visitor.close()
        site.close()
        relay.stop()
