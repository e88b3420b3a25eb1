"""The repo stands alone: a copy in any folder passes its tests, and no file names this machine.

A clone lands wherever its user puts it, so nothing tracked may point at a path of
the machine it was written on (the Stripe fixtures once came from such a path,
and a clone elsewhere failed its sync tests).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# A path of one machine: a home, root's home or the folder the project was written in.
MACHINE_PATH = re.compile(r"(^|[^A-Za-z0-9_.])/(wo" r"rk|root|home/[A-Za-z0-9_]+)/")


def _tracked_files() -> list[Path]:
    """The checkout's files as a clone would have them: tracked and new, never ignored ones."""
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                         cwd=ROOT, capture_output=True, check=True).stdout
    return [ROOT / name for name in out.decode().split("\0") if name and (ROOT / name).is_file()]


def test_no_file_names_a_path_of_this_machine():
    hits = []
    for path in _tracked_files():
        data = path.read_bytes()
        if b"\0" in data:  # binary
            continue
        for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
            if MACHINE_PATH.search(line):
                hits.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert hits == []


@pytest.mark.slow
def test_a_copy_in_another_folder_passes_its_tests(tmp_path):
    clone = tmp_path / "elsewhere" / "segdesk-clone"
    for path in _tracked_files():
        target = clone / path.relative_to(ROOT)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    env = {k: v for k, v in os.environ.items() if k not in ("SEGDESK_WORKSPACE", "PYTHONPATH")}
    env["PYTHONPATH"] = str(clone)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")

    where = subprocess.run([sys.executable, "-c", "import segdesk; print(segdesk.__file__)"],
                           cwd=clone, env=env, capture_output=True, text=True, check=True).stdout
    assert Path(where.strip()).is_relative_to(clone), where

    # The sync tests that read the Stripe fixtures, and the layer contracts.
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/sync/test_stripe.py", "tests/test_layers.py", "tests/core/test_channel_rules.py"],
        cwd=clone, env=env, capture_output=True, text=True, timeout=600)
    report = proc.stdout + proc.stderr
    assert proc.returncode == 0, report[-4000:]
    assert re.search(r"\b\d+ passed\b", report) and " failed" not in report and " skipped" not in report, report[-2000:]


def test_the_app_loads_the_top_level_resources_folder_from_a_checkout():
    """Run from the checkout, the app's resources are ``resources/`` itself, not another install's copy."""
    from segdesk.ui import style

    assert style.RESOURCES == ROOT / "resources"
    for name in ("style.qss", "com.segdesk.SegDesk.desktop", "com.segdesk.SegDesk.metainfo.xml", "icons/app.svg"):
        assert (style.RESOURCES / name).is_file(), name
    assert style.ICONS.as_posix() in style.stylesheet(style.LIGHT)


def test_references_to_the_specification_name_its_sections():
    """Comments and docs cite docs/SPEC.md by section; the file and every cited section exist."""
    spec = (ROOT / "docs" / "SPEC.md").read_text(encoding="utf-8")
    sections = set(re.findall(r"^## (\d+)\. ", spec, flags=re.M))
    cited = set()
    for path in _tracked_files():
        if path.suffix not in (".py", ".md", ".sh", ".toml"):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        assert "CONTRACTS" ".md" not in text, f"{path.relative_to(ROOT)} cites a file that is not in the repo"
        for numbers in re.findall(r"SPEC\.md`? ((?:§\d+(?:, )?)+)", text):
            cited.update(re.findall(r"§(\d+)", numbers))
    assert cited and cited <= sections, (cited, sections)
