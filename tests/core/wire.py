"""Building wire-format events for tests, the way the pixel sends them."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

_ids = itertools.count(1)
T0 = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)


def at(day: float = 0, hours: float = 0, minutes: float = 0) -> str:
    t = T0 + timedelta(days=day, hours=hours, minutes=minutes)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def page(aid, ts, url="https://shop.example.com/", referrer="", campaign=None, mid=None):
    ctx = {"page": {"url": url, "referrer": referrer, "path": "/", "title": "Shop"},
           "userAgent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/120"}
    if campaign:
        ctx["campaign"] = campaign
    return {"type": "page", "anonymousId": aid, "messageId": mid or f"m{next(_ids)}", "timestamp": ts, "context": ctx}


def identify(aid, ts, email=None, contact_id=None, method="form", mid=None):
    traits = {}
    if email:
        traits["email"] = email
    if contact_id:
        traits["contact_id"] = contact_id
    ev = {"type": "identify", "messageId": mid or f"m{next(_ids)}", "timestamp": ts, "traits": traits,
          "context": {"segdesk": {"method": method}}}
    if aid:
        ev["anonymousId"] = aid
    return ev


def track(aid, ts, name, props=None, mid=None):
    return {"type": "track", "anonymousId": aid, "messageId": mid or f"m{next(_ids)}", "timestamp": ts,
            "event": name, "properties": props or {}}
