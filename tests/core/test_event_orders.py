"""Issue 14 item 6: Segment's `Order Completed` / `Order Refunded` events are orders and refunds, counted once.

Driven through `segdesk import events` as a user would; every figure is worked out by hand in the comments.
"""

from __future__ import annotations

import json

from segdesk.cli import main

from .wire import at, identify, page, track


def _write(path, events) -> str:
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return str(path)


def _json(capsys, *argv, code: int = 0) -> dict:
    capsys.readouterr()
    assert main([*argv, "--json"]) == code
    return json.loads(capsys.readouterr().out)


def _orders_in_journey(capsys, email) -> list[dict]:
    return [e for e in _json(capsys, "journey", email)["events"] if e["kind"] in ("order", "refund")]


def completed(aid, ts, order_id, mid, **props):
    return track(aid, ts, "Order Completed", {"order_id": order_id, **props}, mid=mid)


FB = {"source": "facebook", "medium": "cpc", "name": "spring"}


def test_an_anonymous_checkout_becomes_the_identified_buyers_order(tmp_path, capsys):
    events = [
        page("a1", at(0), campaign=FB),
        identify("a1", at(0, minutes=5), email="Ann@X.com"),
        # No email on the event: the buyer is the contact the device belongs to at that moment.
        completed("a1", at(0, minutes=9), "1001", "oc-1", total=49.99, revenue=45.00, currency="USD",
                  products=[{"name": "Mug", "price": 20}, {"name": "Tee", "price": 29.99}]),
    ]
    out = _json(capsys, "import", "events", _write(tmp_path / "e.jsonl", events))
    assert out["orders_from_events"] == {"orders": 1, "refunds": 0, "ignored": 0, "waiting": 0}
    s = _json(capsys, "report", "summary")
    assert (s["orders"], s["revenue"]) == (1, {"usd": 4999})  # total (49.99) wins over revenue (45.00)
    orders = _orders_in_journey(capsys, "ann@x.com")
    assert [(o["kind"], o["order_id"], o["amount"], o.get("source")) for o in orders] == [
        ("order", "1001", {"usd": 4999}, "events")]
    assert orders[0]["product"] == "Mug; Tee"
    rows = _json(capsys, "report", "attribution", "--model", "first_touch", "--by", "source")["rows"]
    assert [(r["key"], r["credit"]) for r in rows] == [("facebook", {"usd": 4999.0})]


def test_resent_orders_refunds_and_currencies(tmp_path, capsys):
    buy = {"email": "bob@x.com"}
    first = [completed("b1", at(1), "2001", "oc-a", total="120.00", currency="eur", **buy),
             completed("b1", at(1, hours=1), "3001", "oc-b", total=4900, currency="JPY", **buy),
             completed("b1", at(1, hours=2), "4001", "oc-c", revenue=19.999999, **buy),  # no currency: USD
             completed("b1", at(1, hours=3), "5001", "oc-d", currency="usd", **buy),  # no amount: not an order
             track("b1", at(1, hours=4), "Order Completed", {"total": 5}, mid="oc-e")]  # no order id
    out = _json(capsys, "import", "events", _write(tmp_path / "1.jsonl", first))
    assert out["orders_from_events"]["orders"] == 3 and out["orders_from_events"]["ignored"] == 2
    assert _json(capsys, "report", "summary")["revenue"] == {"eur": 12000, "jpy": 4900, "usd": 2000}

    # The same file again changes nothing; the same order sent again (a new messageId, corrected total)
    # updates the one order; a partial refund, then a refund without an amount (the rest).
    _json(capsys, "import", "events", str(tmp_path / "1.jsonl"))
    later = [completed("b1", at(1, minutes=30), "2001", "oc-a2", total=100, currency="EUR", **buy),
             track("b1", at(2), "Order Refunded", {"order_id": "2001", "total": 30, "currency": "EUR"}, mid="or-1"),
             track("b1", at(3), "Order Refunded", {"order_id": "2001"}, mid="or-2"),
             track("b1", at(3), "Order Refunded", {"order_id": "3001", "total": 900}, mid="or-3")]
    out = _json(capsys, "import", "events", _write(tmp_path / "2.jsonl", later))
    assert out["orders_from_events"]["refunds"] == 3
    s = _json(capsys, "report", "summary")
    # EUR: 100 - 30 - 70 (the rest) = 0; JPY: 4,900 - 900 (the order's currency) = 4,000; USD 20.00.
    assert (s["orders"], s["revenue"]) == (3, {"eur": 0, "jpy": 4000, "usd": 2000})
    refunds = [(o["order_id"], o["amount"]) for o in _orders_in_journey(capsys, "bob@x.com") if o["kind"] == "refund"]
    assert sorted(refunds, key=str) == [("2001", {"eur": 3000}), ("2001", {"eur": 7000}), ("3001", {"jpy": 900})]


