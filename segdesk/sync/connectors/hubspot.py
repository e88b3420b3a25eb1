"""HubSpot: contacts through the CRM search API, incremental on ``lastmodifieddate``.

``POST /crm/v3/objects/contacts/search`` with a ``lastmodifieddate GTE``
filter, sorted ascending, paged by ``after``
(https://developers.hubspot.com/docs/api-reference/search/guide). Search has
two limits this works around:

- It returns at most 10,000 results per query (paging past that is a 400).
  When a window reaches the cap, the next query starts a new window at the
  newest ``lastmodifieddate`` seen (records at that instant are fetched twice
  and upserted once). When a whole window shares one instant (a bulk import),
  that instant is read on its own, ``lastmodifieddate EQ`` it and
  ``hs_object_id GT`` the last id, sorted by id, until it is exhausted.
- Its index lags the records: a contact changed just before a sync may not be
  searchable yet. So, like the other CRM connectors, the next sync starts from
  this run's start minus a margin, not from the newest record seen.

A token without the ``crm.objects.contacts.read`` scope gets a 403 naming the
scope (category ``MISSING_SCOPES``), reported as such. Search is limited to 5
requests/s per account, below the 100 per 10 s of private apps
(https://developers.hubspot.com/docs/developer-tooling/platform/usage-guidelines),
so we keep to 4/s.
"""

from __future__ import annotations

from datetime import timedelta

import httpx
import orjson

from ...core.timeutil import now_ts, parse_ts
from ..context import SyncContext
from ..http import RateLimit, error_text
from ..records import email_of, iso_ts
from .crm import Person, store_people
from .toolkit import next_since

API = "https://api.hubapi.com"
PAGE = 100
SEARCH_CAP = 10_000
RATE = RateLimit(4, 1.0)
WINDOW = 10.0
OVERLAP = timedelta(minutes=10)
PROPERTIES = ["email", "firstname", "lastname", "createdate", "lastmodifieddate"]


def _forbidden(response: httpx.Response) -> str:
    try:
        body = orjson.loads(response.content)
    except orjson.JSONDecodeError:
        body = {}
    if isinstance(body, dict) and body.get("category") == "MISSING_SCOPES":
        scopes = sorted({s for e in body.get("errors") or [] for s in (e.get("context") or {}).get(
            "requiredGranularScopes") or []})
        if scopes:
            noun = "scope" if len(scopes) == 1 else "scopes"
            return f"HubSpot: the private app token lacks the {noun} {', '.join(scopes)}"
    return f"HubSpot refused {response.request.url.path}: {error_text(response)}"


def _body(filters: list[dict], sort: str, after: str | None) -> dict:
    body = {"filterGroups": [{"filters": filters}], "sorts": [{"propertyName": sort, "direction": "ASCENDING"}],
            "properties": PROPERTIES, "limit": PAGE}
    if after:
        body["after"] = after
    return body


def _query(run: dict) -> dict:
    same = run.get("same")
    if same:  # one instant, by id
        return _body([{"propertyName": "lastmodifieddate", "operator": "EQ", "value": str(same["at"])},
                      {"propertyName": "hs_object_id", "operator": "GT", "value": str(same["id"])}],
                     "hs_object_id", run.get("after"))
    return _body([{"propertyName": "lastmodifieddate", "operator": "GTE", "value": str(run["gte"])}],
                 "lastmodifieddate", run.get("after"))


def _ms(ts: str | None) -> int | None:
    return int(parse_ts(ts).timestamp() * 1000) if ts else None


def sync(ctx: SyncContext) -> None:
    client = ctx.client(API, headers={"Authorization": f"Bearer {ctx.secret}"}, rate=RATE,
                        auth_words="the private app token", window=WINDOW, forbidden=_forbidden)
    gte = int(ctx.cursor.get("gte", 0))
    run = ctx.cursor.get("run") or {"started": now_ts(), "gte": gte, "after": None, "top": gte, "same": None}
    while True:
        ctx.check()
        body = client.post_json("/crm/v3/objects/contacts/search", json=_query(run))
        people, ids = [], []
        for r in body.get("results") or []:
            props = r.get("properties") or {}
            updated = iso_ts(props.get("lastmodifieddate") or r.get("updatedAt"))
            people.append(Person(f"hubspot:{r['id']}", email_of(props.get("email")), props.get("firstname") or None,
                                 props.get("lastname") or None, iso_ts(props.get("createdate") or r.get("createdAt")),
                                 updated))
            ids.append(int(r["id"]))
            run["top"] = max(run["top"], _ms(updated) or 0)
        run, more = _next(run, ((body.get("paging") or {}).get("next") or {}).get("after"), ids)
        cursor = {"run": run} if more else {"gte": _ms(next_since(run, OVERLAP))}
        ctx.commit(cursor, lambda conn: store_people(ctx, conn, people))
        ctx.count("contacts", None if more else 1.0, contacts=len(people))
        if not more:
            return


def _next(run: dict, after: str | None, ids: list[int]) -> tuple[dict, bool]:
    """The query after this page, and whether there is one."""
    run = dict(run, after=None)
    capped = after is not None and int(after) >= SEARCH_CAP
    if run.get("same"):
        if after and not capped:
            return dict(run, after=after), True
        if capped:  # still more at this instant: continue after the last id read
            return dict(run, same={**run["same"], "id": max(ids)}), True
        return dict(run, same=None, gte=run["same"]["at"] + 1), True  # the instant is done: on past it
    if capped:
        if run["top"] > run["gte"]:
            return dict(run, gte=run["top"]), True  # a new window from the newest record seen
        return dict(run, same={"at": run["gte"], "id": 0}), True  # a whole window at one instant
    return dict(run, after=after), bool(after) and bool(ids)
