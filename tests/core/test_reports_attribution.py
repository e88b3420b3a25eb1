"""Attribution models on hand-computed journeys, and the sum rule on random ones."""

from __future__ import annotations

import tempfile
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from segdesk.core.importing.csv_import import import_orders
from segdesk.core.importing.events import import_events
from segdesk.core.refresh import refresh_after_import
from segdesk.core.reports import build_report, drill_down
from segdesk.core.store import open_workspace

from .wire import at, identify, page

SHOP = "https://shop.example.com/"
FB = SHOP + "?utm_source=facebook&utm_medium=cpc&utm_campaign=spring"
NEWS = SHOP + "?utm_source=newsletter&utm_medium=email&utm_campaign=weekly"
GOOGLE, BING = "https://www.google.com/", "https://www.bing.com/"


def _orders_csv(rows):
    lines = ["order_id,email,amount,currency,created_at,refunded_amount"]
    lines += [",".join(r) for r in rows]
    return "\n".join(lines) + "\n"


def journeys_workspace(folder):
    ws = open_workspace(folder)
    events = [
        # A: facebook, then google organic, then direct; two orders.
        page("a1", at(0), FB), page("a1", at(2), SHOP, GOOGLE), page("a1", at(5)),
        identify("a1", at(5, minutes=1), email="a@x.com"),
        # B: only direct visits; an order in EUR.
        page("b1", at(10)), page("b1", at(11)), identify("b1", at(11, minutes=1), email="b@x.com"),
        # C: its one touch is 101 days before the order.
        page("c1", at(-100), FB), identify("c1", at(-100, minutes=1), email="c@x.com"),
        # D: bing, then the newsletter; one order partly, one fully refunded.
        page("d1", at(20), SHOP, BING), page("d1", at(21), NEWS), identify("d1", at(21, minutes=1), email="d@x.com"),
    ]
    import_events(ws, events, origin="test")
    import_orders(ws, _orders_csv([
        ("o1", "a@x.com", "100.00", "usd", at(6), ""), ("o2", "a@x.com", "30.00", "usd", at(7), ""),
        ("o3", "b@x.com", "50.00", "eur", at(12), ""), ("o4", "c@x.com", "20.00", "usd", at(1), ""),
        ("o5", "d@x.com", "20.00", "usd", at(22), "5.00"), ("o6", "d@x.com", "10.00", "usd", at(23), "10.00"),
    ]))
    refresh_after_import(ws)
    return ws


@pytest.fixture(scope="module")
def ws():
    folder = tempfile.mkdtemp()
    w = journeys_workspace(folder)
    yield w
    w.close()


def _credits(ws, model, by="source", lookback=90):
    r = build_report(ws.conn, "attribution", model=model, by=by, lookback_days=lookback).to_json()
    assert r["total"] == {"eur": 5000, "usd": 16500}  # o6 is fully refunded: nothing to share
    return {row["key"]: row["credit"] for row in r["rows"]}, {row["key"]: row["orders"] for row in r["rows"]}, r


def test_first_touch(ws):
    credit, orders, r = _credits(ws, "first_touch")
    assert credit == {"facebook": {"usd": 13000.0}, "(direct)": {"eur": 5000.0}, "bing.com": {"usd": 1500.0}}
    assert orders == {"facebook": 2.0, "(direct)": 1.0, "bing.com": 1.0}
    assert r["unattributed"] == {"eur": 0, "usd": 2000}  # C's only touch is outside the window


def test_last_touch(ws):
    credit, orders, _ = _credits(ws, "last_touch")
    assert credit == {"(direct)": {"eur": 5000.0, "usd": 13000.0}, "newsletter": {"usd": 1500.0}}
    assert orders == {"(direct)": 3.0, "newsletter": 1.0}


def test_last_non_direct_skips_direct_unless_all_direct(ws):
    credit, _, _ = _credits(ws, "last_non_direct")
    assert credit == {"google.com": {"usd": 13000.0}, "(direct)": {"eur": 5000.0}, "newsletter": {"usd": 1500.0}}


def test_linear_rounds_to_the_cent_and_adds_up(ws):
    credit, orders, _ = _credits(ws, "linear")
    # A's 130.00 in thirds: 4333.333... each; the one leftover 0.01 minor unit goes to the first key.
    assert credit == {"(direct)": {"eur": 5000.0, "usd": 4333.34}, "facebook": {"usd": 4333.33},
                      "google.com": {"usd": 4333.33}, "bing.com": {"usd": 750.0}, "newsletter": {"usd": 750.0}}
    assert sum(Decimal(str(v)) for v in orders.values()) == 4


