"""HubSpot: contacts through the CRM search API, incremental on ``lastmodifieddate``.

``POST /crm/v3/objects/contacts/search`` with a ``lastmodifieddate GTE``
filter, sorted ascending, paged by ``after``. Search stops at 10,000 results
per query, so when a window reaches that cap the next query starts a new
window at the last ``lastmodifieddate`` seen (records at that instant are
fetched twice and upserted once). Search is limited to 5 requests/s per
account, below the 100 per 10 s of private apps, so we keep to 4/s.
"""

from __future__ import annotations

from ...core.timeutil import parse_ts
from ..context import SyncContext
from ..http import RateLimit
from ..records import email_of, iso_ts
from .crm import Person, store_people

API = "https://api.hubapi.com"
PAGE = 100
SEARCH_CAP = 10_000
RATE = RateLimit(4, 1.0)
PROPERTIES = ["email", "firstname", "lastname", "createdate", "lastmodifieddate"]


def _body(gte_ms: int, after: str | None) -> dict:
    body = {
        "filterGroups": [{"filters": [
            {"propertyName": "lastmodifieddate", "operator": "GTE", "value": str(gte_ms)}]}],
        "sorts": [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
        "properties": PROPERTIES,
        "limit": PAGE,
    }
    if after:
        body["after"] = after
    return body


def _ms(ts: str | None) -> int | None:
    return int(parse_ts(ts).timestamp() * 1000) if ts else None


def sync(ctx: SyncContext) -> None:
    client = ctx.client(API, headers={"Authorization": f"Bearer {ctx.secret}"}, rate=RATE,
                        auth_words="the private app token")
    gte = int(ctx.cursor.get("gte", 0))
    after = ctx.cursor.get("after")
    top = int(ctx.cursor.get("top", gte))
    while True:
        ctx.check()
        body = client.post_json("/crm/v3/objects/contacts/search", json=_body(gte, after))
        people = []
        for r in body.get("results") or []:
            props = r.get("properties") or {}
            updated = iso_ts(props.get("lastmodifieddate") or r.get("updatedAt"))
            people.append(Person(f"hubspot:{r['id']}", email_of(props.get("email")), props.get("firstname") or None,
                                 props.get("lastname") or None, iso_ts(props.get("createdate") or r.get("createdAt")),
                                 updated))
            top = max(top, _ms(updated) or 0)
        nxt = ((body.get("paging") or {}).get("next") or {}).get("after")
        if nxt and int(nxt) >= SEARCH_CAP:
            # The search cap: open a new window from the newest record seen. If a
            # whole window shares one instant, step past it rather than loop.
            gte, nxt = (top if top > gte else gte + 1), None
            more = True
        else:
            more = bool(nxt) and bool(people)
        cursor = {"gte": gte, "after": nxt, "top": top} if more else {"gte": top}
        ctx.commit(cursor, lambda conn: store_people(ctx, conn, people))
        total = body.get("total")
        ctx.count("contacts", None if more else 1.0, contacts=len(people))
        if total:
            ctx.progress.update(fraction=min(0.99, ctx.counts.get("contacts", 0) / max(1, int(total))))
        if not more:
            return
        after = nxt
