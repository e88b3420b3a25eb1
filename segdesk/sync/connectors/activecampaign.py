"""ActiveCampaign (API v3): contacts incremental on ``filters[updated_after]``, then their tags.

Contacts page with ``limit``/``offset``; the cursor keeps the start time of
the last complete run (minus a margin for clock skew) as the next
``updated_after``, and the offset inside a run so a resumed run continues.
Tag names come from ``/tags`` (few, listed whole); tag assignments from
``/contactTags``, which lists oldest first, so the cursor keeps how many were
read and the next sync reads on from a little before there. Removed tags are
not noticed (the API has no change feed for them). The API allows 5
requests/s per account; we keep to 4.
"""

from __future__ import annotations

from datetime import timedelta

from ...core.timeutil import now_ts, shift
from ..context import SyncContext
from ..http import RateLimit
from ..records import email_of, iso_ts
from .crm import Person, store_people, store_tags

PAGE = 100
RATE = RateLimit(4, 1.0)
SKEW = timedelta(minutes=10)
TAG_OVERLAP = PAGE


def sync(ctx: SyncContext) -> None:
    client = ctx.client("", headers={"Api-Token": ctx.secret, "Accept": "application/json"}, rate=RATE,
                        auth_words="the API token")
    _contacts(ctx, client)
    _contact_tags(ctx, client, _tag_names(ctx, client))


def _contacts(ctx: SyncContext, client) -> None:
    run = ctx.cursor.get("run") or {}
    started = run.get("started") or now_ts()
    since = run.get("since", ctx.cursor.get("updated_after"))
    offset = int(run.get("offset", 0))
    while True:
        ctx.check()
        params = {"limit": PAGE, "offset": offset}
        if since:
            params["filters[updated_after]"] = since
        body = client.get_json("/api/3/contacts", params=params)
        people = [
            Person(f"ac:{c['id']}", email_of(c.get("email")), c.get("firstName") or None, c.get("lastName") or None,
                   iso_ts(c.get("cdate")), iso_ts(c.get("udate")))
            for c in body.get("contacts") or [] if c.get("id") is not None
        ]
        offset += len(people)
        total = int((body.get("meta") or {}).get("total") or 0)
        more = bool(people) and offset < total
        cursor = {k: v for k, v in ctx.cursor.items() if k != "run"}
        if more:
            cursor["run"] = {"started": started, "since": since, "offset": offset}
        else:
            cursor["updated_after"] = shift(started, -SKEW)
        ctx.commit(cursor, lambda conn: store_people(ctx, conn, people))
        ctx.count("contacts", 0.8 * offset / total if total else 0.8, contacts=len(people))
        if not more:
            return


def _tag_names(ctx: SyncContext, client) -> dict[str, str]:
    names, offset = {}, 0
    while True:
        ctx.check()
        body = client.get_json("/api/3/tags", params={"limit": PAGE, "offset": offset})
        page = body.get("tags") or []
        names.update({str(t["id"]): t.get("tag") for t in page if t.get("id") is not None})
        offset += len(page)
        if not page or offset >= int((body.get("meta") or {}).get("total") or 0):
            return names


def _contact_tags(ctx: SyncContext, client, names: dict[str, str]) -> None:
    offset = max(0, int(ctx.cursor.get("tags_read", 0)) - TAG_OVERLAP)
    while True:
        ctx.check()
        body = client.get_json("/api/3/contactTags", params={"limit": PAGE, "offset": offset})
        page = body.get("contactTags") or []
        rows = [(f"ac:{t['contact']}", names.get(str(t.get("tag"))), iso_ts(t.get("cdate")))
                for t in page if t.get("contact") is not None]
        offset += len(page)
        total = int((body.get("meta") or {}).get("total") or 0)
        cursor = dict(ctx.cursor, tags_read=offset)
        ctx.commit(cursor, lambda conn: store_tags(ctx, conn, rows))
        ctx.count("tags", 0.8 + 0.2 * offset / total if total else 1.0, contact_tags=len(page))
        if not page or offset >= total:
            return
