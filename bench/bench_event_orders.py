"""Cost of turning `Order Completed` events into orders, the refresh step every import and sync runs.

    python bench/bench_event_orders.py PAGE_VIEWS ORDER_EVENTS

Imports the page views and order events into a fresh workspace, then times
``derive_event_orders`` once (reading every new event past the high-water mark
and writing the orders) and again (nothing new: the usual refresh).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from segdesk.core.event_orders import derive_event_orders
from segdesk.core.importing.events import import_events
from segdesk.core.store import open_workspace


def events(page_views: int, orders: int):
    for i in range(page_views):
        yield {"type": "page", "anonymousId": f"a{i % 5000}", "messageId": f"p{i}",
               "timestamp": "2026-03-01T10:00:00.000Z",
               "context": {"page": {"url": f"https://shop.example/p/{i % 300}"}}}
    for i in range(orders):
        yield {"type": "track", "event": "Order Completed", "anonymousId": f"a{i}", "messageId": f"o{i}",
               "timestamp": "2026-03-01T11:00:00.000Z",
               "properties": {"order_id": str(i), "total": 9.99, "currency": "usd", "email": f"b{i}@x.com"}}


def main(page_views: int, orders: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        ws = open_workspace(Path(folder) / "ws")
        import_events(ws, events(page_views, orders), origin="bench")
        start = time.perf_counter()
        result = derive_event_orders(ws.conn)
        first = time.perf_counter() - start
        start = time.perf_counter()
        derive_event_orders(ws.conn)
        again = time.perf_counter() - start
        print(f"{page_views} page views + {orders} order events: {result.orders} orders in {first:.3f} s; "
              f"nothing new: {again * 1000:.2f} ms")
        ws.close()


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
