"""The channel of a page view, exactly as docs/SPEC.md §4 defines it.

Order of precedence: UTM parameters, then a click id, then a referrer from
another host, then ``(direct) / (none)``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple
from urllib.parse import unquote_plus

from .referrers import APP_SCHEMES, classify_app, classify_host

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


DIRECT_CHANNEL = Channel(DIRECT, NONE)


def _clean(value) -> str | None:
    if value is None:
        return None
    text = str(value).strip().lower()
    return text or None


@lru_cache(maxsize=65536)
def host_of(url: str | None) -> str:
    """The host of an absolute URL, lower-case, without port, credentials or 'www.'.

    Hand-rolled rather than urlsplit because it runs for every imported page view.
    """
    if not url or not isinstance(url, str):
        return ""
    start = url.find("//")
    if start < 0:
        return ""
    rest = url[start + 2:]
    for sep in "/?#":
        cut = rest.find(sep)
        if cut >= 0:
            rest = rest[:cut]
    rest = rest.rpartition("@")[2]
    if rest.startswith("["):
        host = rest[1:rest.find("]")] if "]" in rest else ""
    else:
        host = rest.partition(":")[0]
    host = host.lower()
    return host[4:] if host.startswith("www.") else host


def query_of(url: str | None) -> dict[str, str]:
    """Query parameters of a URL (first value of each, blank values dropped)."""
    if not url or "?" not in url:
        return {}
    query = url.partition("?")[2].partition("#")[0]
    out: dict[str, str] = {}
    for part in query.split("&"):
        key, _, value = part.partition("=")
        if not value:
            continue
        if "%" in key or "+" in key:
            key = unquote_plus(key)
        if "%" in value or "+" in value:
            value = unquote_plus(value)
        out.setdefault(key, value)
    return out


def classify(
    url: str | None,
    referrer: str | None,
    campaign: dict | None = None,
    properties: dict | None = None,
) -> Channel:
    """``campaign`` is the event's ``context.campaign`` (source, medium, name, term, content)."""
    utm = None
    if campaign and (campaign.get("source") or campaign.get("medium") or campaign.get("name")):
        utm = (campaign.get("source"), campaign.get("medium"), campaign.get("name"),
               campaign.get("term"), campaign.get("content"))
    query = query_of(url)
    if query and (utm is None or not all(utm[:3])):
        from_query = tuple(query.get(k) for k in UTM_KEYS)
        utm = from_query if utm is None else tuple(a or b for a, b in zip(utm, from_query))
    if utm is not None:
        source, medium, name = _clean(utm[0]), _clean(utm[1]), _clean(utm[2])
        if source or medium or name:
            return Channel(source or NOT_SET, medium or NONE, name, _clean(utm[3]), _clean(utm[4]))
    for param, click_source, click_medium in CLICK_IDS:
        if param in query or (properties and properties.get(param)):
            return Channel(click_source, click_medium)
    if referrer:
        if referrer.startswith(APP_SCHEMES):
            return _from_app(host_of(referrer))
        return _from_referrer(host_of(referrer), host_of(url))
    return DIRECT_CHANNEL


@lru_cache(maxsize=1024)
def _from_app(package: str) -> Channel:
    """An app's referrer (``android-app://com.google.android.gm/``): never the same host as the page."""
    if not package:
        return DIRECT_CHANNEL
    return Channel(*classify_app(package))


@lru_cache(maxsize=4096)
def _from_referrer(ref_host: str, page_host: str) -> Channel:
    if ref_host and ref_host != page_host:
        return Channel(ref_host, classify_host(ref_host))
    return DIRECT_CHANNEL


def with_email_link(channel: Channel) -> Channel:
    """A page reached from an email link that identified the visitor: medium email unless UTM said otherwise."""
    return Channel("email" if channel.source == DIRECT else channel.source, "email", channel.campaign)
