"""The connector kit: what every vendor connector needs once, so a new one is a short module.

- **Pagination**, the four styles vendors use, each a generator of :class:`Page`
  (the items, the raw body, where the next page starts, whether there is one):
  :func:`offset_pages` (``limit``/``offset`` or ``count``/``offset``, with a
  total or "a full page means more"), :func:`number_pages` (``page`` with a
  total page count), :func:`cursor_pages` (an opaque cursor from the body) and
  :func:`link_pages` (the next page's whole URL, from a ``Link: <...>;
  rel="next"`` header or from the body, e.g. JSON:API's ``links.next``).
  Every generator checks for a cancel before each request.
- **Incremental windows with overlap**: :func:`resume` opens (or resumes) a
  run whose ``since`` is where the last complete run left off, and
  :func:`next_since` is that run's start minus the overlap, so a record
  changed while a run was reading (or late into a vendor's index) is read
  again and upserted, never skipped.
- **Credentials**: :func:`basic_auth` (Mailchimp's "any user name and the key").
- **Rate limits, retries, error lines**: ``sync/http.py`` (``ctx.client(...,
  rate=RateLimit(...), window=..., forbidden=...)``).
- **Mapping** to contacts, tags and orders: ``crm.py`` (``Person``,
  ``store_people``, ``store_tags``, ``replace_tags``) over ``sync/records.py``.
- **A fake vendor**: ``tests/sync/fakes.py`` (``FakeVendor``: auth, faults,
  revoked keys) served over real HTTP by ``tests/sync/loopback.py``.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta

from ...core.money import MoneyError, to_minor
from ...core.timeutil import now_ts, shift
from ..context import SyncContext
from ..http import VendorError


@dataclass
class Page:
    items: list
    body: dict
    next: object = None  # the next offset, page number, cursor or URL
    more: bool = False


def _items(body, key: str) -> list:
    return (body.get(key) if isinstance(body, dict) else None) or []


def offset_pages(ctx: SyncContext, client, path: str, key: str, *, size: int, params: dict | None = None,
                 offset: int = 0, total: Callable[[dict], int | None] = lambda body: None,
                 size_param: str = "limit", offset_param: str = "offset") -> Iterator[Page]:
    """``size``/``offset`` pages until ``offset`` reaches ``total(body)``, or, where the vendor
    gives no total (None), until a page comes back short."""
    while True:
        ctx.check()
        body = client.get_json(path, params={**(params or {}), size_param: size, offset_param: offset})
        items = _items(body, key)
        offset += len(items)
        known = total(body)
        more = bool(items) and (offset < known if known is not None else len(items) >= size)
        yield Page(items, body, offset, more)
        if not more:
            return


def number_pages(ctx: SyncContext, client, path: str, key: str, *, params: dict | None = None, page: int = 1,
                 pages: Callable[[dict], int] = lambda body: int(body.get("total_pages") or 0),
                 page_param: str = "page") -> Iterator[Page]:
    """Numbered pages (1-based) until ``pages(body)``, the vendor's page count, is reached."""
    while True:
        ctx.check()
        body = client.get_json(path, params={**(params or {}), page_param: page})
        items = _items(body, key)
        more = bool(items) and page < pages(body)
        page += 1
        yield Page(items, body, page, more)
        if not more:
            return


def cursor_pages(ctx: SyncContext, client, path: str, key: str, *, next_of: Callable[[dict, list], str | None],
                 params: dict | None = None, after: str | None = None, cursor_param: str = "after") -> Iterator[Page]:
    """Pages chained by an opaque cursor: ``next_of(body, items)`` is the next one, None at the end."""
    while True:
        ctx.check()
        body = client.get_json(path, params={**(params or {}), **({cursor_param: after} if after else {})})
        items = _items(body, key)
        after = next_of(body, items)
        yield Page(items, body, after, after is not None)
        if after is None:
            return


_NEXT = re.compile(r'<([^>]+)>\s*;[^,]*\brel="?next"?', re.IGNORECASE)


def link_header_next(response) -> str | None:
    """The ``rel="next"`` URL of an RFC 8288 ``Link`` header, if any."""
    match = _NEXT.search(response.headers.get("link") or "")
    return match.group(1) if match else None


def link_pages(ctx: SyncContext, client, url: str, key: str, *, params: dict | None = None,
               next_of: Callable[[object, dict], str | None] | None = None) -> Iterator[Page]:
    """Pages whose next URL the vendor gives whole: ``next_of(response, body)`` (by default the
    ``Link`` header). The next URL already carries every parameter, so ``params`` go on the first only."""
    next_of = next_of or (lambda response, body: link_header_next(response))
    while url:
        ctx.check()
        response = client.request("GET", url, **({"params": params} if params else {}))
        body = client.json(response)
        url, params = next_of(response, body), None
        yield Page(_items(body, key), body, url, bool(url))


def resume(ctx: SyncContext, since_key: str, **defaults) -> dict:
    """This run's state in ``ctx.cursor["run"]``: a resumed run's as it was, else a new one starting
    now and reading from the last complete run's ``since_key``."""
    ctx.cursor["run"] = {"started": now_ts(), "since": ctx.cursor.get(since_key), **defaults,
                         **(ctx.cursor.get("run") or {})}
    return ctx.cursor["run"]


def next_since(run: dict, overlap: timedelta) -> str:
    """Where the next run reads from: this run's start minus the overlap."""
    return shift(run["started"], -overlap)


def basic_auth(user: str, password: str) -> dict:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def vendor_minor(value, currency: str, what: str) -> int:
    """A vendor's amount in major units (missing: 0) as minor units; a malformed one is the vendor's
    error, naming ``what`` ("Kit purchase 7: ..."), so the sync stops with one line and stores nothing of it."""
    try:
        return to_minor(str(value or 0), currency)
    except MoneyError as exc:
        raise VendorError(f"{what}: {exc}") from None
