"""Kit (ConvertKit API v4): subscribers incremental on ``updated_after``, tag memberships read whole, purchases.

Auth is the API key in ``X-Kit-Api-Key``
(https://developers.kit.com/api-reference/authentication). Lists use cursor
paging (``after`` = the previous page's ``pagination.end_cursor`` while
``has_next_page``; ``per_page`` at most 1000), the tag list included. The sync
cursor keeps, for the next run, the start time of the last complete run minus
a margin, and inside a run the subscriber page cursor so a resumed run
continues.

Each tag's subscribers are read to the end every sync, because Kit has no
feed of removed tags: after a tag's last page, its rows for subscribers no
longer on it are deleted in the same transaction. A run resumed inside a tag
reads that tag again from its first page, so the set it compares against is
whole. A tag deleted from the account leaves every subscriber after the
sync that no longer finds it. Purchases: kit_purchases.py.

An API key may send 120 requests per 60 s; over that Kit answers a plain-text
429 without ``Retry-After`` (https://developers.kit.com/api-reference/rate-limits),
so we keep to 100 per minute and a 429 waits the full 60 s window.
"""

from __future__ import annotations

from datetime import timedelta

from ..context import SyncContext
from ..http import RateLimit
from ..records import drop_tags, email_of, iso_ts, keep_only_tags
from .crm import Person, store_people, store_tags
from .kit_purchases import sync_purchases
from .toolkit import cursor_pages, next_since, resume

API = "https://api.kit.com"
PAGE = 1000
RATE = RateLimit(100, 60.0)
WINDOW = 60.0
SKEW = timedelta(minutes=10)


def _next(body: dict, items: list) -> str | None:
    paging = body.get("pagination") or {}
    return paging.get("end_cursor") if paging.get("has_next_page") and items else None


def _pages(ctx: SyncContext, client, path: str, params: dict, key: str, after: str | None = None):
    """Yield (page, next cursor or None) until the list ends."""
    for page in cursor_pages(ctx, client, path, key, next_of=_next, params={**params, "per_page": PAGE}, after=after):
        yield page.items, page.next


def sync(ctx: SyncContext) -> None:
    client = ctx.client(API, headers={"X-Kit-Api-Key": ctx.secret, "Accept": "application/json"}, rate=RATE,
                        window=WINDOW)
    run = resume(ctx, "updated_after", done=[])
    since = run["since"]

    def people(conn, page):
        store_people(ctx, conn, [
            Person(f"kit:{s['id']}", email_of(s.get("email_address")), s.get("first_name") or None, None,
                   iso_ts(s.get("created_at")), None)
            for s in page if s.get("id") is not None])

    if "subscribers" not in ctx.cursor["run"]["done"]:
        params = {"status": "all", **({"updated_after": since} if since else {})}
        for page, after in _pages(ctx, client, "/v4/subscribers", params, "subscribers", run.get("after")):
            state = dict(ctx.cursor["run"], after=after)
            if after is None:
                state["done"] = [*state["done"], "subscribers"]
            ctx.commit({**ctx.cursor, "run": state}, lambda conn, page=page: people(conn, page))
            ctx.count("subscribers", None, subscribers=len(page))
    tags = [t for page, _ in _pages(ctx, client, "/v4/tags", {}, "tags") for t in page if t.get("id") is not None]
    for n, tag in enumerate(tags, 1):
        if f"tag:{tag['id']}" not in ctx.cursor["run"]["done"]:
            _tag(ctx, client, tag, people)
        ctx.count(f"tag {tag.get('name')}", 0.5 + 0.5 * n / len(tags))
    top = sync_purchases(ctx, client, _pages)
    names = {t.get("name") for t in tags if t.get("name")}
    ctx.commit({"updated_after": next_since(ctx.cursor["run"], SKEW), "purchases_top": top},
               lambda conn: ctx.add_changed(tags=keep_only_tags(conn, ctx.origin, names)))
    ctx.count("done", 1.0)


def _tag(ctx: SyncContext, client, tag: dict, people) -> None:
    name, on_tag = tag.get("name"), set()
    for page, after in _pages(ctx, client, f"/v4/tags/{tag['id']}/subscribers", {"status": "all"}, "subscribers"):
        on_tag.update(f"cid:kit:{s['id']}" for s in page if s.get("id") is not None)

        def write(conn, page=page, last=after is None):
            people(conn, page)
            store_tags(ctx, conn, [(f"kit:{s['id']}", name, iso_ts(s.get("tagged_at"))) for s in page])
            if last:
                ctx.add_changed(tags=drop_tags(conn, ctx.origin, name, on_tag))

        run = dict(ctx.cursor["run"])
        if after is None:
            run["done"] = [*run["done"], f"tag:{tag['id']}"]
        ctx.commit({**ctx.cursor, "run": run}, write)
        ctx.count(f"tag {name}", None, tagged=len(page))
