"""Fake Drip (REST API v2), as strict as Drip where a connector could get it wrong.

Sources: https://developer.drip.com/ (authentication, pagination, rate limiting,
errors, list all subscribers, webhook events), as summarised in
api-evangelist/drip (conventions/drip-conventions.yml, rate-limits/drip-rate-limits.yml,
asyncapi/drip-webhooks.yml).

- ``/v2/<account_id>/...``; another account id is a 404 ``not_found_error``.
- HTTP Basic with the API token as user name and an empty password; anything
  else is a 401 ``authentication_error``. A request without a User-Agent of its
  own (httpx's default one) is refused, as Drip asks every integration to name itself.
- ``/subscribers``: ``status`` (default ``active``; ``all``), ``sort=created_at``,
  ``direction``, ``page`` (1-based), ``per_page`` at most 1000 (more is a 422
  ``validation_error``); ``meta`` carries ``page``, ``count``, ``total_pages``,
  ``total_count``; each subscriber's ``tags`` is its whole tag set.
- Every answer carries ``X-RateLimit-Limit: 3600`` and ``X-RateLimit-Remaining``;
  errors are ``{"errors": [{"code", "message"}]}``.
"""

from __future__ import annotations

import base64
from datetime import datetime, timedelta, timezone

import httpx

from .fakes import FakeVendor

TOKEN = "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6"
ACCOUNT = "9999999"


def _errors(status: int, code: str, message: str) -> httpx.Response:
    return httpx.Response(status, json={"errors": [{"code": code, "message": message}]})


def drip_time(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class FakeDrip(FakeVendor):
    auth_error = {"errors": [{"code": "authentication_error",
                              "message": "You must provide a valid API token"}]}
    max_per_page = 1000

    def __init__(self) -> None:
        super().__init__()
        self.now = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(days=1)
        self.subscribers: dict[str, dict] = {}  # email -> subscriber
        self.remaining = 3600

    def subscriber(self, email: str, first: str = "", last: str = "", tags: tuple[str, ...] = (),
                   status: str = "active") -> dict:
        self.now += timedelta(seconds=1)
        s = self.subscribers.setdefault(email.strip().lower(), {
            "id": f"z{len(self.subscribers) + 1:07d}", "email": email, "created_at": drip_time(self.now),
            "href": "", "time_zone": "UTC", "custom_fields": {}})
        s.update(first_name=first or None, last_name=last or None, tags=list(tags), status=status)
        return s

    # -- HTTP ------------------------------------------------------------------
    def authorize(self, request):
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        try:
            user, _, password = base64.b64decode(token).decode().partition(":")
        except ValueError:
            user, password = "", "?"
        if scheme != "Basic" or user != TOKEN or password:
            return httpx.Response(401, json=self.auth_error)
        if request.headers.get("user-agent", "").startswith("python-httpx"):
            return _errors(400, "invalid_request_error", "Please identify your application in the User-Agent header")
        return None

    def route(self, request):
        self.remaining = max(self.remaining - 1, 0)
        headers = {"X-RateLimit-Limit": "3600", "X-RateLimit-Remaining": str(self.remaining)}
        parts = request.url.path.strip("/").split("/")
        if parts[:1] != ["v2"] or len(parts) < 3 or parts[1] != ACCOUNT:
            return _errors(404, "not_found_error", "The resource you requested was not found")
        if parts[2:] != ["subscribers"]:
            return _errors(404, "not_found_error", "The resource you requested was not found")
        q = request.url.params
        per_page, page = int(q.get("per_page", 100)), int(q.get("page", 1))
        if per_page > self.max_per_page:
            return _errors(422, "validation_error", "per_page must be less than or equal to 1000")
        items = [s for s in self.subscribers.values() if q.get("status", "active") in ("all", s["status"])]
        items.sort(key=lambda s: s["created_at"], reverse=q.get("direction") == "desc")
        pages = max(1, -(-len(items) // per_page))
        chunk = items[(page - 1) * per_page:page * per_page]
        body = {"links": {"subscribers.account": "https://api.getdrip.com/v2/accounts/{subscribers.account}"},
                "meta": {"page": page, "sort": "created_at", "direction": q.get("direction", "asc"),
                         "count": len(chunk), "total_pages": pages, "total_count": len(items),
                         "status": q.get("status", "active")},
                "subscribers": chunk}
        return httpx.Response(200, headers=headers, json=body)


def clicked_email(email: str, when: str, subject: str, url: str = "https://shop.example.com/sale",
                  delivery: str = "99999") -> dict:
    """A ``subscriber.clicked_email`` webhook event as Drip posts it (developer.drip.com/#webhook-events)."""
    return {"event": "subscriber.clicked_email", "occurred_at": when,
            "data": {"account_id": ACCOUNT, "subscriber": {"id": "z0000001", "email": email},
                     "properties": {"email_id": "88888", "email_subject": subject, "url": url,
                                    "delivery_id": delivery, "user_agent": "Mozilla/5.0", "ip_address": "192.0.2.1"}}}


def tag_event(event: str, email: str, tag: str, when: str, subscriber_id: str = "z0000001") -> dict:
    """A ``subscriber.applied_tag`` / ``subscriber.removed_tag`` webhook event (``properties.tag``)."""
    return {"event": event, "occurred_at": when,
            "data": {"account_id": ACCOUNT, "subscriber": {"id": subscriber_id, "email": email},
                     "properties": {"tag": tag}}}
