"""Drip's clicks (its ``subscriber.clicked_email`` webhook events) as touches: attribution moves, one per click.

Hand-computed like test_email_clicks.py: Ann arrives from facebook on day 0 and buys 100.00 on day 4;
Bob arrives from google on day 0 and buys 50.00 on day 6, his email landing seen by the pixel on day 5."""

from __future__ import annotations

from segdesk.core.email_clicks import store_clicks
from segdesk.core.importing.csv_import import import_orders
from segdesk.core.importing.events import import_events
from segdesk.core.refresh import refresh_after_import
from segdesk.core.reports import build_report
from segdesk.sync.connectors.drip import click_rows

from ..core.wire import at, identify, page
from .fakes_drip import clicked_email

SHOP = "https://shop.example.com/"
FB = SHOP + "?utm_source=facebook&utm_medium=cpc&utm_campaign=spring"
FROM_DRIP = SHOP + "?utm_source=drip&utm_medium=email&utm_campaign=Spring%20Sale"


def credits(ws, model: str, by: str) -> dict:
    report = build_report(ws.conn, "attribution", model=model, by=by, lookback_days=90).to_json()
    return {row["key"]: row["credit"] for row in report["rows"]}


def visits_and_orders(ws) -> None:
    """The pixel's visits and the two orders of the module docstring (also read by tests/relay/test_drip_hooks.py)."""
    import_events(ws, [page("a1", at(0), FB), identify("a1", at(0, minutes=1), email="ann@example.com"),
                       page("b1", at(0), SHOP, "https://www.google.com/"),
                       identify("b1", at(0, minutes=1), email="bob@example.com"),
                       page("b1", at(5, hours=1, minutes=0.5), FROM_DRIP)], origin="test")
    import_orders(ws, "order_id,email,amount,currency,created_at\n"
                      f"o1,ann@example.com,100.00,usd,{at(4)}\no2,bob@example.com,50.00,usd,{at(6)}\n")


def setup(ws, events: list[dict]) -> int:
    visits_and_orders(ws)
    with ws.conn:
        stored = store_clicks(ws.conn, click_rows("drip", events))
    refresh_after_import(ws)
    return stored


def test_a_drip_click_is_a_touch_that_moves_credit(ws):
    setup(ws, [clicked_email("Ann@Example.com", at(3, hours=1), "Spring Sale"),
               {"event": "subscriber.opened_email", "occurred_at": at(3), "data": {}}])  # an open: no touch
    # Last touch: Ann's 100.00 moves from facebook to the click; Bob's 50.00 is his landing's (source drip).
    assert credits(ws, "last_touch", "source") == {"drip": {"usd": 15000.0}}
    # Linear: Ann 50.00 spring + 50.00 spring sale; Bob 25.00 (not set) + 25.00 spring sale.
    assert credits(ws, "linear", "campaign") == {"spring": {"usd": 5000.0}, "spring sale": {"usd": 7500.0},
                                                 "(not set)": {"usd": 2500.0}}


def test_the_click_the_pixel_saw_counts_once_and_a_redelivered_event_is_one_click(ws):
    # Bob clicks on day 5 at 10:00 and the pixel records the landing 30 s later: one touch, not two.
    # Linear on his 50.00: organic 25.00, email 25.00 (two touches would give email 33.33). Drip sends
    # the same event twice (its retries): one click stored.
    event = clicked_email("bob@example.com", at(5, hours=1), "Spring Sale")
    assert setup(ws, [event, event]) == 1
    assert credits(ws, "linear", "medium") == {"organic": {"usd": 2500.0}, "email": {"usd": 2500.0},
                                               "cpc": {"usd": 10000.0}}
