"""Mailchimp (Marketing API 3.0): one audience's members with their tags, and campaign clicks as touches.

The API key ends in its data center (``…-us6``), which names the host,
``https://us6.api.mailchimp.com/3.0``; auth is HTTP Basic with any user name
and the key as password. Lists page with ``count`` (at most 1000) and
``offset`` against ``total_items``.

- Members (``/lists/{list_id}/members``) are read incrementally on
  ``since_last_changed``, sorted by ``last_changed`` ascending so a member
  changed mid-run moves to the end rather than shifting unread pages. Each
  member's ``tags`` is its whole tag set, so tags removed in Mailchimp are
  removed here too. Names are the merge fields FNAME and LNAME.
- Clicks: every sent campaign of the audience (``/campaigns?status=sent``),
  then its ``/reports/{id}/email-activity`` since the last run: each
  ``activity`` entry with action ``click`` is a touch of that email
  (core/email_clicks.py) with source ``mailchimp``, medium ``email`` and
  campaign the campaign's title (its subject when untitled): the title is
  what Mailchimp's link tracking puts in ``utm_campaign``, so the pixel's page
  view of the same click carries the same campaign and the two are one touch.

Mailchimp limits simultaneous connections (10), not requests over time, and
sends no rate-limit headers; a sync makes one request at a time, and a 429
waits 10 s, doubling while it repeats.
"""

from __future__ import annotations

import re
from datetime import timedelta

from ...core.email_clicks import store_clicks
from ...core.timeutil import parse_ts
from ..context import SyncContext
from ..http import AuthError
from ..records import email_of, iso_ts
from .crm import Person, replace_tags, store_people
from .toolkit import basic_auth, next_since, offset_pages, resume

PAGE = 1000
WINDOW = 10.0
OVERLAP = timedelta(minutes=10)
PLATFORM = "mailchimp"
_DC = re.compile(r"-([a-z]+[0-9]+)$")


def data_center(key: str) -> str:
    match = _DC.search(key.strip())
    if not match:
        raise AuthError("Mailchimp: the API key does not end in its data center (e.g. …-us6); "
                        "copy the whole key from Account > Extras > API keys")
    return match.group(1)


def _mc_time(ts: str) -> str:
    """A stored time as the API's examples write it (seconds, +00:00)."""
    return parse_ts(ts).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _total(body: dict) -> int:
    return int(body.get("total_items") or 0)


def sync(ctx: SyncContext) -> None:
    key = (ctx.secret or "").strip()
    client = ctx.client(f"https://{data_center(key)}.api.mailchimp.com/3.0",
                        headers={**basic_auth("segdesk", key), "Accept": "application/json"}, window=WINDOW)
    list_id = ctx.source.config["list_id"]
    run = resume(ctx, "since", stage="members", offset=0, done=[])
    if run["stage"] == "members":
        _members(ctx, client, list_id, run)
    _clicks(ctx, client, list_id)
    ctx.commit({"since": next_since(ctx.cursor["run"], OVERLAP)})
    ctx.count("done", 1.0)


def _members(ctx: SyncContext, client, list_id: str, run: dict) -> None:
    params = {"sort_field": "last_changed", "sort_dir": "ASC",
              **({"since_last_changed": _mc_time(run["since"])} if run["since"] else {})}
    for page in offset_pages(ctx, client, f"/lists/{list_id}/members", "members", size=PAGE, size_param="count",
                             params=params, offset=int(run["offset"]), total=_total):
        members = [m for m in page.items if m.get("id")]

        def write(conn, members=members):
            store_people(ctx, conn, [_person(m) for m in members])
            replace_tags(ctx, conn, {f"mailchimp:{m['id']}": [(t.get("name"), None) for t in m.get("tags") or []
                                                              if t.get("name")] for m in members})

        state = {**run, "offset": page.next} if page.more else {**run, "stage": "clicks", "offset": 0}
        ctx.commit({**ctx.cursor, "run": state}, write)
        ctx.count("members", None, members=len(members))


def _person(m: dict) -> Person:
    merge = m.get("merge_fields") or {}
    return Person(f"mailchimp:{m['id']}", email_of(m.get("email_address")), merge.get("FNAME") or None,
                  merge.get("LNAME") or None, iso_ts(m.get("timestamp_opt") or m.get("timestamp_signup")),
                  iso_ts(m.get("last_changed")))


def _clicks(ctx: SyncContext, client, list_id: str) -> None:
    since = ctx.cursor["run"]["since"]
    campaigns = [c for page in offset_pages(ctx, client, "/campaigns", "campaigns", size=PAGE, size_param="count",
                                            params={"status": "sent", "list_id": list_id, "sort_field": "send_time",
                                                    "sort_dir": "ASC"}, total=_total)
                 for c in page.items if c.get("id")]
    for n, campaign in enumerate(campaigns, 1):
        if campaign["id"] in ctx.cursor["run"]["done"]:
            continue
        settings = campaign.get("settings") or {}
        name = settings.get("title") or settings.get("subject_line") or campaign["id"]
        for page in offset_pages(ctx, client, f"/reports/{campaign['id']}/email-activity", "emails", size=PAGE,
                                 size_param="count", params={"since": _mc_time(since)} if since else {}, total=_total):
            rows = [(ctx.origin, f"{campaign['id']}:{e.get('email_id')}:{a.get('timestamp')}:{a.get('url')}",
                     email_of(e.get("email_address")), iso_ts(a.get("timestamp")), PLATFORM, name, a.get("url"))
                    for e in page.items for a in e.get("activity") or [] if a.get("action") == "click"]
            rows = [r for r in rows if r[2] and r[3]]
            run = dict(ctx.cursor["run"])
            if not page.more:  # a campaign resumed mid-report is read again from its first page (upserts)
                run["done"] = [*run["done"], campaign["id"]]
            ctx.commit({**ctx.cursor, "run": run},
                       lambda conn, rows=rows: ctx.add_changed(email_clicks=store_clicks(conn, rows)))
            ctx.count(f"clicks of {name}", 0.5 + 0.5 * n / len(campaigns), clicks=len(rows))
