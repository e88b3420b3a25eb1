"""Install and ship: the wheel and the PyInstaller bundle, built and used as a user would.

The two slow tests each run one script under scripts/ with this interpreter. They
take about 75 s (wheel, warm wheelhouse) and 45 s (bundle) here, so CI runs them;
SEGDESK_PACKAGING_TESTS=0 skips them for a quick local run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from segdesk import cli

ROOT = Path(__file__).resolve().parents[1]

packaging = pytest.mark.skipif(os.environ.get("SEGDESK_PACKAGING_TESTS") == "0",
                               reason="SEGDESK_PACKAGING_TESTS=0: packaging checks skipped")


def _run(script: str, **extra_env: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("SEGDESK_WORKSPACE", "PYTHONPATH")}
    env["PY"] = sys.executable
    env.update(extra_env)
    proc = subprocess.run(["bash", str(ROOT / "scripts" / script)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=900)
    report = f"{proc.stdout}\n{proc.stderr}"
    print(report)  # the timings and sizes, shown with -s or on failure
    assert proc.returncode == 0, report[-4000:]
    return proc.stdout


@pytest.mark.slow
@packaging
def test_the_wheel_installs_with_pip_and_pipx_and_the_relay_without_qt():
    out = _run("check_wheel.sh")
    assert "check_wheel: OK" in out


@pytest.mark.slow
@packaging
def test_the_bundle_runs_its_cli_and_the_app(tmp_path):
    dist = tmp_path / "dist"  # not the checkout's dist/: two test runs must not share it
    try:
        out = _run("check_bundle.sh", DIST=str(dist))
    finally:
        shutil.rmtree(dist, ignore_errors=True)  # 250 MB; pytest keeps tmp_path around
    assert "check_bundle: OK" in out


# What a desktop launch runs: `segdesk` alone opens the app where there is a display.

@pytest.fixture
def opened(monkeypatch):
    calls = []
    monkeypatch.setattr("segdesk.commands.app.run", lambda args, ws: calls.append(args) or 0)
    monkeypatch.setattr(cli.sys, "platform", "linux")
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    return calls


def test_plain_segdesk_without_a_display_prints_help(opened, capsys):
    assert cli.main([]) == 0
    assert capsys.readouterr().out.startswith("usage: segdesk")
    assert opened == []


@pytest.mark.parametrize("name", ["DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"])
def test_plain_segdesk_with_a_display_opens_the_app(opened, monkeypatch, name):
    monkeypatch.setenv(name, ":0")
    assert cli.main(["--workspace", "/tmp/somewhere"]) == 0
    assert len(opened) == 1 and opened[0].workspace == "/tmp/somewhere"


def test_plain_segdesk_on_macos_and_windows_opens_the_app(opened, monkeypatch):
    monkeypatch.setattr(cli.sys, "platform", "darwin")
    assert cli.main([]) == 0
    assert len(opened) == 1
