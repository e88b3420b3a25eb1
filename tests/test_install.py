"""Install and ship: the wheel and the PyInstaller bundle, built and used as a user would.

Each test runs one script under scripts/ with this interpreter. They take about
75 s (wheel, warm wheelhouse) and 45 s (bundle) here, so CI runs them;
SEGDESK_PACKAGING_TESTS=0 skips them for a quick local run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.environ.get("SEGDESK_PACKAGING_TESTS") == "0",
                       reason="SEGDESK_PACKAGING_TESTS=0: packaging checks skipped"),
]


def _run(script: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("SEGDESK_WORKSPACE", "PYTHONPATH")}
    env["PY"] = sys.executable
    proc = subprocess.run(["bash", str(ROOT / "scripts" / script)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=900)
    report = f"{proc.stdout}\n{proc.stderr}"
    print(report)  # the timings and sizes, shown with -s or on failure
    assert proc.returncode == 0, report[-4000:]
    return proc.stdout


def test_the_wheel_installs_with_pip_and_pipx_and_the_relay_without_qt():
    out = _run("check_wheel.sh")
    assert "check_wheel: OK" in out


def test_the_bundle_runs_its_cli_and_the_app():
    out = _run("check_bundle.sh")
    assert "check_bundle: OK" in out
