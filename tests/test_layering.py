"""The engine, spec and journal layers never import Textual; the UI never starts a process.

A headless run of a cached plan imports none of the heavy libraries it does not need.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "fanout_tui"


@pytest.mark.parametrize(
    "module",
    ["fanout_tui.spec", "fanout_tui.engine", "fanout_tui.journal", "fanout_tui.headless"],
)
def test_core_layers_do_not_import_textual(module: str) -> None:
    code = (
        f"import sys, {module}\n"
        "leaked = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "print(','.join(leaked))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "", f"{module} imports {result.stdout.strip()}"


def test_running_a_cached_plan_imports_no_validation_or_rendering_library() -> None:
    """The modules of a headless run leave pydantic, YAML, JSON Schema and Textual unloaded.

    Validating a spec (pydantic, PyYAML), checking output schemas (jsonschema) and drawing
    (Textual, Rich) cost more to import than the rest of a run takes to start; a run whose
    plan comes from the cache and whose branches have no schema needs none of them.
    """
    modules = [
        "fanout_tui.cli",
        "fanout_tui.launch",
        "fanout_tui.engine",
        "fanout_tui.journal",
        "fanout_tui.headless",
        "fanout_tui.spec._plan",
        "fanout_tui.spec._plan_cache",
    ]
    heavy = {"pydantic", "pydantic_core", "yaml", "jsonschema", "textual", "rich"}
    code = (
        f"import sys, {', '.join(modules)}\n"
        f"print(','.join(sorted({{m.split('.')[0] for m in sys.modules}} & {heavy!r})))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "", f"a run imports {result.stdout.strip()}"


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_spec_imports_nothing_else_of_the_package() -> None:
    for path in (PACKAGE / "spec").rglob("*.py"):
        others = {
            name
            for name in _imports(path)
            if name.startswith("fanout_tui.") and not name.startswith("fanout_tui.spec")
        }
        assert not others, f"{path.name} imports {others}"


def test_ui_never_starts_a_process() -> None:
    forbidden = {"subprocess", "multiprocessing", "pty", "asyncio.subprocess"}
    for path in (PACKAGE / "ui").rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        assert not (_imports(path) & forbidden), f"{path.name} imports a process module"
        for call in ("os.fork", "os.exec", "os.spawn", "os.system", "os.popen", "open_process"):
            assert call not in source, f"{path.name} uses {call}"
