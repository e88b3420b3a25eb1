"""The pixel in headless Chromium: visitor cookie, page views (load and SPA
navigation) with campaign data, manual identify and track."""

from __future__ import annotations

import re
import time
from datetime import datetime

import pytest

try:  # the fixtures are used by name
    from .pixel_support import SITE_DOMAIN, YEAR, browser, pixel_relay, site, visitor  # noqa: F401
except ImportError:  # tests/relay is not a package
    from pixel_support import SITE_DOMAIN, YEAR, browser, pixel_relay, site, visitor  # noqa: F401

pytestmark = pytest.mark.browser

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def parse_iso(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_visitor_cookie_lasts_a_year_on_the_registrable_domain(visitor, site, pixel_relay):
    visitor.goto(site.url("/"))
    cookie = visitor.cookies()["sd_aid"]
    assert UUID.match(cookie["value"])
    assert abs(cookie["expires"] - (time.time() + YEAR)) < 120
    # The highest parent domain that takes a cookie, so shop. and www. share it.
    assert cookie["domain"] == "." + SITE_DOMAIN
    assert cookie["path"] == "/"
    assert cookie["sameSite"] == "Lax"
    assert not cookie["httpOnly"]
    assert not cookie["secure"]  # http site; https gets Secure
    assert "sd_probe" not in visitor.cookies()

    # The same visitor keeps the id on the next page.
    visitor.goto(site.url("/second"))
    assert visitor.cookies()["sd_aid"]["value"] == cookie["value"]
    pages = pixel_relay.wait_for(cookie["value"], 2, type="page")
    assert [p["context"]["page"]["path"] for p in pages] == ["/", "/second"]


def test_page_view_on_load_carries_the_wire_format_and_campaign(visitor, site, pixel_relay):
    landing = site.url("/landing?utm_source=Facebook&utm_medium=cpc&utm_campaign=spring"
                       "&utm_term=shoes&utm_content=ad1&gclid=G1&fbclid=F1&msclkid=M1")
    visitor.goto(landing)
    aid = visitor.anonymous_id()
    [page] = pixel_relay.wait_for(aid, 1, type="page")

    assert UUID.match(page["messageId"])
    parse_iso(page["timestamp"]), parse_iso(page["sentAt"])
    context = page["context"]
    assert context["page"] == {
        "url": landing,
        "referrer": "",
        "path": "/landing",
        "title": "Page /landing",
        "search": landing[landing.index("?"):],
    }
    assert context["campaign"] == {"source": "Facebook", "medium": "cpc", "name": "spring",
                                   "term": "shoes", "content": "ad1"}
    assert context["library"] == {"name": "segdesk-pixel", "version": "1.0.0"}
    assert context["userAgent"] == visitor.page.evaluate("navigator.userAgent")
    # Click ids: in properties, and untouched in the URL.
    props = page["properties"]
    assert (props["gclid"], props["fbclid"], props["msclkid"]) == ("G1", "F1", "M1")
    assert props["url"] == landing and props["path"] == "/landing"
    # The write key travels in the body and never reaches the buffer.
    assert "writeKey" not in page
    [body] = [r for r in visitor.relay_requests if r.method == "POST"]
    assert body.post_data_json["writeKey"] == pixel_relay.write_key
    assert body.headers["content-type"].startswith("text/plain")


def test_single_page_app_navigation_sends_page_views(visitor, site, pixel_relay):
    landing = site.url("/app?utm_source=google&utm_medium=cpc")
    visitor.goto(landing)
    aid = visitor.anonymous_id()
    run = visitor.page.evaluate

    run("history.pushState({}, '', '/app/pricing?utm_source=newsletter&utm_medium=email')")
    run("history.replaceState({step: 2}, '', location.href)")  # same URL: no page view
    run("history.replaceState({}, '', '/app/pricing?plan=pro')")
    run("location.hash = 'faq'")  # an anchor, not a page
    run("history.pushState({}, '', '/app/checkout#/step-1')")
    run("history.back()")
    visitor.page.wait_for_function("location.pathname == '/app/pricing'")
    run("segdesk('track', 'Done')")  # a marker: everything before it is queued
    pixel_relay.wait_for(aid, 1, type="track")

    pages = pixel_relay.wait_for(aid, 5, type="page")
    urls = [(p["context"]["page"]["url"], p["context"]["page"]["referrer"]) for p in pages]
    pricing = site.url("/app/pricing?utm_source=newsletter&utm_medium=email")
    assert urls == [
        (landing, ""),
        (pricing, landing),
        (site.url("/app/pricing?plan=pro"), pricing),
        (site.url("/app/checkout#/step-1"), site.url("/app/pricing?plan=pro")),
        (site.url("/app/pricing?plan=pro#faq"), site.url("/app/checkout#/step-1")),
    ]
    campaigns = [p["context"].get("campaign") for p in pages]
    assert campaigns[0] == {"source": "google", "medium": "cpc"}
    assert campaigns[1] == {"source": "newsletter", "medium": "email"}
    assert campaigns[2] is None
    assert len({p["messageId"] for p in pages}) == 5


def test_manual_identify_and_track(visitor, site, pixel_relay):
    # A call made in the page before the script has loaded waits in segdesk.q.
    site.add("/shop", "<script>segdesk('track', 'Early', {n: 1})</script>")
    visitor.goto(site.url("/shop"))
    aid = visitor.anonymous_id()
    visitor.page.evaluate("segdesk('identify', {email: ' Ann@Example.com ', plan: 'pro'})")
    visitor.page.evaluate("segdesk('track', 'Signed Up', {plan: 'pro', amount: 49})")
    visitor.page.evaluate("segdesk('identify', 'user-7', {email: 'ann@example.com'})")

    [identify, with_user_id] = pixel_relay.wait_for(aid, 2, type="identify")
    assert identify["traits"] == {"email": "Ann@Example.com", "plan": "pro"}
    assert identify["context"]["segdesk"] == {"method": "manual"}
    assert identify["context"]["page"]["path"] == "/shop"
    assert with_user_id["userId"] == "user-7"
    assert with_user_id["traits"] == {"email": "ann@example.com"}

    tracks = pixel_relay.wait_for(aid, 2, type="track")
    assert [(t["event"], t["properties"]) for t in tracks] == [
        ("Early", {"n": 1}), ("Signed Up", {"plan": "pro", "amount": 49})]


def test_bad_calls_never_throw_into_the_page(visitor, site, pixel_relay):
    visitor.goto(site.url("/"))
    aid = visitor.anonymous_id()
    results = visitor.page.evaluate("""() => {
        const loop = {}; loop.self = loop;
        return [segdesk(), segdesk('nope'), segdesk('track', 'Loop', loop), segdesk('track', ''),
                segdesk('track', 'Huge', {blob: 'x'.repeat(40000)}), segdesk('identify', null),
                segdesk('page', 'Named', {section: 'x'}), segdesk('track', 'Fine'), 'ok'];
    }""")
    assert results[-1] == "ok"
    # What the relay would refuse never went out, so it took no good event down with it.
    named = pixel_relay.wait_for(aid, 1, type="page", name="Named")
    assert named[0]["properties"]["section"] == "x"
    [fine] = pixel_relay.wait_for(aid, 1, type="track")
    assert fine["event"] == "Fine"
