"""ActiveCampaign (API v3): contacts incremental on ``filters[updated_after]``, their tags, and money.

E-commerce orders, and won deals on request: activecampaign_orders.py.

Contacts page with ``limit``/``offset`` (at most 100:
https://developers.activecampaign.com/reference/pagination); the cursor keeps
the start time of the last complete run (minus a margin for clock skew) as the
next ``updated_after``, and the offset inside a run so a resumed run continues.

An account answers times in its own zone (``"udate": "2026-01-31T07:00:00-05:00"``)
and reads a filter's date as a wall-clock time of that zone, so the filter is
sent as the account's local time with its offset (learnt from the times it
sends, kept in the cursor): right whether the account honours the offset or not.

Tag names come from ``/tags`` (few, listed whole); tag assignments from
``/contactTags`` with ``orders[id]=ASC`` (the documented ``orders[field]``
ordering: without it no order is promised), so ids only grow at the end, the
cursor keeps how many were read and the next sync reads on from a little
before there. Removed tags are not noticed (the API has no change feed for
them). The API allows 5 requests/s per account and its 429 carries
``Retry-After`` (https://developers.activecampaign.com/reference/rate-limits);
we keep to 4/s.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from ...core.timeutil import parse_ts
from ..context import SyncContext
from ..http import RateLimit
from ..records import email_of, iso_ts
from . import activecampaign_orders
from .crm import Person, store_people, store_tags
from .toolkit import next_since, offset_pages, resume

PAGE = 100
RATE = RateLimit(4, 1.0)
SKEW = timedelta(minutes=10)
TAG_OVERLAP = PAGE


def sync(ctx: SyncContext) -> None:
    # A 403 is how ActiveCampaign refuses a wrong token (forbidden=None words it as a rejected key).
    client = ctx.client("", headers={"Api-Token": ctx.secret, "Accept": "application/json"}, rate=RATE,
                        auth_words="the API token", window=1.0, forbidden=lambda response: None)
    _contacts(ctx, client)
    _contact_tags(ctx, client, _tag_names(ctx, client))
    activecampaign_orders.sync_ecom(ctx, client)
    if ctx.source.config.get("deals_as_orders"):
        activecampaign_orders.sync_deals(ctx, client, updated_pages)
    else:  # off (or turned off): no deal orders, and turned on again they are all read anew
        ctx.commit({k: v for k, v in ctx.cursor.items() if k not in ("deals_after", "deals_run")},
                   activecampaign_orders.forget_deals(ctx))


def updated_pages(ctx: SyncContext, client, path: str, key: str, run: dict):
    """Pages of ``path`` changed since ``run["since"]`` (sent as the account's wall-clock time), from
    ``run["offset"]``."""
    params = {}
    if run["since"]:
        params["filters[updated_after]"] = local_time(run["since"], ctx.cursor.get("utc_offset_minutes"))
    return offset_pages(ctx, client, path, key, size=PAGE, params=params, offset=int(run["offset"]), total=_total)


def _contacts(ctx: SyncContext, client) -> None:
    run = resume(ctx, "updated_after", offset=0)
    for page in updated_pages(ctx, client, "/api/3/contacts", "contacts", run):
        found = [c for c in page.items if c.get("id") is not None]
        people = [
            Person(f"ac:{c['id']}", email_of(c.get("email")), c.get("firstName") or None, c.get("lastName") or None,
                   iso_ts(c.get("cdate")), iso_ts(c.get("udate")))
            for c in found
        ]
        zone = next((z for z in map(_offset_minutes, (c.get("udate") for c in found)) if z is not None), None)
        more = bool(people) and page.more
        cursor = {k: v for k, v in ctx.cursor.items() if k != "run"}
        if zone is not None:
            cursor["utc_offset_minutes"] = zone
        if more:
            cursor["run"] = {"started": run["started"], "since": run["since"], "offset": page.next}
        else:
            cursor["updated_after"] = next_since(run, SKEW)
        ctx.commit(cursor, lambda conn: store_people(ctx, conn, people))
        total = _total(page.body)
        ctx.count("contacts", 0.8 * page.next / total if total else 0.8, contacts=len(people))
        if not more:
            return


def _total(body: dict) -> int:
    return int((body.get("meta") or {}).get("total") or 0)


def local_time(ts: str, offset_minutes: int | None) -> str:
    """A stored UTC time as the account's wall-clock time with its offset, e.g. 2026-01-31T07:00:00-05:00."""
    zone = timezone(timedelta(minutes=offset_minutes or 0))
    return parse_ts(ts).astimezone(zone).replace(microsecond=0).isoformat()


def _offset_minutes(value) -> int | None:
    if not isinstance(value, str):
        return None
    try:
        offset = datetime.fromisoformat(value.strip().replace("Z", "+00:00")).utcoffset()
    except ValueError:
        return None
    return None if offset is None else int(offset.total_seconds() // 60)


def _tag_names(ctx: SyncContext, client) -> dict[str, str]:
    return {str(t["id"]): t.get("tag")
            for page in offset_pages(ctx, client, "/api/3/tags", "tags", size=PAGE, total=_total)
            for t in page.items if t.get("id") is not None}


def _contact_tags(ctx: SyncContext, client, names: dict[str, str]) -> None:
    start = max(0, int(ctx.cursor.get("tags_read", 0)) - TAG_OVERLAP)
    for page in offset_pages(ctx, client, "/api/3/contactTags", "contactTags", size=PAGE,
                             params={"orders[id]": "ASC"}, offset=start, total=_total):
        rows = [(f"ac:{t['contact']}", names.get(str(t.get("tag"))), iso_ts(t.get("cdate")))
                for t in page.items if t.get("contact") is not None]
        cursor = dict(ctx.cursor, tags_read=page.next)
        ctx.commit(cursor, lambda conn: store_tags(ctx, conn, rows))
        total = _total(page.body)
        ctx.count("tags", 0.8 + 0.2 * page.next / total if total else 1.0, contact_tags=len(page.items))
