"""The app shows the identity cases: attribution after the shared computer's handover, a server-side
page view and a click in the Gmail app (hand-computed, last touch by source); a forwarded link not followed."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from segdesk.core.importing.csv_import import import_orders  # noqa: E402
from segdesk.core.importing.events import import_events  # noqa: E402
from segdesk.core.refresh import refresh_after_import  # noqa: E402
from segdesk.core.store import open_workspace  # noqa: E402
from tests.core.wire import at, identify, page  # noqa: E402

SHOP = "https://shop.example.com/"


def test_reports_view_credits_each_person_their_own_touches(tmp_path, qtbot):
    from segdesk.ui.context import AppContext
    from segdesk.ui.reports_view import ReportsView

    with open_workspace(tmp_path / "ws") as ws:
        import_events(ws, [
            page("pc", at(0), SHOP + "?utm_source=google&utm_medium=cpc"),
            identify("pc", at(0, minutes=1), email="carl@example.com"),
            identify("pc", at(0, minutes=10), email="ann@example.com"), page("pc", at(0, minutes=11)),
            {"type": "identify", "userId": "u9", "messageId": "s1", "timestamp": at(0),
             "traits": {"email": "dora@example.com"}},
            {"type": "page", "userId": "u9", "messageId": "s2", "timestamp": at(0, hours=1),
             "properties": {"url": SHOP + "?utm_source=newsletter&utm_medium=email"}},
            page("eve-phone", at(0), SHOP, "android-app://com.google.android.gm/"),
            identify("eve-phone", at(0, minutes=1), email="eve@example.com"),
        ], origin="test")
        import_orders(ws, "order_id,email,amount,currency,created_at\n"
                          f"o1,ann@example.com,50.00,usd,{at(0, hours=2)}\no2,carl@example.com,20.00,usd,{at(0, hours=2)}\n"
                          f"o3,dora@example.com,10.00,usd,{at(0, hours=2)}\no4,eve@example.com,5.00,usd,{at(0, hours=2)}\n")
        refresh_after_import(ws)
    ctx = AppContext(tmp_path / "ws")
    try:
        view = ReportsView(ctx)
        qtbot.addWidget(view)
        with qtbot.waitSignal(view.reportShown, timeout=10000):
            view.set_report("attribution", by="source", model="last_touch", lookback_days=90)
        m = view.model
        cells = {m.row_key(r): " ".join(str(m.data(m.index(r, c))) for c in range(m.columnCount()))
                 for r in range(m.rowCount())}
        assert set(cells) == {"(direct)", "google", "newsletter", "mail.google.com"}
        for key, amount in (("(direct)", "50.00"), ("google", "20.00"), ("newsletter", "10.00"),
                            ("mail.google.com", "5.00")):
            assert amount in cells[key], (key, cells[key])
    finally:
        ctx.close()


def test_the_journey_shows_a_link_not_followed(tmp_path):
    from segdesk.core.read.timeline import build_timeline, load_journey

    with open_workspace(tmp_path / "ws") as ws:
        import_events(ws, [identify("pc", at(0), email="carl@example.com", method="form"),
                           identify("pc", at(1), email="ann@example.com", method="link")], origin="test")
        refresh_after_import(ws)
        entries = build_timeline(load_journey(ws.conn, "carl@example.com").journey, money=str)
    assert [(e.what, e.detail) for e in entries] == [
        ("Identified by opt-in form", "carl@example.com"),
        ("Email link not followed", "link for ann@example.com on a device identified as carl@example.com, not followed"),
    ]
