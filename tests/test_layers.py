"""The import-linter contracts of pyproject.toml (Qt stays in the ui layer, arrows point down), no SQL in ui,
no import circles."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_hold():
    lint = Path(sys.executable).with_name("lint-imports")
    cmd = [str(lint)] if lint.exists() else ["lint-imports"]
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "broken" not in result.stdout.lower().replace("0 broken", "")


SQL = re.compile(r"\b(SELECT|INSERT INTO|DELETE FROM|UPDATE)\b")


def test_ui_holds_no_sql():
    """Queries live in core's read models and sync's state functions; ui only shows what they return."""
    found = [f"{path.relative_to(ROOT)}:{n}: {line.strip()}"
             for path in sorted((ROOT / "segdesk" / "ui").rglob("*.py"))
             for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if SQL.search(line)]
    assert found == []


def test_no_import_circles():
    """No module of segdesk imports, directly or through others, a module that imports it back."""
    import grimp

    graph = grimp.build_graph("segdesk")
    modules = {m for m in graph.modules if m.startswith("segdesk")}
    edges = {m: graph.find_modules_directly_imported_by(m) & modules for m in modules}
    circles = []
    for m in sorted(modules):
        for target in sorted(edges[m]):
            if graph.chain_exists(importer=target, imported=m):
                circles.append(f"{m} -> {target} -> ... -> {m}")
    assert circles == []


def test_commands_are_a_layer_that_uses_ui_only_to_open_the_app_and_paint_a_pdf():
    contracts = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
    layers = [c for c in contracts if c["type"] == "layers" and any("segdesk.commands" in layer for layer in c["layers"])]
    assert len(layers) == 1
    order = layers[0]["layers"]
    assert order.index("segdesk.cli") < order.index("segdesk.commands | segdesk.ui") < order.index("segdesk.sync") \
        < order.index("segdesk.core")
    assert set(layers[0]["ignore_imports"]) == {"segdesk.commands.app -> segdesk.ui.app",
                                                 "segdesk.commands.demo -> segdesk.ui.app",
                                                 "segdesk.commands.export -> segdesk.ui.pdf_export"}
