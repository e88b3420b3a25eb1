"""HubSpot contact lists (Lists API v3) as tags: a list's name on each member, gone when they leave.

``POST /crm/v3/lists/search`` pages the account's lists by ``offset`` /
``count`` (at most 500) with ``hasMore``; only contact lists
(``objectTypeId`` ``0-1``) are tags
(https://developers.hubspot.com/docs/guides/api/crm/lists/overview).
``GET /crm/v3/lists/{listId}/memberships`` pages a list's members
(``recordId``, ``membershipTimestamp``) in ``recordId`` order by ``after``,
at most 250 a page
(https://developers.hubspot.com/docs/api-reference/legacy/crm/lists/memberships/get-memberships-by-id).
HubSpot has no feed of who left a list, so each list is read whole every
sync and its tag removed from contacts no longer on it, after its last page
(a resumed run reads the list again from its first page, so the set it
compares against is whole). Needs the ``crm.lists.read`` scope; a token
without it syncs everything else, with a note.
"""

from __future__ import annotations

from ..context import SyncContext
from ..http import PermissionDenied
from ..records import drop_tags, iso_ts
from .crm import store_tags
from .toolkit import cursor_pages

LISTS_PAGE = 500
MEMBERS_PAGE = 250
CONTACT_OBJECT = "0-1"


def _lists(ctx: SyncContext, client) -> list[dict]:
    found, offset = [], 0
    while True:
        ctx.check()
        body = client.post_json("/crm/v3/lists/search", json={
            "query": "", "processingTypes": ["MANUAL", "DYNAMIC", "SNAPSHOT"], "count": LISTS_PAGE, "offset": offset})
        page = body.get("lists") or []
        found += [x for x in page if x.get("listId") is not None and x.get("objectTypeId") == CONTACT_OBJECT]
        offset = int(body.get("offset") or offset + len(page))
        if not body.get("hasMore") or not page:
            return found


def _after(body: dict, items: list) -> str | None:
    return ((body.get("paging") or {}).get("next") or {}).get("after") if items else None


def sync_lists(ctx: SyncContext, client) -> None:
    try:
        lists = _lists(ctx, client)
    except PermissionDenied as exc:
        ctx.notes.append(f"lists skipped: {exc}")
        return
    for lst in lists:
        _members(ctx, client, lst)


def _members(ctx: SyncContext, client, lst: dict) -> None:
    name, on_list = (lst.get("name") or "").strip() or f"list {lst['listId']}", set()
    for page in cursor_pages(ctx, client, f"/crm/v3/lists/{lst['listId']}/memberships", "results", next_of=_after,
                             params={"limit": MEMBERS_PAGE}):
        rows = [(f"hubspot:{m['recordId']}", name, iso_ts(m.get("membershipTimestamp")))
                for m in page.items if isinstance(m, dict) and m.get("recordId") is not None]
        on_list.update(f"cid:{key}" for key, _, _ in rows)

        def write(conn, rows=rows, last=not page.more):
            store_tags(ctx, conn, rows)
            if last:
                ctx.add_changed(tags=drop_tags(conn, ctx.origin, name, on_list))

        ctx.commit(ctx.cursor, write)
        ctx.count(f"list {name}", None, listed=len(rows))
