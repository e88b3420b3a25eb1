"""The channel of a page view, exactly as CONTRACTS.md §4 defines it.

Order of precedence: UTM parameters, then a click id, then a referrer from
another host, then ``(direct) / (none)``.
"""

from __future__ import annotations

from typing import NamedTuple
from urllib.parse import parse_qs, urlsplit

from .referrers import classify_host

DIRECT = "(direct)"
NONE = "(none)"
NOT_SET = "(not set)"
CLICK_IDS = (("gclid", "google", "cpc"), ("msclkid", "bing", "cpc"), ("fbclid", "facebook", "social"))
UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")


class Channel(NamedTuple):
    source: str
    medium: str
    campaign: str | None = None
    term: str | None = None
    content: str | None = None


def _clean(value) -> str | None:
    if value is None:
        return None
    text = str(value).strip().lower()
    return text or None


def host_of(url: str | None) -> str:
    if not url:
        return ""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return ""
    host = host.lower()
    return host[4:] if host.startswith("www.") else host


def query_of(url: str | None) -> dict[str, str]:
    if not url or "?" not in url:
        return {}
    try:
        return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items() if v}
    except ValueError:
        return {}


def classify(
    url: str | None,
    referrer: str | None,
    campaign: dict | None = None,
    properties: dict | None = None,
) -> Channel:
    """``campaign`` is the event's ``context.campaign`` (source, medium, name, term, content)."""
    query = query_of(url)
    utm = {}
    if campaign:
        utm = {
            "utm_source": campaign.get("source"),
            "utm_medium": campaign.get("medium"),
            "utm_campaign": campaign.get("name"),
            "utm_term": campaign.get("term"),
            "utm_content": campaign.get("content"),
        }
    for key in UTM_KEYS:
        if not _clean(utm.get(key)) and key in query:
            utm[key] = query[key]
    source = _clean(utm.get("utm_source"))
    medium = _clean(utm.get("utm_medium"))
    name = _clean(utm.get("utm_campaign"))
    if source or medium or name:
        return Channel(
            source or NOT_SET,
            medium or NONE,
            name,
            _clean(utm.get("utm_term")),
            _clean(utm.get("utm_content")),
        )
    for param, click_source, click_medium in CLICK_IDS:
        if param in query or (properties and properties.get(param)):
            return Channel(click_source, click_medium)
    ref_host = host_of(referrer)
    if ref_host and ref_host != host_of(url):
        return Channel(ref_host, classify_host(ref_host))
    return Channel(DIRECT, NONE)


def is_direct(source: str | None) -> bool:
    return source in (None, DIRECT)


def with_email_link(channel: Channel) -> Channel:
    """A page reached from an email link that identified the visitor: medium email unless UTM said otherwise."""
    return Channel("email" if channel.source == DIRECT else channel.source, "email", channel.campaign)
