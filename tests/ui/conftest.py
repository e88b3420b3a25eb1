"""UI test fixtures: offscreen Qt, one session QApplication (pytest-qt's qapp), isolated QSettings and keychain.

The root conftest already points SEGDESK_WORKSPACE at a temporary folder per
test; here each test also gets its own QSettings folder and an in-memory
keychain, so no test reads or writes the user's real settings or secrets.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before anything loads Qt

from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from ..memory_keyring import memory_keyring  # noqa: E402,F401  (autouse: a keychain per test)

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"


@pytest.fixture(scope="session")
def qapp_args():
    return ["segdesk-tests"]


@pytest.fixture(scope="session")
def app(qapp):
    """The session QApplication, named and themed like the real app."""
    from segdesk.ui.app import create_app

    return create_app()


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path):
    from PySide6.QtCore import QSettings

    folder = tmp_path / "qsettings"
    folder.mkdir()
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(folder))
    yield folder


@pytest.fixture
def open_window(app, qtbot):
    """``open_window(folder)`` -> a shown MainWindow on that workspace; closed (and its threads ended) after."""
    from segdesk.ui.context import AppContext
    from segdesk.ui.main_window import MainWindow

    opened = []

    def make(folder, size=(1280, 800)):
        ctx = AppContext(folder)
        window = MainWindow(ctx)
        qtbot.addWidget(window)
        window.resize(*size)
        window.show()
        qtbot.waitExposed(window)
        opened.append((window, ctx))
        return window

    yield make
    for window, ctx in opened:
        window.close()
        ctx.close()


@pytest.fixture
def screenshot():
    """``screenshot(widget, name)`` keeps a PNG in artifacts/screenshots/ (gitignored)."""

    def grab(widget, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        assert widget.grab().save(str(path)), f"could not save {path}"
        return path

    return grab
