"""The pixel recognising visitors: opt-in forms and email links."""

from __future__ import annotations

import json
import urllib.parse

import pytest

try:  # the fixtures are used by name
    from .pixel_support import browser, pixel_relay, site, visitor  # noqa: F401
except ImportError:  # tests/relay is not a package
    from pixel_support import browser, pixel_relay, site, visitor  # noqa: F401

pytestmark = pytest.mark.browser

OPT_IN = """
<form id=optin method=post action=/thanks>
  <input name=first_name value=Ann>
  <input type=email name=work_address>
  <button>Get the guide</button>
</form>
<form id=search method=post action=/results>
  <input name=q><input name=newsletter_email><button>Go</button>
</form>
"""


def test_opt_in_form_identifies_and_still_submits(visitor, site, pixel_relay):
    site.add("/guide", OPT_IN)
    visitor.goto(site.url("/guide?utm_source=facebook"))
    aid = visitor.anonymous_id()
    visitor.page.fill("#optin [name=work_address]", "  lead@example.com ")
    with visitor.page.expect_navigation(url=site.url("/thanks")):
        visitor.page.click("#optin button")
    visitor.wait_loaded()

    # The form went through, untouched.
    assert ("/thanks", {"first_name": ["Ann"], "work_address": ["lead@example.com"]}) in site.posts
    [identify] = pixel_relay.wait_for(aid, 1, type="identify")
    assert identify["traits"] == {"email": "lead@example.com"}
    assert identify["context"]["segdesk"] == {"method": "form"}
    assert identify["context"]["page"]["path"] == "/guide"
    pages = pixel_relay.wait_for(aid, 2, type="page")
    assert [p["context"]["page"]["path"] for p in pages] == ["/guide", "/thanks"]


def test_forms_without_an_email_do_not_identify(visitor, site, pixel_relay):
    site.add("/guide", OPT_IN)
    visitor.goto(site.url("/guide"))
    aid = visitor.anonymous_id()
    visitor.page.fill("#search [name=q]", "shoes")
    visitor.page.fill("#search [name=newsletter_email]", "not an email")
    with visitor.page.expect_navigation(url=site.url("/results")):
        visitor.page.click("#search button")
    visitor.wait_loaded()
    pixel_relay.wait_for(aid, 2, type="page")
    assert not [e for e in visitor.sent_events() if e["type"] == "identify"]
    assert not [e for e in pixel_relay.events_of(aid) if e["type"] == "identify"]


def test_form_handled_by_page_code_still_identifies(visitor, site, pixel_relay):
    # Many opt-in widgets stop the submit and post with fetch themselves.
    site.add("/ajax", """
        <form id=f><input name=Email><button>Join</button></form><p id=out></p>
        <script>
          f.addEventListener('submit', e => { e.preventDefault(); out.textContent = 'sent'; });
        </script>""")
    visitor.goto(site.url("/ajax"))
    aid = visitor.anonymous_id()
    visitor.page.fill("#f [name=Email]", "widget@example.com")
    visitor.page.click("#f button")
    visitor.page.wait_for_selector("#out:text('sent')")
    [identify] = pixel_relay.wait_for(aid, 1, type="identify")
    assert identify["traits"] == {"email": "widget@example.com"}


def test_email_link_identifies_then_strips_the_address_bar(visitor, site, pixel_relay):
    site.add("/offer", "<a id=next href=/next>Read on</a>")
    email = "ann.lee+news@example.com"
    query = urllib.parse.urlencode({"utm_source": "newsletter", "email": email,
                                    "utm_medium": "email", "contact_id": "ac-42"})
    visitor.goto(site.url(f"/offer?{query}"))
    aid = visitor.anonymous_id()
    clean = site.url("/offer?utm_source=newsletter&utm_medium=email")
    assert visitor.page.url == clean
    assert visitor.page.evaluate("location.search") == "?utm_source=newsletter&utm_medium=email"

    [identify] = pixel_relay.wait_for(aid, 1, type="identify")
    assert identify["traits"] == {"email": email, "contact_id": "ac-42"}
    assert identify["context"]["segdesk"] == {"method": "link"}
    assert identify["context"]["page"]["url"] == clean

    # Follow a link: the next page's referrer is the stripped URL.
    with visitor.page.expect_navigation(url=site.url("/next")):
        visitor.page.click("#next")
    visitor.wait_loaded()
    assert visitor.page.evaluate("document.referrer") == clean
    pages = pixel_relay.wait_for(aid, 2, type="page")
    assert pages[0]["context"]["page"]["url"] == clean
    assert pages[0]["context"]["campaign"] == {"source": "newsletter", "medium": "email"}
    assert pages[1]["context"]["page"]["referrer"] == clean

    # The email reaches the relay in identify traits only, in no form anywhere else.
    spellings = [email, urllib.parse.quote(email), urllib.parse.quote_plus(email), "ac-42"]
    for event in visitor.sent_events():
        if event["type"] != "identify":
            text = json.dumps(event)
            assert not any(s in text for s in spellings), event


def test_link_parameter_names_are_configurable(visitor, site, pixel_relay):
    site.add("/promo", attrs=' data-email-param="e" data-contact-param="cid"')
    visitor.goto(site.url("/promo?e=bo%40example.com&cid=77&email=kept"))
    aid = visitor.anonymous_id()
    assert visitor.page.url == site.url("/promo?email=kept")
    [identify] = pixel_relay.wait_for(aid, 1, type="identify")
    assert identify["traits"] == {"email": "bo@example.com", "contact_id": "77"}


def test_unmerged_link_placeholder_is_not_an_email(visitor, site, pixel_relay):
    visitor.goto(site.url("/offer?email=%25EMAIL%25&x=1"))
    aid = visitor.anonymous_id()
    assert visitor.page.url == site.url("/offer?x=1")
    pixel_relay.wait_for(aid, 1, type="page")
    assert not [e for e in visitor.sent_events() if e["type"] == "identify"]
