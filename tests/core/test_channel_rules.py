"""docs/SPEC.md §4 "Channel of a page view", one test per rule, through a real import."""

from __future__ import annotations

import pytest

from segdesk.core.importing.events import import_events
from segdesk.core.refresh import refresh_after_import
from segdesk.core.store import open_workspace

from .wire import at, identify, page

SHOP = "https://shop.example.com/landing"


@pytest.fixture
def channel_of(tmp_path):
    ws = open_workspace(tmp_path / "ws")

    def run(url, referrer="", campaign=None, before=()):
        aid = f"dev{len(ws.conn.execute('SELECT 1 FROM events').fetchall())}"
        import_events(ws, [*(e(aid) for e in before), page(aid, at(0, minutes=0.05), url, referrer, campaign)],
                      origin="test")
        refresh_after_import(ws)
        return ws.conn.execute("SELECT source, medium, campaign FROM sessions WHERE anonymous_id = ?", (aid,)).fetchone()

    yield run
    ws.close()


def test_utm_parameters_trimmed_and_lower_cased(channel_of):
    assert channel_of(SHOP + "?utm_source=%20Facebook%20&utm_medium=CPC&utm_campaign=Spring") == \
        ("facebook", "cpc", "spring")


def test_utm_from_context_campaign(channel_of):
    assert channel_of(SHOP, campaign={"source": "Newsletter", "medium": "Email", "name": "w1"}) == \
        ("newsletter", "email", "w1")


def test_medium_none_when_utm_has_no_medium(channel_of):
    assert channel_of(SHOP + "?utm_source=partner") == ("partner", "(none)", None)


def test_gclid_is_google_cpc(channel_of):
    assert channel_of(SHOP + "?gclid=abc", "https://www.google.com/") == ("google", "cpc", None)


def test_msclkid_is_bing_cpc(channel_of):
    assert channel_of(SHOP + "?msclkid=abc") == ("bing", "cpc", None)


def test_fbclid_is_facebook_social(channel_of):
    assert channel_of(SHOP + "?fbclid=abc") == ("facebook", "social", None)


def test_search_engine_referrer_is_organic_without_www(channel_of):
    assert channel_of(SHOP, "https://www.google.co.uk/search?q=x") == ("google.co.uk", "organic", None)


def test_social_network_referrer_is_social(channel_of):
    assert channel_of(SHOP, "https://l.facebook.com/l.php") == ("l.facebook.com", "social", None)


def test_other_host_referrer_is_referral(channel_of):
    assert channel_of(SHOP, "https://www.partnerblog.example.net/post") == ("partnerblog.example.net", "referral", None)


def test_same_host_referrer_is_direct(channel_of):
    assert channel_of(SHOP, "https://shop.example.com/") == ("(direct)", "(none)", None)


def test_nothing_is_direct(channel_of):
    assert channel_of(SHOP) == ("(direct)", "(none)", None)


def test_email_link_that_identified_the_visitor_is_medium_email(channel_of):
    link = (lambda aid: identify(aid, at(0), email="a@x.com", method="link"),)
    assert channel_of(SHOP, before=link) == ("email", "email", None)


def test_email_link_keeps_utm(channel_of):
    link = (lambda aid: identify(aid, at(0), email="a@x.com", method="link"),)
    assert channel_of(SHOP + "?utm_source=facebook&utm_medium=cpc", before=link) == ("facebook", "cpc", None)


@pytest.mark.parametrize("referrer, expected", [
    # Mail apps and webmail are email, whatever company makes them (Gmail is not Google search).
    ("android-app://com.google.android.gm/", ("mail.google.com", "email", None)),
    ("android-app://com.microsoft.office.outlook/", ("outlook.live.com", "email", None)),
    ("https://mail.google.com/mail/u/0/", ("mail.google.com", "email", None)),
    ("https://outlook.live.com/", ("outlook.live.com", "email", None)),
    ("https://webmail.example-isp.net/", ("webmail.example-isp.net", "email", None)),
    # Social apps are reported under their service's web host, so they group with it.
    ("android-app://com.facebook.katana/", ("facebook.com", "social", None)),
    ("android-app://com.instagram.android", ("instagram.com", "social", None)),
    ("android-app://com.linkedin.android/", ("linkedin.com", "social", None)),
    ("android-app://com.twitter.android/", ("x.com", "social", None)),
    ("android-app://org.telegram.messenger/", ("telegram.org", "social", None)),
    ("android-app://com.whatsapp/", ("whatsapp.com", "social", None)),
    # The Google search app is still organic search; an app nobody listed is a referral by its id.
    ("android-app://com.google.android.googlequicksearchbox/", ("google.com", "organic", None)),
    ("android-app://com.example.reader/", ("com.example.reader", "referral", None)),
])
def test_mail_and_social_apps(channel_of, referrer, expected):
    assert channel_of(SHOP, referrer) == expected
