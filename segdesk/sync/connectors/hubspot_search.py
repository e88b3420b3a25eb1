"""HubSpot's CRM search, read incrementally on an object's last-modified property, past its 10,000 cap.

``POST /crm/v3/objects/{object}/search`` with a ``GTE`` filter on the
modified property, sorted ascending, paged by ``after``
(https://developers.hubspot.com/docs/api-reference/search/guide). Search has
two limits this works around:

- It returns at most 10,000 results per query (paging past that is a 400).
  When a window reaches the cap, the next query starts a new window at the
  newest modified time seen (records at that instant are fetched twice and
  upserted once). When a whole window shares one instant (a bulk import),
  that instant is read on its own, ``EQ`` it and ``hs_object_id GT`` the last
  id, sorted by id, until it is exhausted.
- Its index lags the records: a record changed just before a sync may not be
  searchable yet. So the next sync starts from this run's start minus a
  margin, not from the newest record seen.

Contacts (``lastmodifieddate``) and deals (``hs_lastmodifieddate``) are both
read this way, each with its own state under its own key of the cursor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from ...core.timeutil import now_ts, parse_ts
from ..context import SyncContext
from ..records import iso_ts
from .toolkit import next_since

PAGE = 100
SEARCH_CAP = 10_000
OVERLAP = timedelta(minutes=10)


@dataclass(frozen=True)
class Search:
    object: str          # "contacts", "deals"
    modified: str        # the property that moves when a record changes
    properties: tuple[str, ...]


def _body(search: Search, filters: list[dict], sort: str, after: str | None, page: int) -> dict:
    body = {"filterGroups": [{"filters": filters}], "sorts": [{"propertyName": sort, "direction": "ASCENDING"}],
            "properties": list(search.properties), "limit": page}
    if after:
        body["after"] = after
    return body


def _query(search: Search, run: dict, page: int) -> dict:
    same = run.get("same")
    if same:  # one instant, by id
        return _body(search, [{"propertyName": search.modified, "operator": "EQ", "value": str(same["at"])},
                              {"propertyName": "hs_object_id", "operator": "GT", "value": str(same["id"])}],
                     "hs_object_id", run.get("after"), page)
    return _body(search, [{"propertyName": search.modified, "operator": "GTE", "value": str(run["gte"])}],
                 search.modified, run.get("after"), page)


def _ms(ts: str | None) -> int | None:
    return int(parse_ts(ts).timestamp() * 1000) if ts else None


def read(ctx: SyncContext, client, search: Search, key: str, handle: Callable[[object, list[dict]], None],
         *, page: int = PAGE, cap: int = SEARCH_CAP, prepare: Callable[[list[dict]], list[dict]] | None = None) -> None:
    """Every record of ``search.object`` changed since the last run, a page at a time: ``handle(conn, results)``
    is committed with ``ctx.cursor[key]``, the state that resumes after that page. ``prepare(results)``, when
    given, fetches what the page needs besides (on this thread: the write does no network)."""
    state = ctx.cursor.get(key) or {}
    gte = int(state.get("gte", 0))
    run = state.get("run") or {"started": now_ts(), "gte": gte, "after": None, "top": gte, "same": None}
    while True:
        ctx.check()
        body = client.post_json(f"/crm/v3/objects/{search.object}/search", json=_query(search, run, page))
        results = [r for r in body.get("results") or [] if r.get("id") is not None]
        if prepare and results:
            results = prepare(results)
        for r in results:
            changed = iso_ts((r.get("properties") or {}).get(search.modified) or r.get("updatedAt"))
            run["top"] = max(run["top"], _ms(changed) or 0)
        run, more = _next(run, ((body.get("paging") or {}).get("next") or {}).get("after"),
                          [int(r["id"]) for r in results], cap)
        done = {"gte": _ms(next_since(run, OVERLAP))}
        ctx.commit({**ctx.cursor, key: {"run": run} if more else done},
                   lambda conn, results=results: handle(conn, results))
        ctx.count(search.object, None, **{search.object: len(results)})
        if not more:
            return


def _next(run: dict, after: str | None, ids: list[int], cap: int) -> tuple[dict, bool]:
    """The query after this page, and whether there is one."""
    run = dict(run, after=None)
    capped = after is not None and int(after) >= cap
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
