"""A device as people name it ("Mobile Safari 17 on iOS 17 (iPhone)"), from its user agent.

The rules are ua-parser's (the uap-core list that most analytics tools share).
They compile on first use, about a tenth of a second, so only the journey asks,
never the import; names are remembered per user agent.
"""

from __future__ import annotations

from functools import lru_cache

GENERIC = ("Other", "Generic", "Spider")


def _named(family: str | None, major: str | None) -> str | None:
    if not family or family == "Other":
        return None
    return f"{family} {major}" if major else family


def warm() -> None:
    """Compile the rule set now (about 0.1 s of one core), so the first journey does not pay for it.

    The app calls this on a reader thread as it starts.
    """
    device_name("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
                "Chrome/124.0.0.0 Safari/537.36")


@lru_cache(maxsize=4096)
def device_name(user_agent: str | None) -> str | None:
    """Browser, system and (for phones and tablets) model; None when nothing is recognised."""
    if not user_agent or not isinstance(user_agent, str):
        return None
    try:
        from ua_parser import parse
    except ImportError:  # a trimmed install: the journey still works, without names
        return None
    result = parse(user_agent[:1024])
    browser = _named(result.user_agent.family, result.user_agent.major) if result.user_agent else None
    system = _named(result.os.family, result.os.major) if result.os else None
    model = result.device.family if result.device else None
    name = " on ".join(p for p in (browser, system) if p)
    if model and not model.startswith(GENERIC) and model.split()[0] not in name:
        name = f"{name} ({model})" if name else model
    return name or None


DEVICE_TYPES = ("phone", "tablet", "desktop")
TABLET_WORDS = ("ipad", "tablet", "kindle", "playbook", "nexus 7", "nexus 9", "nexus 10")
MOBILE_SYSTEMS = ("ios", "android", "windows phone", "blackberry os", "kaios", "firefox os")


@lru_cache(maxsize=4096)
def device_type(user_agent: str | None) -> str | None:
    """``phone``, ``tablet`` or ``desktop`` from ua-parser's device and system; None when unknown.

    ua-parser names the device ("iPad", "Pixel 8") and brands generic Android
    tablets ``Generic_Android_Tablet``; an Android agent without "Mobile" is a
    tablet by Google's own convention. A known desktop system without a device is a desktop.
    """
    if not user_agent or not isinstance(user_agent, str):
        return None
    try:
        from ua_parser import parse
    except ImportError:
        return None
    result = parse(user_agent[:1024])
    family = (result.device.family if result.device else "") or ""
    brand = (result.device.brand if result.device else "") or ""
    system = ((result.os.family if result.os else "") or "").lower()
    words = f"{family} {brand}".lower()
    if any(w in words for w in TABLET_WORDS) or (system == "android" and "mobile" not in user_agent.lower()):
        return "tablet"
    if system in MOBILE_SYSTEMS or "phone" in words or (family and not family.startswith(GENERIC)
                                                        and family != "Other" and "mobile" in user_agent.lower()):
        return "phone"
    if system or result.user_agent:
        return "desktop"
    return None
