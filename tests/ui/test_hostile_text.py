"""Workspace data is shown as the text it is: HTML-looking values from strangers
(a contact id, UTM values, names, tags, a page title) go through every view and
come out as the same characters, never as rich text, links or images."""

from __future__ import annotations

import csv
import os
import shutil
import subprocess

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from ..hostile_data import (CAMPAIGN, CMD, CONTACT_ID, EMAIL, LAST_NAME, SOURCE, TAG,  # noqa: E402
                            build_hostile_workspace)

HOSTILE = [CAMPAIGN, CMD, CONTACT_ID, LAST_NAME, SOURCE, TAG, "<h1>", "<br>", "<img"]


def rendered(text: str, fmt=None) -> str:
    """What Qt shows for `text`: a QLabel, tooltip or message box in AutoText
    renders it as HTML when it looks like HTML."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QTextDocument
    from PySide6.QtGui import Qt as GuiQt

    fmt = Qt.TextFormat.AutoText if fmt is None else fmt
    if fmt == Qt.TextFormat.PlainText or (fmt == Qt.TextFormat.AutoText and not GuiQt.mightBeRichText(text)):
        return text
    doc = QTextDocument()
    doc.setHtml(text)
    return doc.toPlainText()


def check_labels(window) -> list[str]:
    """Every label that shows hostile data shows it verbatim; returns their texts."""
    from PySide6.QtWidgets import QLabel

    shown = []
    for label in window.findChildren(QLabel):
        text = label.text()
        if any(h in text for h in HOSTILE):
            assert rendered(text, label.textFormat()) == text, f"{label.objectName()!r} renders {text!r} as HTML"
            shown.append(text)
    return shown


def check_tree(tree) -> list[str]:
    """Every cell's text and its tooltip read back as the same text."""
    texts = []
    items = [tree.topLevelItem(i) for i in range(tree.topLevelItemCount())]
    for item in items:
        items += [item.child(j) for j in range(item.childCount())] if item.childCount() else []
        for c in range(tree.columnCount()):
            texts.append(item.text(c))
            tip = item.toolTip(c)
            if tip and any(h in item.text(c) for h in HOSTILE):
                assert rendered(tip) == item.text(c), (tip, item.text(c))
    return texts


def check_model(model) -> list[str]:
    from PySide6.QtCore import Qt

    texts = []
    for r in range(model.rowCount()):
        for c in range(model.columnCount()):
            index = model.index(r, c)
            text = model.data(index, Qt.ItemDataRole.DisplayRole)
            tip = model.data(index, Qt.ItemDataRole.ToolTipRole)
            if text and tip is not None:
                # A cell's tooltip is its text, or (the campaign table) an explanation that must show as itself.
                plain = model.plain_tooltip(index) if hasattr(model, "plain_tooltip") else None
                assert rendered(tip) == (plain or text), (tip, text)
            texts.append(text or "")
    return texts


def test_html_looking_values_show_as_text_in_every_view(tmp_path, qtbot, open_window):
    folder = tmp_path / "ws"
    build_hostile_workspace(folder)
    window = open_window(folder)

    window.show_page("contacts")
    contacts = window.page("contacts")
    qtbot.waitUntil(lambda: contacts.model.rowCount() == 1
                    and bool(contacts.model.data(contacts.model.index(0, 0))), timeout=10000)
    cells = check_model(contacts.model)
    assert f"{CMD} {LAST_NAME}" in cells and TAG in cells

    with qtbot.waitSignal(contacts.journey.loaded, timeout=10000):
        contacts.open_contact(EMAIL)
    journey = contacts.journey
    assert journey.title.text() == EMAIL
    assert CONTACT_ID in rendered(journey.summary.text(), journey.summary.textFormat())
    check_labels(window)
    timeline = check_tree(journey.timeline)
    assert any(SOURCE in t and CAMPAIGN in t for t in timeline), timeline
    check_tree(journey.devices)

    window.show_page("reports")
    reports = window.page("reports")
    for by, value in (("source", SOURCE), ("campaign", CAMPAIGN), ("tag", TAG)):
        with qtbot.waitSignal(reports.reportShown, timeout=10000):
            reports.set_report("ltv", by=by)
        assert value in check_model(reports.model)
        check_labels(window)
    # The app's CSV export: formulas as text, the HTML as it is.
    out = tmp_path / "campaigns.csv"
    with qtbot.waitSignal(reports.reportShown, timeout=10000):
        reports.set_report("ltv", by="source")
    reports.export_csv(str(out))
    assert os.stat(out).st_mode & 0o777 == 0o600 or os.name != "posix"  # an export of customers is private
    rows = list(csv.reader(out.open(newline="", encoding="utf-8")))
    assert rows[1][0] == f"'{SOURCE}"
    assert "49.00" in rows[1]

    window.show_page("dashboard")
    page = window.page("dashboard")
    qtbot.waitUntil(lambda: page.dashboard is not None, timeout=10000)
    with qtbot.waitSignal(page.dashboard.loaded, timeout=10000):
        page.dashboard.set_preset(None)  # all time
    assert any(CAMPAIGN in text for text in check_model(page.dashboard.campaigns))  # "source / campaign" rows
    check_labels(window)

    if shutil.which("pdftotext"):
        pdf = tmp_path / "report.pdf"
        reports.export_pdf(str(pdf))
        text = subprocess.run(["pdftotext", "-raw", str(pdf), "-"], capture_output=True, text=True).stdout
        assert SOURCE[:20] in text


def test_chart_legend_and_title_show_names_verbatim(app, qtbot):
    """pyqtgraph's legend and title are HTML underneath: a series named by a
    campaign, and a title naming a source, read back as the same text."""
    from segdesk.ui.charts import ChartWidget

    chart = ChartWidget()
    qtbot.addWidget(chart)
    chart.set_series([{"name": CAMPAIGN, "currency": "usd", "points": [(30, 1.0), (60, 2.0)]},
                      {"name": CONTACT_ID, "currency": "usd", "points": [(30, 3.0), (60, 4.0)]}],
                     title=SOURCE)
    legend = [label.item.toPlainText() for _sample, label in chart.legends[0].items]
    # A long name is cut to the legend's width (chart_legend.LEGEND_CHARS), never interpreted.
    assert legend == [CAMPAIGN, CONTACT_ID[:17] + "…"]
    assert chart.hover_text(30.0).splitlines()[2].startswith(CONTACT_ID)  # hovering names it whole
    assert chart.plots[0].titleLabel.item.toPlainText() == SOURCE
