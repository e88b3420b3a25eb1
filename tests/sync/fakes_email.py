"""Fake Mailchimp, as strict as the Marketing API 3.0 where a connector could get it wrong.

- The host is the key's data center (``…-us6`` -> ``us6.api.mailchimp.com``):
  another data center answers 401, as Mailchimp does.
- HTTP Basic, any user name, the key as password.
- ``count`` at most 1000 (more is a 400), ``offset``; lists carry ``total_items``.
- Members filter on ``since_last_changed`` (changed after it) and sort on
  ``sort_field=last_changed``; a member's ``tags`` is its whole tag set.
- ``/reports/{id}/email-activity`` lists each recipient's ``activity``
  (action, timestamp, url), filtered on ``since``.
- Errors are problem documents (type, title, status, detail, instance).
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime, timedelta, timezone

import httpx

from .fakes import FakeVendor

KEY = "0123456789abcdef0123456789abcdef-us6"
LIST = "a1b2c3d4e5"


def mc_time(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _problem(status: int, title: str, detail: str) -> httpx.Response:
    return httpx.Response(status, headers={"content-type": "application/problem+json"}, json={
        "type": "https://mailchimp.com/developer/marketing/docs/errors/", "title": title, "status": status,
        "detail": detail, "instance": "00000000-0000-0000-0000-000000000000"})


class FakeMailchimp(FakeVendor):
    max_count = 1000

    def __init__(self, key: str = KEY) -> None:
        super().__init__()
        self.key = key
        self.now = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=2)
        self.members: dict[str, dict] = {}  # id -> member
        self.campaigns: list[dict] = []
        self.activity: dict[str, dict[str, list[dict]]] = {}  # campaign id -> email -> activity

    # -- data ------------------------------------------------------------------
    def tick(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now

    def member(self, email: str, first: str = "", last: str = "", tags: tuple[str, ...] = ()) -> dict:
        mid = hashlib.md5(email.strip().lower().encode()).hexdigest()
        t = self.tick()
        m = self.members.setdefault(mid, {"id": mid, "email_address": email, "status": "subscribed",
                                          "timestamp_opt": mc_time(t), "list_id": LIST})
        m.update(merge_fields={"FNAME": first, "LNAME": last}, last_changed=mc_time(t),
                 tags=[{"id": abs(hash(n)) % 10_000, "name": n} for n in tags], tags_count=len(tags))
        return m

    def catch_up(self) -> None:
        self.now = max(self.now, datetime.now(timezone.utc).replace(microsecond=0))

    def campaign(self, cid: str, title: str, subject: str = "News", from_name: str = "Shop") -> None:
        self.campaigns.append({"id": cid, "type": "regular", "status": "sent", "send_time": mc_time(self.tick()),
                               "recipients": {"list_id": LIST},
                               "settings": {"title": title, "subject_line": subject, "from_name": from_name}})
        self.activity[cid] = {}

    def click(self, cid: str, email: str, when: str, url: str = "https://shop.example.com/sale") -> None:
        self.activity[cid].setdefault(email, []).append({"action": "click", "timestamp": when, "url": url,
                                                         "ip": "192.0.2.1"})

    def open(self, cid: str, email: str, when: str) -> None:
        self.activity[cid].setdefault(email, []).append({"action": "open", "timestamp": when, "ip": "192.0.2.1"})

    # -- HTTP ------------------------------------------------------------------
    def authorize(self, request):
        auth = request.headers.get("authorization", "")
        scheme, _, token = auth.partition(" ")
        try:
            _user, _, password = base64.b64decode(token).decode().partition(":")
        except ValueError:
            password = ""
        if scheme != "Basic" or password != self.key:
            return _problem(401, "API Key Invalid", "Your API key may be invalid, or you've attempted to access "
                                                    "the wrong datacenter.")
        if request.url.host != f"{self.key.rsplit('-', 1)[1]}.api.mailchimp.com":
            return _problem(401, "API Key Invalid", "Your API key may be invalid, or you've attempted to access "
                                                    "the wrong datacenter.")
        return None

    def route(self, request):
        path, params = request.url.path, request.url.params
        if not path.startswith("/3.0/"):
            return _problem(404, "Resource Not Found", "The requested resource could not be found.")
        count, offset = int(params.get("count", 10)), int(params.get("offset", 0))
        if count > self.max_count:
            return _problem(400, "Invalid Resource", "The count must be at most 1000.")
        parts = path[len("/3.0/"):].split("/")
        if parts[:1] == ["lists"] and parts[2:] == ["members"]:
            if parts[1] != LIST:
                return _problem(404, "Resource Not Found", "The requested resource could not be found.")
            items = list(self.members.values())
            since = params.get("since_last_changed")
            if since:
                items = [m for m in items if _dt(m["last_changed"]) > _dt(since)]
            if params.get("sort_field") == "last_changed":
                items.sort(key=lambda m: m["last_changed"], reverse=params.get("sort_dir") == "DESC")
            key = "members"
        elif parts == ["campaigns"]:
            items = [c for c in self.campaigns if params.get("status") in (None, c["status"])
                     and params.get("list_id") in (None, c["recipients"]["list_id"])]
            key = "campaigns"
        elif parts[:1] == ["reports"] and parts[2:] == ["email-activity"] and parts[1] in self.activity:
            since = params.get("since")
            items = []
            for email, acts in self.activity[parts[1]].items():
                acts = [a for a in acts if not since or _dt(a["timestamp"]) > _dt(since)]
                if acts:
                    items.append({"campaign_id": parts[1], "list_id": LIST, "list_is_active": True,
                                  "email_id": hashlib.md5(email.lower().encode()).hexdigest(),
                                  "email_address": email, "activity": acts})
            key = "emails"
        else:
            return _problem(404, "Resource Not Found", "The requested resource could not be found.")
        return httpx.Response(200, json={key: items[offset:offset + count], "total_items": len(items)})


def _dt(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
