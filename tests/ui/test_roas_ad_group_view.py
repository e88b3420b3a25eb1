"""The Reports page shows ROAS by ad group / ad set, says what spend no visit met, and drills into a row."""

from __future__ import annotations

from segdesk.core.store import open_workspace
from tests.core.test_roas_ad_groups import build


def test_roas_by_ad_group_on_the_reports_page(tmp_path, qtbot):
    from segdesk.ui.context import AppContext
    from segdesk.ui.reports_view import ReportsView

    ws = open_workspace(tmp_path / "ws")
    build(ws)
    ws.close()
    ctx = AppContext(tmp_path / "ws")
    try:
        view = ReportsView(ctx)
        qtbot.addWidget(view)
        view.resize(1100, 700)
        view.show()
        with qtbot.waitSignal(view.reportShown, timeout=10000):
            view.set_report("roas", by="source")
        assert [view.by_box.itemText(i) for i in range(view.by_box.count())] == ["Source", "Campaign", "Ad group"]
        with qtbot.waitSignal(view.reportShown, timeout=10000):
            view.by_box.setCurrentIndex(view.by_box.findData("ad_group"))
        m = view.model
        cells = {m.row_key(r): [m.data(m.index(r, c)) for c in range(m.columnCount())] for r in range(m.rowCount())}
        assert set(cells) == {"facebook / spring / lookalike", "facebook / spring / retarget",
                              "google / brand / (not set)", "facebook / tokyo / t1", "facebook / autumn / a1"}
        assert "50.00 USD" in cells["facebook / spring / lookalike"]
        assert "spend that no visit in the range met, not in the rows: 17.00 USD" in view.status.text()
        row = next(r for r in range(m.rowCount()) if m.row_key(r) == "facebook / spring / retarget")
        dialog = view.drill_down(row)
        qtbot.addWidget(dialog)
        qtbot.waitUntil(lambda: dialog.result is not None, timeout=10000)
        assert [c["email"] for c in dialog.result["contacts"]] == ["b@x.com"]
    finally:
        ctx.close()
