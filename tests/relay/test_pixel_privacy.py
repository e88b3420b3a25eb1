"""What the pixel does not send: Global Privacy Control, opt-out, staff exclusion."""

from __future__ import annotations

import pytest

try:  # the fixtures are used by name
    from .pixel_support import SITE_DOMAIN, Visitor, browser, pixel_relay, site, visitor  # noqa: F401
except ImportError:  # tests/relay is not a package
    from pixel_support import SITE_DOMAIN, Visitor, browser, pixel_relay, site, visitor  # noqa: F401

pytestmark = pytest.mark.browser

GPC_ON = ("Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', "
          "{get: () => true, configurable: true})")
FORM = "<form method=post action=/thanks><input type=email name=email><button>Join</button></form>"


def posts(visitor) -> int:
    visitor.pump()
    return len([r for r in visitor.relay_requests if r.method == "POST"])


def settle(visitor) -> None:
    """Give a pixel that would send time to do it (it sends right after load)."""
    visitor.pump(500)


def test_global_privacy_control_sends_nothing_and_sets_no_cookie(browser, site, pixel_relay):
    site.add("/join", FORM)
    before = len(pixel_relay.events())
    gpc = Visitor(browser, pixel_relay, init_script=GPC_ON)
    try:
        gpc.goto(site.url("/join?email=gpc%40example.com&utm_source=x"))
        # The email still leaves the address bar.
        assert gpc.page.url == site.url("/join?utm_source=x")
        gpc.page.evaluate("segdesk('identify', {email: 'gpc@example.com'})")
        gpc.page.evaluate("segdesk('track', 'Clicked')")
        gpc.page.evaluate("history.pushState({}, '', '/join/2')")
        gpc.page.fill("[name=email]", "gpc@example.com")
        with gpc.page.expect_navigation(url=site.url("/thanks")):
            gpc.page.click("button")
        gpc.wait_loaded()
        settle(gpc)
        assert gpc.relay_requests == []  # not even the visitor-id lookup
        assert gpc.context.cookies() == []
        assert gpc.page.evaluate("localStorage.length") == 0
        assert len(pixel_relay.events()) == before
    finally:
        gpc.close()


def test_opt_out_stops_sending_until_opt_in(visitor, site, pixel_relay):
    visitor.goto(site.url("/"))
    first_id = visitor.anonymous_id()
    pixel_relay.wait_for(first_id, 1, type="page")
    sent = posts(visitor)

    visitor.page.evaluate("segdesk('optOut')")
    cookies = visitor.cookies()
    assert cookies["sd_optout"]["value"] == "1"
    assert cookies["sd_optout"]["domain"] == "." + SITE_DOMAIN
    assert "sd_aid" not in cookies  # the id goes with the consent
    visitor.page.evaluate("segdesk('track', 'Hidden')")
    visitor.page.evaluate("history.pushState({}, '', '/private')")
    visitor.goto(site.url("/elsewhere"))
    settle(visitor)
    assert posts(visitor) == sent
    assert "sd_aid" not in visitor.cookies()

    visitor.page.evaluate("segdesk('optIn')")
    assert "sd_optout" not in visitor.cookies()
    visitor.page.evaluate("segdesk('track', 'Back')")
    new_id = visitor.anonymous_id()
    assert new_id != first_id
    [back] = pixel_relay.wait_for(new_id, 1, type="track")
    assert back["event"] == "Back"
    assert not [e for e in visitor.sent_events() if e.get("event") == "Hidden"]


def test_opt_out_queued_before_the_script_loads_wins(visitor, site, pixel_relay):
    site.add("/consent", "<script>segdesk('optOut'); segdesk('track', 'Too early')</script>")
    visitor.goto(site.url("/consent"))
    settle(visitor)
    assert posts(visitor) == 0
    assert "sd_aid" not in visitor.cookies()
    assert visitor.cookies()["sd_optout"]["value"] == "1"


def test_staff_exclusion_parameter(visitor, site, pixel_relay):
    visitor.goto(site.url("/?sd_exclude=1&utm_source=test"))
    assert visitor.page.url == site.url("/?utm_source=test")
    visitor.goto(site.url("/pricing"))
    visitor.page.evaluate("segdesk('track', 'Staff click')")
    settle(visitor)
    assert posts(visitor) == 0
    excluded = visitor.cookies()["sd_exclude"]
    assert excluded["value"] == "1" and excluded["domain"] == "." + SITE_DOMAIN
    assert visitor.page.evaluate("localStorage.getItem('sd_exclude')") == "1"

    # The same parameter set to 0 ends the exclusion, from that page view on.
    visitor.goto(site.url("/welcome?sd_exclude=0"))
    assert visitor.page.url == site.url("/welcome")
    aid = visitor.anonymous_id()
    [page] = pixel_relay.wait_for(aid, 1, type="page")
    assert page["context"]["page"]["url"] == site.url("/welcome")
    assert "sd_exclude" not in visitor.cookies()


def test_staff_exclusion_parameter_name_is_configurable(visitor, site, pixel_relay):
    site.add("/team", attrs=' data-exclude-param="staff"')
    visitor.goto(site.url("/team?staff=1"))
    assert visitor.page.url == site.url("/team")
    visitor.goto(site.url("/team"))
    settle(visitor)
    assert posts(visitor) == 0


def test_turning_on_gpc_later_removes_the_visitor_id(visitor, site, pixel_relay):
    visitor.goto(site.url("/"))
    aid = visitor.anonymous_id()
    pixel_relay.wait_for(aid, 1, type="page")
    sent = posts(visitor)

    visitor.context.add_init_script(GPC_ON)  # from the next page on
    visitor.goto(site.url("/later"))
    settle(visitor)
    assert posts(visitor) == sent
    assert "sd_aid" not in visitor.cookies()
    assert visitor.page.evaluate("localStorage.getItem('sd_aid')") is None
