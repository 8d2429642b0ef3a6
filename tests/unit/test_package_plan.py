"""The domain package's plan: imports only go down its floors (pyproject.toml,
[tool.importlinter]), no folder grows past about ten modules, and what only tests and benches
use (the in-memory stores) stays out of the shipped layer."""

from __future__ import annotations

import ast
from pathlib import Path

from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "layers" / "cloner" / "ecwid_cloner"


def test_imports_only_go_down_the_floors(monkeypatch):
    monkeypatch.chdir(ROOT)
    assert lint_imports(config_filename="pyproject.toml", no_cache=True) == 0


def test_no_folder_holds_more_than_ten_modules():
    for folder in [PACKAGE, *(p for p in PACKAGE.iterdir() if (p / "__init__.py").exists())]:
        modules = [p for p in folder.glob("*.py") if p.name != "__init__.py"]
        assert len(modules) <= 10, (folder.name, sorted(p.name for p in modules))


def test_in_memory_fakes_live_outside_the_layer():
    for module in PACKAGE.rglob("*.py"):
        classes = {node.name for node in ast.walk(ast.parse(module.read_text())) if isinstance(node, ast.ClassDef)}
        assert not {name for name in classes if name.startswith(("Memory", "Fake"))}, module
