"""Issue 16 item 7: a PDF fit for a client, checked by reading it back with poppler.

Word boxes come from ``pdftotext -bbox`` (an independent reader of what Qt wrote):
every word lies inside the printable area, no two words are printed over each
other, no table leaves fewer than two rows on a page, a table that fits on one
page is never split, and the cover shows the client, the logo and the range in full.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

from .test_pdf_export import render_pages  # noqa: E402
from .test_reports_view import build_workspace  # noqa: E402

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils is not installed")
MARGIN_PT = 15 / 25.4 * 72  # pdf_export.MARGIN_MM in points
WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>')
PAGE = re.compile(r'<page width="([\d.]+)" height="([\d.]+)">(.*?)</page>', re.S)


def words(pdf) -> list[tuple[float, float, list]]:
    """Per page: (width, height, [(x0, y0, x1, y1, text)])."""
    html = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return [(float(w), float(h), [(float(a), float(b), float(c), float(d), t) for a, b, c, d, t in WORD.findall(body)])
            for w, h, body in PAGE.findall(html)]


def assert_nothing_clipped_or_overprinted(pdf) -> None:
    for n, (width, height, ws) in enumerate(words(pdf), 1):
        slack = 1.0  # a glyph's box may overhang its advance by a fraction of a point
        for x0, y0, x1, y1, text in ws:
            assert "…" not in text, f"page {n}: {text!r} was cut short"
            assert MARGIN_PT - slack <= x0 and x1 <= width - MARGIN_PT + slack, f"page {n}: {text!r} cut at the side"
            assert MARGIN_PT - slack <= y0 and y1 <= height - MARGIN_PT + slack, f"page {n}: {text!r} cut at top/bottom"
        for i, a in enumerate(ws):
            for b in ws[i + 1:]:
                overlap_x = min(a[2], b[2]) - max(a[0], b[0])
                overlap_y = min(a[3], b[3]) - max(a[1], b[1])
                assert not (overlap_x > 1.0 and overlap_y > 1.0), f"page {n}: {a[4]!r} printed over {b[4]!r}"


def rows_per_page(pdf, prefix: str) -> list[int]:
    return [sum(1 for w in ws if w[4].startswith(prefix)) for _w, _h, ws in words(pdf)]


def table(prefix: str, n: int, title: str = "Campaigns") -> dict:
    rows = [{"key": f"{prefix}{i:03d}", "contacts": 10 + i, "customers": i % 7,
             "revenue": {"usd": 490012 * i, **({"eur": 99050 * i} if i % 3 == 0 else {})}} for i in range(n)]
    return {"name": "ltv", "title": title, "parameters": {"by": "campaign"}, "rows": rows}


def write(tmp_path, name, sections, **kw):
    from segdesk.ui.pdf_export import write_pdf

    pdf = tmp_path / f"{name}.pdf"
    pages = write_pdf(pdf, sections, title="Campaign report", date_range="2026-03-01 – 2026-03-31", **kw)
    return pdf, pages


def test_a_long_table_never_leaves_a_single_row_on_a_page(qapp, tmp_path):
    from segdesk.core.reports.bundle import section_of

    pdf, _ = write(tmp_path, "probe", [section_of(table("row", 200))])
    counts = rows_per_page(pdf, "row")
    first, later = counts[0], counts[1]
    # As many rows as would leave exactly one on the last page, had rows simply flowed on.
    n = first + later * 2 + 1
    pdf, pages = write(tmp_path, "widow", [section_of(table("row", n))])
    counts = rows_per_page(pdf, "row")
    assert sum(counts) == n and pages == len(counts) == 4
    assert min(c for c in counts if c) >= 2, counts
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True).stdout
    assert text.count("Customers") == 4  # the header repeats on each page of the table
    assert_nothing_clipped_or_overprinted(pdf)


def test_tables_that_fit_a_page_are_kept_whole(qapp, tmp_path):
    from segdesk.core.reports.bundle import section_of

    sections = [section_of(table(f"t{s}r", 14, title=f"Table {s}")) for s in range(8)]
    pdf, pages = write(tmp_path, "whole", sections)
    assert pages >= 3
    for s in range(8):
        counts = [c for c in rows_per_page(pdf, f"t{s}r") if c]
        assert counts == [14], (s, counts)  # all 14 rows on one page
    assert_nothing_clipped_or_overprinted(pdf)


def _logo(path, colour="#d62728"):
    from PySide6.QtGui import QColor, QImage

    image = QImage(240, 120, QImage.Format.Format_RGB32)
    image.fill(QColor(colour))
    assert image.save(str(path))
    return path


def test_cover_names_the_client_with_logo_range_in_full_and_page_numbers(qtbot, tmp_path):
    from segdesk.core.reports.bundle import report_bundle
    from segdesk.core.store import open_workspace
    from segdesk.ui.pdf_export import write_bundle

    build_workspace(tmp_path / "ws")
    logo = _logo(tmp_path / "logo.png")
    with open_workspace(tmp_path / "ws") as ws:
        ws.set_setting("report.client_name", "Acme Gardening Ltd")
        ws.set_setting("report.logo_path", str(logo))
        bundle = report_bundle(ws.conn, ["summary", "ltv", "attribution", "roas"], since="2026-01-01",
                               until="2026-03-31")
    pdf = tmp_path / "client.pdf"
    pages = write_bundle(pdf, bundle)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True).stdout
    first = text.split("\f")[0]
    assert "Acme Gardening Ltd" in first and "1 January 2026 – 31 March 2026" in first
    assert all(f"Page {i} of {pages}" in text for i in range(1, pages + 1))
    assert_nothing_clipped_or_overprinted(pdf)
    # The logo is painted at the top right of page 1 (poppler's rendering, 40 dpi).
    (tmp_path / "png").mkdir()
    image = render_pages(pdf, tmp_path / "png")[0]
    from PySide6.QtGui import QColor

    x, y = image.width() - int(15 / 25.4 * 40) - 5, int(15 / 25.4 * 40) + 5
    assert QColor(image.pixel(x, y)).red() > 180 and QColor(image.pixel(x, y)).green() < 90


def test_cli_export_of_a_view_prints_the_path_and_opens_it(tmp_path):
    folder = tmp_path / "ws"
    build_workspace(folder)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    opened = tmp_path / "opened.txt"
    opener = bin_dir / "xdg-open"  # the desktop's opener, standing in so the test sees what it was given
    opener.write_text(f"#!/bin/sh\necho \"$1\" > {opened}\n")
    opener.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    env["PATH"] = f"{bin_dir}:{env.get('PATH', '')}"
    cli = [sys.executable, "-m", "segdesk.cli", "--workspace", str(folder)]
    saved = subprocess.run(cli + ["views", "save", "Paid", "--report", "attribution", "--model", "all",
                                  "--source", "facebook"], env=env, capture_output=True, text=True, timeout=60)
    assert saved.returncode == 0, saved.stderr
    out = tmp_path / "out" / "paid.pdf"
    out.parent.mkdir()
    r = subprocess.run(cli + ["export", "pdf", str(out), "--view", "paid", "--open", "--client", "Acme"],
                       env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip().startswith(f"wrote {out} (")
    for _ in range(50):  # the opener runs detached
        if opened.exists():
            break
        import time

        time.sleep(0.1)
    assert opened.read_text().strip() == str(out)
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True, text=True).stdout
    assert "Acme" in text and "side by side" in text and "source: facebook" in text
    assert_nothing_clipped_or_overprinted(out)
    bad = subprocess.run(cli + ["export", "pdf", str(tmp_path / "x.pdf"), "--logo", str(tmp_path / "none.png")],
                         env=env, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and "cannot read the logo" in bad.stderr and len(bad.stderr.splitlines()) == 1
