"""PDF export: from the Reports view and from ``segdesk export pdf``, checked by rendering the pages."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

from .test_reports_view import build_workspace  # noqa: E402

needs_poppler = pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="pdftoppm (poppler-utils) is not installed")


def render_pages(pdf, tmp_path) -> list:
    """Each page as a QImage, through poppler (an independent reader of what Qt wrote)."""
    from PySide6.QtGui import QImage

    out = tmp_path / "page"
    subprocess.run(["pdftoppm", "-png", "-r", "40", str(pdf), str(out)], check=True, capture_output=True)
    files = sorted(tmp_path.glob("page-*.png"))
    return [QImage(str(f)) for f in files]


def ink(image) -> float:
    """Share of the page that is not (nearly) white."""
    import numpy as np
    from PySide6.QtGui import QImage

    gray = image.convertToFormat(QImage.Format.Format_Grayscale8)
    w, h, stride = gray.width(), gray.height(), gray.bytesPerLine()
    data = np.frombuffer(gray.constBits(), dtype=np.uint8, count=stride * h).reshape(h, stride)[:, :w]
    return float((data < 230).mean())


def long_report(n: int = 150) -> dict:
    rows = [{"key": f"campaign_{i:03d}", "contacts": 10 + i, "customers": i % 7,
             "revenue": {"usd": 4900 * i, **({"eur": 990 * i} if i % 4 == 0 else {})}} for i in range(n)]
    series = [{"name": "usd", "currency": "usd", "points": [(d, 100 * d) for d in (30, 60, 90, 180, 365)]}]
    return {"name": "ltv", "title": "LTV by campaign", "parameters": {"by": "campaign"}, "rows": rows, "series": series}


@needs_poppler
def test_long_table_paginates_with_numbered_non_blank_pages(qapp, tmp_path):
    from segdesk.core.reports.bundle import section_of
    from segdesk.ui.pdf_export import write_pdf

    pdf = tmp_path / "long.pdf"
    pages = write_pdf(pdf, [section_of(long_report())], title="Long", date_range="All time")
    images = render_pages(pdf, tmp_path)
    assert pages >= 3 and len(images) == pages
    assert all(ink(img) > 0.01 for img in images)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True).stdout \
        if shutil.which("pdftotext") else ""
    if text:
        assert f"Page {pages} of {pages}" in text
        assert text.count("Customers") >= pages  # the header row repeats on every page of the table
        assert "campaign_149" in text


@needs_poppler
def test_reports_view_exports_pdf(qtbot, tmp_path):
    from segdesk.ui.context import AppContext
    from segdesk.ui.reports_view import ReportsView

    build_workspace(tmp_path / "ws")
    ctx = AppContext(tmp_path / "ws")
    try:
        view = ReportsView(ctx)
        qtbot.addWidget(view)
        with qtbot.waitSignal(view.reportShown, timeout=10000):
            view.set_report("attribution", by="source", model="linear", lookback_days=365)
        pdf = tmp_path / "attribution.pdf"
        pages = view.export_pdf(str(pdf))
        images = render_pages(pdf, tmp_path)
        assert pages == len(images) == 1
        assert ink(images[0]) > 0.02
    finally:
        ctx.close()


@needs_poppler
def test_cli_export_pdf_without_display(tmp_path):
    folder = tmp_path / "ws"
    build_workspace(folder)
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    bundle, single = tmp_path / "bundle.pdf", tmp_path / "ltv.pdf"
    cmd = [sys.executable, "-m", "segdesk.cli", "--workspace", str(folder), "export", "pdf"]
    r = subprocess.run(cmd + [str(bundle)], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    r2 = subprocess.run(cmd + [str(single), "--report", "ltv", "--report", "attribution", "--by", "campaign",
                               "--json"], env=env, capture_output=True, text=True, timeout=60)
    assert r2.returncode == 0, r2.stderr
    assert '"pages"' in r2.stdout
    for pdf in (bundle, single):
        (tmp_path / pdf.stem).mkdir()
        images = render_pages(pdf, tmp_path / pdf.stem)
        assert images and all(ink(img) > 0.01 for img in images)

    bad = subprocess.run(cmd + [str(tmp_path / "x.pdf"), "--report", "nope"], env=env, capture_output=True, text=True)
    assert bad.returncode == 2


@needs_poppler
def test_dashboard_bundle_exports_pdf_from_the_view(qtbot, tmp_path):
    from segdesk.ui.context import AppContext
    from segdesk.ui.dashboard_view import DashboardView

    build_workspace(tmp_path / "ws")
    ctx = AppContext(tmp_path / "ws")
    try:
        view = DashboardView(ctx)
        qtbot.addWidget(view)
        with qtbot.waitSignal(view.loaded, timeout=10000):
            view.set_preset(None)
        action = view.export_pdf_action()
        assert action.text().startswith("Export Dashboard")
        pdf = tmp_path / "dashboard.pdf"
        pages = view.export_pdf(str(pdf))
        images = render_pages(pdf, tmp_path)
        assert pages == len(images) >= 1 and ink(images[0]) > 0.02
    finally:
        ctx.close()


def test_a_pdf_that_cannot_be_written_is_one_file_error_naming_it(qapp, tmp_path):
    """Where the owner-only file cannot be made (a folder of that name), the app's
    export guard shows one line instead of a traceback."""
    import re

    from segdesk.errors import FileError
    from segdesk.ui.pdf_export import write_pdf

    taken = tmp_path / "report.pdf"
    taken.mkdir()
    with pytest.raises(FileError, match=f"^{re.escape(f'cannot write {taken}: Is a directory')}$"):
        write_pdf(taken, [])
    absent = tmp_path / "absent" / "report.pdf"
    with pytest.raises(FileError, match=f"^{re.escape(f'cannot write {absent}: no folder {absent.parent}')}$"):
        write_pdf(absent, [])
