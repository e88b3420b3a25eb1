"""Issue 16 item 9: the journey tells the story: devices by name and kind, who got each purchase's credit,
backfilled visits legible with a legend, date columns never cut.

C (``tests/core/test_compare_filters.build_shop``) visits on an iPad from a facebook / cpc / summer ad on
3 March 09:00 and directly on 4 March 09:00, fills the form a minute later (both visits are backfilled),
and buys 20 USD on 26 March 09:00: ages 23 and 22 days.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402
from PySide6.QtCore import Qt  # noqa: E402

from tests.core.test_compare_filters import build_shop  # noqa: E402

FB = "facebook / cpc / summer"


def test_order_credits_by_model(tmp_path):
    from segdesk.core.read.journey import contact_of_email
    from segdesk.core.reports.credits import order_credits
    from segdesk.core.store import open_workspace

    build_shop(tmp_path / "ws")
    with open_workspace(tmp_path / "ws") as ws:
        cid = contact_of_email(ws.conn, "c@x.com")

        def shares(model):
            [(key, touches)] = order_credits(ws.conn, cid, model).items()
            assert key == ("import", "o4") or key[1] == "o4"
            return [(t["source"], t["share"]) for t in touches]

        assert shares("linear") == [("facebook", 0.5), ("(direct)", 0.5)]
        assert shares("first_touch") == [("facebook", 1.0)]
        assert shares("last_touch") == [("(direct)", 1.0)]
        assert shares("last_non_direct") == [("facebook", 1.0)]
        # time decay: 2^(-23/7) : 2^(-22/7), i.e. 1 / (1 + 2^(1/7)) = 1 / 2.104090 = 0.475265 for the older touch.
        decay = shares("time_decay")
        assert [s for s, _ in decay] == ["facebook", "(direct)"]
        assert decay[0][1] == pytest.approx(0.475265, abs=1e-6) and sum(w for _, w in decay) == pytest.approx(1)
        # A lookback of 10 days reaches neither visit: the order is unattributed.
        [(_, touches)] = order_credits(ws.conn, cid, "linear", 10).items()
        assert touches == []


def _rows(tree):
    out = []
    for i in range(tree.topLevelItemCount()):
        item = tree.topLevelItem(i)
        out.append((0, item))
        out += [(1, item.child(j)) for j in range(item.childCount())]
    return out


@pytest.fixture
def journey_page(tmp_path, qtbot):
    """open(email) -> the journey page of the shop's contact, on screen at 1024x700."""
    from segdesk.ui.context import AppContext
    from segdesk.ui.journey_view import JourneyView

    build_shop(tmp_path / "ws")
    ctx = AppContext(tmp_path / "ws")
    view = JourneyView(ctx)
    qtbot.addWidget(view)
    view.resize(1024, 700)
    view.show()

    def open_contact(email):
        with qtbot.waitSignal(view.loaded, timeout=10000):
            view.show_contact(email)
        return view

    yield open_contact
    ctx.close()


def test_the_journey_shows_devices_credits_backfill_and_whole_dates(journey_page, qtbot):
    from segdesk.ui.journey_view import KIND_ROLE

    view = journey_page("c@x.com")
    rows = _rows(view.timeline)
    purchase = next(item for depth, item in rows if item.text(1).endswith("Purchase"))
    credits = [purchase.child(j).text(1).split("  ", 1)[1] for j in range(purchase.childCount())]
    assert credits == [f"50% credit · {FB}", "50% credit · (direct) / (none)"]
    assert purchase.isExpanded()

    # Every visit row names the iPad with the tablet icon.
    visits = [item for _d, item in rows if "Session · " in item.text(1)]
    assert len(visits) == 2
    for item in visits:
        assert "iPad" in item.text(2) and item.data(2, KIND_ROLE) == "tablet" and not item.icon(2).isNull()
        # Both visits came before the form: backfilled, in italics on a band, and the legend says so.
        assert item.text(3) == "anonymous · backfilled" and item.font(1).italic()
    assert "backfilled" in view.legend.text() and view.legend.isVisible()
    device = view.devices.topLevelItem(0)
    assert device.data(1, KIND_ROLE) == "tablet" and not device.icon(1).isNull()

    # Another model: the purchase's credit follows it.
    with qtbot.waitSignal(view.loaded, timeout=10000):
        view.model_box.setCurrentIndex(view.model_box.findData("first_touch"))
    purchase = next(item for _d, item in _rows(view.timeline) if item.text(1).endswith("Purchase"))
    assert [purchase.child(j).text(1).split("  ", 1)[1] for j in range(purchase.childCount())] == [
        f"100% credit · {FB}"]

    # Dates are never cut: the When column and the device dates are as wide as their text.
    fm = view.timeline.fontMetrics()
    for _d, item in _rows(view.timeline):
        assert view.timeline.columnWidth(0) >= fm.horizontalAdvance(item.text(0))
    dfm = view.devices.fontMetrics()
    device = view.devices.topLevelItem(0)
    for col in (2, 3, 5):
        assert view.devices.columnWidth(col) >= dfm.horizontalAdvance(device.text(col))


def test_the_iphone_buyer_has_a_phone_and_full_credit(journey_page):
    from segdesk.ui.journey_view import KIND_ROLE

    view = journey_page("a@x.com")
    purchases = [item for _d, item in _rows(view.timeline) if item.text(1).endswith("Purchase")]
    assert len(purchases) == 2
    for p in purchases:  # one visit, from the spring ad: all the credit, on the phone
        assert p.childCount() == 1 and p.child(0).text(1).endswith("100% credit · facebook / cpc / spring")
        assert p.child(0).data(2, KIND_ROLE) == "phone"


def test_journey_json_lists_each_orders_credit(tmp_path, capsys):
    import json

    from segdesk.cli import main

    build_shop(tmp_path / "ws")
    capsys.readouterr()
    assert main(["--workspace", str(tmp_path / "ws"), "journey", "c@x.com", "--credit", "position_based",
                 "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    [order] = [e for e in data["events"] if e["kind"] == "order"]
    # Two touches: position based gives 50/50 (docs/SPEC.md §4).
    assert [(c["source"], c["share"], c["time"]) for c in order["credit"]] == [
        ("facebook", 0.5, "2026-03-03T09:00:00.000Z"), ("(direct)", 0.5, "2026-03-04T09:00:00.000Z")]
    assert [d["kind"] for d in data["devices"]] == ["tablet"]
    assert main(["--workspace", str(tmp_path / "ws"), "journey", "c@x.com", "--credit", "linear",
                 "--lookback-days", "10", "--json"]) == 0
    [order] = [e for e in json.loads(capsys.readouterr().out)["events"] if e["kind"] == "order"]
    assert order["credit"] == []  # nothing in the 10 days before: unattributed