def test_position_based(ws):
    credit, _, _ = _credits(ws, "position_based")
    assert credit == {"facebook": {"usd": 5200.0}, "google.com": {"usd": 2600.0},
                      "(direct)": {"usd": 5200.0, "eur": 5000.0}, "bing.com": {"usd": 750.0},
                      "newsletter": {"usd": 750.0}}


def test_time_decay(ws):
    credit, _, _ = _credits(ws, "time_decay")
    # A's orders are 6/4/1 and 7/5/2 days after its touches: the same relative weights.
    wa = [2 ** (-6 / 7), 2 ** (-4 / 7), 2 ** (-1 / 7)]
    wd = [2 ** (-2 / 7), 2 ** (-1 / 7)]
    assert credit["facebook"]["usd"] == pytest.approx(13000 * wa[0] / sum(wa), abs=0.011)
    assert credit["google.com"]["usd"] == pytest.approx(13000 * wa[1] / sum(wa), abs=0.011)
    assert credit["(direct)"]["usd"] == pytest.approx(13000 * wa[2] / sum(wa), abs=0.011)
    assert credit["bing.com"]["usd"] == pytest.approx(1500 * wd[0] / sum(wd), abs=0.011)
    assert credit["(direct)"]["eur"] == 5000.0


def test_longer_window_reaches_the_old_touch(ws):
    credit, _, r = _credits(ws, "first_touch", lookback=200)
    assert credit["facebook"] == {"usd": 15000.0} and r["unattributed"] == {"eur": 0, "usd": 0}


def test_by_campaign_and_source_medium(ws):
    credit, _, _ = _credits(ws, "first_touch", by="campaign")
    assert credit == {"spring": {"usd": 13000.0}, "(not set)": {"eur": 5000.0, "usd": 1500.0}}
    credit, _, _ = _credits(ws, "first_touch", by="source_medium")
    assert set(credit) == {"facebook / cpc", "(direct) / (none)", "bing.com / organic"}


def test_drill_down_lists_orders_with_their_share(ws):
    report = build_report(ws.conn, "attribution", model="linear")
    rows = drill_down(ws.conn, report.parameters, "facebook")
    assert [o["order_id"] for o in rows["orders"]] == ["o1", "o2"]
    assert all(o["credit"] == pytest.approx(1 / 3) for o in rows["orders"])
    assert [c["email"] for c in rows["contacts"]] == ["a@x.com"]
    rows = drill_down(ws.conn, report.parameters, "unattributed")
    assert [o["order_id"] for o in rows["orders"]] == ["o4"]


def test_since_until_select_orders(ws):
    r = build_report(ws.conn, "attribution", model="first_touch", since=at(6)[:10], until=at(7)[:10]).to_json()
    assert r["total"] == {"usd": 13000}


CHANNELS = [(SHOP, ""), (FB, ""), (NEWS, ""), (SHOP, GOOGLE), (SHOP, BING)]


@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 4), st.floats(0, 60)), min_size=1, max_size=12),
       st.lists(st.tuples(st.integers(0, 2), st.integers(1, 99999), st.booleans(), st.floats(0, 70),
                          st.integers(0, 100)), min_size=1, max_size=8),
       st.integers(1, 120))
def test_sum_rule_on_random_journeys(visits, orders, lookback):
    ws = open_workspace(tempfile.mkdtemp())
    try:
        events = [page(f"dev{p}", at(day), *CHANNELS[ch]) for p, ch, day in visits]
        events += [identify(f"dev{p}", at(30, minutes=p), email=f"p{p}@x.com") for p in range(3)]
        import_events(ws, events, origin="test")
        import_orders(ws, _orders_csv(
            (f"r{i}", f"p{p}@x.com", f"{cents / 100:.2f}", "eur" if eur else "usd", at(day),
             f"{cents * pct // 10000:.2f}" if pct < 100 else "")
            for i, (p, cents, eur, day, pct) in enumerate(orders)))
        refresh_after_import(ws)
        for model in ("first_touch", "last_touch", "last_non_direct", "linear", "time_decay", "position_based"):
            r = build_report(ws.conn, "attribution", model=model, lookback_days=lookback).to_json()
            for cur, total in r["total"].items():
                rows = sum(Decimal(str(row["credit"].get(cur, 0))) for row in r["rows"])
                assert rows + r["unattributed"][cur] == total
                assert all(row["credit"].get(cur, 0) >= 0 for row in r["rows"])
    finally:
        ws.close()
