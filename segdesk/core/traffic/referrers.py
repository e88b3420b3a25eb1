"""Which referrers are search engines, social networks and mail: web hosts and app referrers.

Matched on the host and each parent domain, so ``l.facebook.com`` and
``news.google.co.uk`` are found. Search engines with many country domains
(Google, Yandex, Yahoo) match on their second-level label.

Apps send ``android-app://PACKAGE/`` as the referrer (Android's intent
referrer); the package is not a web host, so it is matched whole against
``APPS``, never by label: ``com.google.android.gm`` (Gmail) is not Google
search. An app is reported under its service's web host, so a click in the
Facebook app and one on facebook.com are one source.

Why these lists are kept here rather than read from a data set: the maintained
one with app referrers (Snowplow's ``referers.yml``, derived from Matomo's) is
GPLv3, which this proprietary app cannot ship, and the PyPI packages that carry
a copy (``referer-parser`` 0.4.1, 2016; ``pyreferrer`` 0.6.6, 2021) are
unmaintained and know no app. The names below are facts (hosts, app ids) of
the services themselves; keeping them current is a matter of adding a line.
"""

from __future__ import annotations

SEARCH_DOMAINS = frozenset(
    """
    bing.com duckduckgo.com baidu.com ecosia.org ask.com startpage.com qwant.com
    naver.com seznam.cz search.brave.com yandex.ru ya.ru sogou.com so.com aol.com
    search.yahoo.com yahoo.co.jp dogpile.com kagi.com perplexity.ai mojeek.com
    """.split()
)
SEARCH_LABELS = frozenset({"google", "yandex"})
# Google and Yandex hosts that are products, not search results pages.
NOT_SEARCH_SUBDOMAINS = frozenset(
    "mail docs drive calendar groups sites accounts support developers cloud play ads analytics".split()
)

SOCIAL_DOMAINS = frozenset(
    """
    facebook.com fb.com fb.me messenger.com instagram.com threads.net t.co twitter.com
    x.com linkedin.com lnkd.in pinterest.com pin.it reddit.com redd.it youtube.com
    youtu.be tiktok.com snapchat.com whatsapp.com wa.me telegram.org t.me vk.com
    tumblr.com quora.com bsky.app mastodon.social discord.com discord.gg medium.com
    weibo.com xing.com line.me
    """.split()
)

# Webmail: a click in a mail read in the browser. Matched like the others, on
# the host and its parents; "webmail.*" hosts (ISPs, hosting panels) are mail too.
EMAIL_DOMAINS = frozenset(
    """
    mail.google.com inbox.google.com outlook.live.com outlook.office.com outlook.office365.com
    mail.live.com mail.yahoo.com mail.yahoo.co.jp mail.yahoo.co.uk mail.aol.com mail.proton.me
    mail.zoho.com mail.zoho.eu mail.yandex.ru mail.yandex.com e.mail.ru touch.mail.ru
    mail.qq.com exmail.qq.com mail.163.com mail.126.com mail.naver.com mail.daum.net
    email.t-online.de deref-gmx.de deref-gmx.net deref-gmx.com deref-web.de deref-mail.com
    navigator.gmx.net navigator.web.de mail.ionos.com email.ionos.de app.fastmail.com
    mail.tutanota.com app.tuta.com
    """.split()
)
EMAIL_LABELS = frozenset({"webmail"})

