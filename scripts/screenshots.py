"""Screenshots of the app on the demo workspace, drawn offscreen: the README's images, or every page for review.

    python scripts/screenshots.py                    # the README's images, into docs/images/
    python scripts/screenshots.py --review DIR       # every page at 1024x700, 1280x800 and 1600x1000, into DIR

It builds a demo workspace in a temporary folder (a fixed seed, so the images
change when the app does, not the data), sets its reporting currency, and opens
the main window offscreen with a throw-away settings folder and no keychain:
nothing of the user's is read or written. The README's images are stored as
8-bit palette PNGs of their own 256 most used colours: a third of the size.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"  # never the user's keychain

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SIZES = ((1024, 700), (1280, 800), (1600, 1000))
# The README's images: (file, page, size). The campaign table at the smallest size the app supports.
README_SHOTS = (("dashboard.png", "dashboard", (1280, 800)), ("campaigns.png", "reports-campaigns", (1024, 700)),
                ("journey.png", "journey", (1280, 800)))
SILENT_SOURCE = "Stripe did not answer within 5 seconds (tried twice)"  # sync/http.py's words for a silent vendor


def wait_until(app, ready, what: str, timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > end:
            raise SystemExit(f"screenshots: timed out waiting for {what}")
        app.processEvents()
        time.sleep(0.01)


def settle(app, seconds: float = 0.3) -> None:
    """Let layouts, queued paints and the charts' deferred redraws finish before a grab."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def save(widget, path: Path, small: bool) -> Path:
    image = widget.grab().toImage()
    if small:
        image = palette_image(image)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not image.save(str(path), "PNG", 0):  # 0: the smallest file zlib makes
        raise SystemExit(f"screenshots: could not write {path}")
    return path


def palette_image(image):
    """The image with its 256 most used colours (a screen is mostly flat colour; antialiased edges take
    the nearest): a third of the file, and no colour shifts as a fixed palette would make."""
    import numpy as np
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QImage

    rgb = image.convertToFormat(QImage.Format.Format_RGB32)
    pixels = np.frombuffer(rgb.constBits(), dtype=np.uint32, count=rgb.bytesPerLine() // 4 * rgb.height())
    colours, counts = np.unique(pixels, return_counts=True)
    table = [int(c) for c in colours[np.argsort(-counts)[:256]]]
    return rgb.convertToFormat(QImage.Format.Format_Indexed8, table, Qt.ImageConversionFlag.ThresholdDither)


class Shooter:
    """One window on the workspace; ``shots()`` brings each page up in turn and yields its name and widget."""

    def __init__(self, app, folder: Path) -> None:
        self.app, self.folder = app, folder

    def shots(self, size: tuple[int, int]):
        from segdesk.ui.context import AppContext
        from segdesk.ui.main_window import MainWindow
        from segdesk.ui.reports_view import REPORTS

        ctx = AppContext(self.folder)
        window = MainWindow(ctx)
        window.resize(*size)
        window.show()
        app = self.app
        try:
            dashboard = window.page("dashboard")
            wait_until(app, lambda: dashboard.dashboard is not None, "the dashboard")
            wait_until(app, lambda: dashboard.dashboard.data is not None, "the dashboard's figures")
            settle(app, 0.6)
            yield "dashboard", window

            window.show_page("reports")
            reports = window.page("reports")
            for name, _label in REPORTS:
                shown = []
                reports.reportShown.connect(shown.append)
                reports.set_report(name)
                wait_until(app, lambda: shown and reports.report_name() == name, f"the {name} report")
                reports.reportShown.disconnect(shown.append)
                settle(app)
                yield f"reports-{name}", window

            window.show_page("contacts")
            contacts = window.page("contacts")
            wait_until(app, lambda: contacts.model.rowCount() > 0 and contacts.model.email_at(0) is not None,
                       "the contacts")
            settle(app)
            yield "contacts", window
            loaded = []
            contacts.journey.loaded.connect(loaded.append)
            contacts.open_contact(self.customer_email(ctx))
            wait_until(app, lambda: loaded, "the journey")
            contacts.journey.timeline.expandAll()
            settle(app)
            yield "journey", window
            contacts.show_list()

            window.show_page("sources")
            wait_until(app, lambda: bool(window.page("sources").rows), "the sources")
            settle(app)
            yield "sources", window
            window.show_page("relay")
            settle(app, 0.6)
            yield "relay", window

            window.show_page("dashboard")
            window.sync_banner.add_failure("stripe", SILENT_SOURCE)
            settle(app)
            yield "sync-banner", window
            window.sync_banner.dismiss()

            window.open_settings()
            dialog = window._settings_dialog
            settle(app)
            yield "settings", dialog
            dialog.close()
        finally:
            window.close()
            ctx.close()

    @staticmethod
    def customer_email(ctx) -> str:
        """A paying contact seen on more than one device: the journey with the most to tell."""
        conn = ctx.reader()
        try:
            row = conn.execute(
                "SELECT c.email FROM contacts c JOIN report_orders o ON o.contact_id = c.id "
                "JOIN device_segments d ON d.contact_id = c.id WHERE c.canonical_id = c.id "
                "GROUP BY c.id HAVING count(DISTINCT d.anonymous_id) > 1 ORDER BY count(DISTINCT o.id) DESC, c.email "
                "LIMIT 1").fetchone()
        finally:
            conn.close()
        if row is None:
            raise SystemExit("screenshots: the demo has no paying contact with two devices")
        return row[0]


def build_demo(folder: Path, contacts: int, currency: str) -> None:
    from segdesk.commands.demo import build
    from segdesk.core.fx import set_reporting_currency

    ws = build(folder, contacts=contacts, seed=7)
    try:
        with ws.conn:
            set_reporting_currency(ws.conn, currency)
    finally:
        ws.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--review", type=Path, help="every page at every size into this folder (PNG, full colour)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images", help="where the README's images go")
    parser.add_argument("--contacts", type=int, default=2000)
    parser.add_argument("--currency", default="usd", help="the demo's reporting currency")
    args = parser.parse_args(argv)

    from PySide6.QtCore import QSettings

    from segdesk.ui.app import create_app

    with tempfile.TemporaryDirectory(prefix="segdesk-shots-") as tmp:
        for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
            QSettings.setPath(fmt, QSettings.Scope.UserScope, str(Path(tmp) / "settings"))
        folder = Path(tmp) / "demo"
        build_demo(folder, args.contacts, args.currency)
        app = create_app()
        shooter = Shooter(app, folder)
        if args.review:
            for w, h in SIZES:
                for name, widget in shooter.shots((w, h)):
                    print(save(widget, args.review / f"{w}x{h}" / f"{name}.png", small=False))
            return 0
        for size in sorted({s for _f, _p, s in README_SHOTS}):
            wanted = {page: file for file, page, s in README_SHOTS if s == size}
            for name, widget in shooter.shots(size):
                if name in wanted:
                    print(save(widget, args.out / wanted[name], small=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
