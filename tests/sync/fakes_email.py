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


# -- Klaviyo -----------------------------------------------------------------------------------------
PK = "pk_0123456789abcdef0123456789abcdef01"


def _jsonapi_error(status: int, code: str, title: str, detail: str) -> httpx.Response:
    return httpx.Response(status, headers={"content-type": "application/vnd.api+json"}, json={"errors": [
        {"id": "8f1b0c2e-0000-0000-0000-000000000000", "status": status, "code": code, "title": title,
         "detail": detail, "source": {"pointer": "/data/"}, "links": {}, "meta": {}}]})


def _cmp(op: str, left: str, right: str) -> bool:
    if op == "greater-than":
        return _dt(left) > _dt(right)
    if op == "equals":
        return left == right
    raise ValueError(f"operator {op} not faked")


class FakeKlaviyo(FakeVendor):
    """JSON:API with the revision header required, cursor pages by ``links.next``, ``page[size]`` at most
    100 for profiles, filters ``greater-than(updated|datetime, …)`` and ``equals(metric_id, "…")``,
    RateLimit-* headers on every answer and Retry-After on a 429."""

    auth_error = {"errors": [{"status": 401, "code": "not_authenticated",
                              "title": "Authentication credentials were not provided.",
                              "detail": "Missing or invalid private key."}]}
    max_size = 100
    steady = 700

    def __init__(self) -> None:
        super().__init__()
        self.now = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=2)
        self.profiles: dict[str, dict] = {}
        self.lists: dict[str, dict] = {}  # id -> {"name", "members": [profile ids]}
        self.metrics = {"M_CLICK": CLICK_METRIC, "M_ORDER": "Placed Order", "M_REFUND": "Refunded Order",
                        "M_OPEN": "Opened Email"}
        self.events: list[dict] = []
        self.remaining = self.steady

    def tick(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now

    def catch_up(self) -> None:
        self.now = max(self.now, datetime.now(timezone.utc).replace(microsecond=0))

    def profile(self, email: str, first: str = "", last: str = "") -> str:
        pid = next((k for k, p in self.profiles.items() if p["email"] == email), f"01P{len(self.profiles):05d}")
        t = self.tick().isoformat()
        p = self.profiles.setdefault(pid, {"email": email, "created": t})
        p.update(first_name=first or None, last_name=last or None, updated=t)
        return pid

    def put_on(self, list_id: str, name: str, *pids: str) -> None:
        self.lists.setdefault(list_id, {"name": name, "members": []})["members"] = list(pids)

    def event(self, metric: str, pid: str, when: str, **props) -> None:
        self.events.append({"id": f"4E{len(self.events):06d}", "metric": metric, "profile": pid,
                            "datetime": when, "props": props})

    # -- HTTP ------------------------------------------------------------------
    def authorize(self, request):
        if request.headers.get("authorization") != f"Klaviyo-API-Key {PK}":
            return httpx.Response(401, json=self.auth_error)
        if not request.headers.get("revision"):
            return _jsonapi_error(400, "invalid", "Invalid input.", "Missing or invalid revision header.")
        return None

    def route(self, request):
        self.remaining = (self.remaining or self.steady) - 1  # a window used up has reset by the next call
        headers = {"RateLimit-Limit": str(self.steady), "RateLimit-Remaining": str(self.remaining),
                   "RateLimit-Reset": "42", "content-type": "application/vnd.api+json"}
        params = request.url.params
        size = int(params.get("page[size]", 20))
        if size > self.max_size:
            return _jsonapi_error(400, "invalid", "Invalid input.", f"Page size must be at most {self.max_size}.")
        path = request.url.path
        if path == "/api/profiles/":
            items = [self._profile(pid) for pid in self.profiles]
            items = self._filtered(items, params.get("filter"), lambda p, field: p["attributes"][field])
            if params.get("sort") == "updated":
                items.sort(key=lambda p: p["attributes"]["updated"])
        elif path == "/api/lists/":
            items = [{"type": "list", "id": k, "attributes": {"name": v["name"]}} for k, v in self.lists.items()]
        elif path.startswith("/api/lists/") and path.endswith("/profiles/"):
            lst = self.lists.get(path.split("/")[3])
            if lst is None:
                return _jsonapi_error(404, "not_found", "Not found.", "A list with id was not found.")
            items = [self._profile(pid) for pid in lst["members"]]
        elif path == "/api/metrics/":
            items = [{"type": "metric", "id": k, "attributes": {"name": v}} for k, v in self.metrics.items()]
            size = 200
        elif path == "/api/events/":
            items = [self._event(e) for e in self.events]
            items = self._filtered(items, params.get("filter"), lambda e, field: (
                e["relationships"]["metric"]["data"]["id"] if field == "metric_id" else e["attributes"][field]))
            items.sort(key=lambda e: e["attributes"]["datetime"])
            size = 200  # this revision's fixed page
        else:
            return _jsonapi_error(404, "not_found", "Not found.", "The resource was not found.")
        start = int(params.get("page[cursor]", 0))
        page = items[start:start + size]
        body = {"data": page, "links": {"self": str(request.url), "next": None}}
        if start + size < len(items):
            body["links"]["next"] = str(request.url.copy_set_param("page[cursor]", str(start + size)))
        if path == "/api/events/" and params.get("include") == "profile":
            seen = {e["relationships"]["profile"]["data"]["id"] for e in page}
            body["included"] = [{"type": "profile", "id": pid, "attributes": {"email": self.profiles[pid]["email"]}}
                                for pid in sorted(seen)]
        return httpx.Response(200, headers=headers, json=body)

    def _profile(self, pid: str) -> dict:
        p = self.profiles[pid]
        return {"type": "profile", "id": pid, "attributes": {k: p[k] for k in ("email", "first_name", "last_name",
                                                                                 "created", "updated")}}

    def _event(self, e: dict) -> dict:
        return {"type": "event", "id": e["id"],
                "attributes": {"datetime": e["datetime"], "event_properties": e["props"]},
                "relationships": {"profile": {"data": {"type": "profile", "id": e["profile"]}},
                                  "metric": {"data": {"type": "metric", "id": e["metric"]}}}}

    @staticmethod
    def _filtered(items: list, expression: str | None, value) -> list:
        """Klaviyo's filter syntax: comma-joined ``op(field,value)`` terms, all of which must hold."""
        if not expression:
            return items
        terms = []
        for term in expression.split("),"):
            op, _, rest = term.rstrip(")").partition("(")
            field, _, operand = rest.partition(",")
            terms.append((op, field, operand.strip('"')))
        return [i for i in items if all(_cmp(op, value(i, field), operand) for op, field, operand in terms)]


CLICK_METRIC = "Clicked Email"