# Android app ids -> (the service's web host, medium).
APPS = {
    # mail
    "com.google.android.gm": ("mail.google.com", "email"),
    "com.google.android.gm.lite": ("mail.google.com", "email"),
    "com.microsoft.office.outlook": ("outlook.live.com", "email"),
    "com.yahoo.mobile.client.android.mail": ("mail.yahoo.com", "email"),
    "com.aol.mobile.aolapp": ("mail.aol.com", "email"),
    "ch.protonmail.android": ("mail.proton.me", "email"),
    "com.samsung.android.email.provider": ("samsung email", "email"),
    "com.google.android.email": ("android email", "email"),
    "com.android.email": ("android email", "email"),
    "me.bluemail.mail": ("bluemail", "email"),
    "com.fsck.k9": ("k-9 mail", "email"),
    "net.thunderbird.android": ("thunderbird", "email"),
    "ru.mail.mailapp": ("e.mail.ru", "email"),
    "com.yandex.mail": ("mail.yandex.ru", "email"),
    "de.gmx.mobile.android.mail": ("gmx.net", "email"),
    "de.web.mobile.android.mail": ("web.de", "email"),
    "com.zoho.mail": ("mail.zoho.com", "email"),
    "com.readdle.spark": ("spark", "email"),
    "com.tencent.androidqqmail": ("mail.qq.com", "email"),
    "com.netease.mail": ("mail.163.com", "email"),
    "com.mailchimp.mailchimp": ("mailchimp.com", "email"),
    # social and messaging
    "com.facebook.katana": ("facebook.com", "social"),
    "com.facebook.lite": ("facebook.com", "social"),
    "com.facebook.orca": ("messenger.com", "social"),
    "com.facebook.mlite": ("messenger.com", "social"),
    "com.instagram.android": ("instagram.com", "social"),
    "com.instagram.barcelona": ("threads.net", "social"),
    "com.linkedin.android": ("linkedin.com", "social"),
    "com.linkedin.android.lite": ("linkedin.com", "social"),
    "com.twitter.android": ("x.com", "social"),
    "org.telegram.messenger": ("telegram.org", "social"),
    "org.telegram.messenger.web": ("telegram.org", "social"),
    "org.telegram.plus": ("telegram.org", "social"),
    "org.thunderdog.challegram": ("telegram.org", "social"),
    "com.whatsapp": ("whatsapp.com", "social"),
    "com.whatsapp.w4b": ("whatsapp.com", "social"),
    "com.pinterest": ("pinterest.com", "social"),
    "com.reddit.frontpage": ("reddit.com", "social"),
    "com.zhiliaoapp.musically": ("tiktok.com", "social"),
    "com.ss.android.ugc.trill": ("tiktok.com", "social"),
    "com.snapchat.android": ("snapchat.com", "social"),
    "com.google.android.youtube": ("youtube.com", "social"),
    "com.vkontakte.android": ("vk.com", "social"),
    "jp.naver.line.android": ("line.me", "social"),
    "com.discord": ("discord.com", "social"),
    "xyz.blueskyweb.app": ("bsky.app", "social"),
    "org.joinmastodon.android": ("mastodon.social", "social"),
    "com.slack": ("slack.com", "social"),
    "org.thoughtcrime.securesms": ("signal.org", "social"),
    "com.viber.voip": ("viber.com", "social"),
    "com.tencent.mm": ("wechat.com", "social"),
    "com.xing.android": ("xing.com", "social"),
    "com.tumblr": ("tumblr.com", "social"),
    "com.quora.android": ("quora.com", "social"),
    # search
    "com.google.android.googlequicksearchbox": ("google.com", "organic"),
    "com.google.android.gsa": ("google.com", "organic"),
    "com.microsoft.bing": ("bing.com", "organic"),
    "com.duckduckgo.mobile.android": ("duckduckgo.com", "organic"),
    "ru.yandex.searchplugin": ("yandex.ru", "organic"),
    "com.baidu.searchbox": ("baidu.com", "organic"),
    "com.ecosia.android": ("ecosia.org", "organic"),
}
APP_SCHEMES = ("android-app:", "ios-app:")


def _parents(host: str):
    parts = host.split(".")
    for i in range(len(parts) - 1):
        yield ".".join(parts[i:])


def classify_host(host: str) -> str:
    """'organic', 'social', 'email' or 'referral' for a web referrer host (lower-case, no port)."""
    for domain in _parents(host):
        if domain in SOCIAL_DOMAINS:
            return "social"
        if domain in EMAIL_DOMAINS:
            return "email"
        if domain in SEARCH_DOMAINS:
            return "organic"
    labels = host.split(".")
    if labels[0] in EMAIL_LABELS:
        return "email"
    if any(label in SEARCH_LABELS for label in labels[:-1]):
        return "referral" if labels[0] in NOT_SEARCH_SUBDOMAINS else "organic"
    return "referral"


def classify_app(package: str) -> tuple[str, str]:
    """An app referrer's (source, medium): its service's host when known, else the app id as a referral."""
    return APPS.get(package, (package, "referral"))