def test_the_same_purchase_as_an_event_and_in_an_orders_file_counts_once(tmp_path, capsys):
    events = [completed("c1", at(0), "1001", "oc-1", total=49.00, currency="usd", email="cy@x.com")]
    _json(capsys, "import", "events", _write(tmp_path / "e.jsonl", events))
    f = tmp_path / "orders.csv"
    f.write_text("order_id,email,amount,currency,created_at\n1001,cy@x.com,49.00,usd,2026-03-01T09:00:00Z\n"
                 "1002,cy@x.com,10.00,usd,2026-03-02T09:00:00Z\n")
    _json(capsys, "import", "orders", str(f))
    s = _json(capsys, "report", "summary")
    assert (s["orders"], s["revenue"]) == (2, {"usd": 5900})  # 49.00 once + 10.00
    assert [o["order_id"] for o in _orders_in_journey(capsys, "cy@x.com")] == ["1001", "1002"]


def test_an_order_event_before_its_buyer_is_known_waits_for_the_identify(tmp_path, capsys):
    out = _json(capsys, "import", "events", _write(tmp_path / "1.jsonl", [
        page("d1", at(0), campaign={"source": "news", "medium": "email"}),
        completed("d1", at(0, minutes=3), "7001", "oc-7", total=15, currency="gbp")]))
    assert out["orders_from_events"]["waiting"] == 1
    assert _json(capsys, "report", "summary")["revenue"] == {}  # reports count contacts' revenue: none yet
    out = _json(capsys, "import", "events", _write(tmp_path / "2.jsonl", [
        identify("d1", at(0, minutes=10), email="dee@x.com")]))
    assert out["orders_from_events"]["waiting"] == 0
    assert [(o["order_id"], o["amount"]) for o in _orders_in_journey(capsys, "dee@x.com")] == [
        ("7001", {"gbp": 1500})]


def test_orders_sent_after_the_newest_events_were_erased_still_count(tmp_path, capsys):
    _json(capsys, "import", "events", _write(tmp_path / "1.jsonl", [
        completed("e1", at(0), "8001", "oc-8", total=10, currency="usd", email="keep@x.com"),
        identify("e2", at(1), email="gone@x.com"),
        completed("e2", at(1, minutes=1), "8002", "oc-9", total=20, currency="usd")]))
    assert main(["erase", "gone@x.com"]) == 0  # the newest events go; the next one takes their ids again
    _json(capsys, "import", "events", _write(tmp_path / "2.jsonl", [
        completed("e3", at(2), "8003", "oc-10", total=30, currency="usd", email="new@x.com")]))
    assert _json(capsys, "report", "summary")["revenue"] == {"usd": 4000}  # 10.00 + 30.00


def test_an_anonymous_checkout_meets_its_stripe_charge_once_the_buyer_is_known(tmp_path, capsys):
    from segdesk.core.store import open_workspace
    from segdesk.sync import records

    with open_workspace(tmp_path / "workspace") as ws, ws.conn:
        records.orders(ws.conn, [("stripe", "ch_1", "fay@x.com", None, 4999, "usd", at(0, minutes=8), None, "paid",
                                  "pi_1")])
    _json(capsys, "import", "events", _write(tmp_path / "1.jsonl", [
        identify("f1", at(0), email="fay@x.com"),
        completed("f1", at(0, minutes=9), "9001", "oc-f", total=49.99, currency="usd")]))  # no email on it
    s = _json(capsys, "report", "summary")
    assert (s["orders"], s["revenue"]) == (1, {"usd": 4999})  # the charge and the event: one purchase
