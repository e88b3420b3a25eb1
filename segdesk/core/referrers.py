"""Which referrer hosts are search engines and which are social networks.

Matched on the host and each parent domain, so ``l.facebook.com`` and
``news.google.co.uk`` are found. Search engines with many country domains
(Google, Yandex, Yahoo) match on their second-level label.
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


def _parents(host: str):
    parts = host.split(".")
    for i in range(len(parts) - 1):
        yield ".".join(parts[i:])


def classify_host(host: str) -> str:
    """'organic', 'social' or 'referral' for a referrer host (lower-case, no port)."""
    for domain in _parents(host):
        if domain in SOCIAL_DOMAINS:
            return "social"
        if domain in SEARCH_DOMAINS:
            return "organic"
    labels = host.split(".")
    if any(label in SEARCH_LABELS for label in labels[:-1]):
        return "referral" if labels[0] in NOT_SEARCH_SUBDOMAINS else "organic"
    return "referral"
