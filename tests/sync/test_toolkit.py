"""The connector kit's paging styles the four CRMs do not use yet: numbered pages and Link headers."""

from __future__ import annotations

import httpx

from segdesk.core.progress import Progress
from segdesk.sync.connectors.toolkit import link_header_next, link_pages, number_pages
from segdesk.sync.context import SyncContext
from segdesk.sync.sources import Source

from .fakes import FakeVendor
from .loopback import Loopback

ITEMS = list(range(7))


class Paged(FakeVendor):
    """``/numbered?page=N`` (3 a page, ``total_pages``) and ``/linked?since_id=N`` (GitHub/Shopify style)."""

    def authorize(self, request):
        return None if request.headers.get("authorization") == "Bearer t" else httpx.Response(401, json={})

    def route(self, request):
        if request.url.path == "/numbered":
            page = int(request.url.params["page"])
            return httpx.Response(200, json={"items": ITEMS[(page - 1) * 3:page * 3], "total_pages": 3})
        after = int(request.url.params.get("since_id", -1))
        rest = [i for i in ITEMS if i > after]
        headers = {}
        if len(rest) > 3:
            nxt = request.url.copy_set_param("since_id", str(rest[2]))
            headers["link"] = f'<{request.url}>; rel="self", <{nxt}>; rel="next"'
        return httpx.Response(200, json={"items": rest[:3]}, headers=headers)


def test_numbered_and_linked_pages_read_to_the_end(ws, options):
    fake = Paged()
    ctx = SyncContext(ws, Source("x", "kit"), None, Progress(), options())
    with Loopback(fake) as transport:
        ctx.options.transports["kit"] = transport
        client = ctx.client("https://vendor.test", headers={"Authorization": "Bearer t"})
        assert [i for p in number_pages(ctx, client, "/numbered", "items") for i in p.items] == ITEMS
        assert [i for p in link_pages(ctx, client, "/linked", "items") for i in p.items] == ITEMS
    assert [r.url.params.get("since_id") for r in fake.log if r.url.path == "/linked"] == [None, "2", "5"]


def test_link_header_next_reads_rfc_8288():
    response = httpx.Response(200, headers={"link": '<https://a.test/x?page=1>; rel="prev", '
                                                    '<https://a.test/x?page=3>; rel="next"'})
    assert link_header_next(response) == "https://a.test/x?page=3"
    assert link_header_next(httpx.Response(200)) is None
