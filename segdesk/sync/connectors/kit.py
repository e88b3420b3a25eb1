"""Kit (ConvertKit API v4): subscribers incremental on ``updated_after``, tags on ``tagged_after``.

Both lists use cursor paging (``after`` = the previous page's
``pagination.end_cursor`` while ``has_next_page``). The sync cursor keeps,
for the next run, the start time of the last complete run minus a margin,
and inside a run the page cursor so a resumed run continues. Kit allows 120
requests per rolling minute per API key; we keep to 100.
"""

from __future__ import annotations

from datetime import timedelta

from ...core.timeutil import now_ts, shift
from ..context import SyncContext
from ..http import RateLimit
from ..records import email_of, iso_ts
from .crm import Person, store_people, store_tags

API = "https://api.kit.com"
PAGE = 1000
RATE = RateLimit(100, 60.0)
SKEW = timedelta(minutes=10)


def _paged(ctx: SyncContext, client, path: str, params: dict, stage: str, handle) -> None:
    """Walk a cursor-paged list; each page commits with the run's position (the last marks the stage done)."""
    run = ctx.cursor["run"]
    after = run.get("after") if run.get("stage") == stage else None
    while True:
        ctx.check()
        body = client.get_json(path, params={**params, "per_page": PAGE, **({"after": after} if after else {})})
        page = body.get("subscribers") or []
        paging = body.get("pagination") or {}
        more = bool(paging.get("has_next_page")) and bool(page)
        after = paging.get("end_cursor") if more else None
        run = dict(ctx.cursor["run"])
        if more:
            run.update(stage=stage, after=after)
        else:
            run.update(stage=None, after=None, done=[*run.get("done", []), stage])
        ctx.commit({**ctx.cursor, "run": run}, lambda conn: handle(conn, page))
        ctx.count(stage, None, subscribers=len(page))
        if not more:
            return


def sync(ctx: SyncContext) -> None:
    client = ctx.client(API, headers={"X-Kit-Api-Key": ctx.secret, "Accept": "application/json"}, rate=RATE)
    run = ctx.cursor.get("run") or {}
    since = run.get("since", ctx.cursor.get("updated_after"))
    ctx.cursor["run"] = {"started": now_ts(), "since": since, "done": [], **run}

    def people(conn, page):
        store_people(ctx, conn, [
            Person(f"kit:{s['id']}", email_of(s.get("email_address")), s.get("first_name") or None, None,
                   iso_ts(s.get("created_at")), None)
            for s in page if s.get("id") is not None])

    if "subscribers" not in ctx.cursor["run"]["done"]:
        params = {"status": "all", **({"updated_after": since} if since else {})}
        _paged(ctx, client, "/v4/subscribers", params, "subscribers", people)
    tags = client.get_json("/v4/tags", params={"per_page": PAGE}).get("tags") or []
    for n, tag in enumerate(tags, 1):
        stage = f"tag:{tag['id']}"
        if stage in ctx.cursor["run"]["done"]:
            continue

        def tagged(conn, page, name=tag.get("name")):
            people(conn, page)
            store_tags(ctx, conn, [(f"kit:{s['id']}", name, iso_ts(s.get("tagged_at"))) for s in page])

        params = {"status": "all", **({"tagged_after": since} if since else {})}
        _paged(ctx, client, f"/v4/tags/{tag['id']}/subscribers", params, stage, tagged)
        ctx.count(f"tag {tag.get('name')}", 0.5 + 0.5 * n / len(tags))
    ctx.commit({"updated_after": shift(ctx.cursor["run"]["started"], -SKEW)})
    ctx.count("done", 1.0)
