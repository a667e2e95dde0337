"""The engine, spec and journal layers never import Textual; the UI never starts a process.

A headless run of a cached plan imports none of the heavy libraries it does not need.
"""

from __future__ import annotations

import ast
import importlib.util
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


def _module_name(path: Path) -> str:
    """The dotted name of the package module at ``path``."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_module(name: str) -> bool:
    """Whether ``name`` is a module (or package), not a name defined in one.

    The package's own modules are looked up on disk; another's, with the import system
    (which imports the parent, as the file in question does).
    """
    head, *rest = name.split(".")
    if head == PACKAGE.name:
        path = PACKAGE.joinpath(*rest)
        return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _imports(path: Path) -> set[str]:
    """The modules the package file at ``path`` imports."""
    package = _module_name(path) if path.name == "__init__.py" else _module_name(path.parent)
    return _imports_in(path.read_text(encoding="utf-8"), package)


def _imports_in(source: str, package: str) -> set[str]:
    """The modules ``source``, a module of ``package``, imports.

    ``from pkg import name`` imports ``pkg`` and, when ``name`` is a submodule, ``pkg.name``
    too; relative imports are resolved against ``package``.
    """
    tree = ast.parse(source)
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = importlib.util.resolve_name("." * node.level + (node.module or ""), package)
            else:
                base = node.module or ""
            names.add(base)
            names.update(
                f"{base}.{alias.name}" for alias in node.names if _is_module(f"{base}.{alias.name}")
            )
    return names


def test_imports_count_submodules_taken_from_their_package() -> None:
    """``from fanout_tui import cli`` imports ``fanout_tui.cli``; a relative one resolves."""
    source = (
        "from fanout_tui import cli, __version__\n"
        "from .. import bundled\n"
        "from ._plan import Plan\n"
        "from asyncio import subprocess\n"
    )
    assert _imports_in(source, "fanout_tui.spec") == {
        "fanout_tui",
        "fanout_tui.cli",
        "fanout_tui.bundled",
        "fanout_tui.spec._plan",
        "asyncio",
        "asyncio.subprocess",
    }


def test_spec_imports_nothing_else_of_the_package() -> None:
    for path in (PACKAGE / "spec").rglob("*.py"):
        others = {
            name
            for name in _imports(path)
            if name.split(".")[0] == "fanout_tui" and not f"{name}.".startswith("fanout_tui.spec.")
        }
        assert not others, f"{path.name} imports {others}"


def test_ui_never_starts_a_process() -> None:
    forbidden = {"subprocess", "multiprocessing", "pty", "asyncio.subprocess"}
    for path in (PACKAGE / "ui").rglob("*.py"):
        source = path.read_text(encoding="utf-8")
        imports = _imports(path)
        process = {name for name in imports if {name, name.split(".")[0]} & forbidden}
        assert not process, f"{path.name} imports {process}"
        private = {name for name in imports if name.startswith("fanout_tui.engine._")}
        assert not private, f"{path.name} imports {private}, not the engine's face"
        for call in ("os.fork", "os.exec", "os.spawn", "os.system", "os.popen", "open_process"):
            assert call not in source, f"{path.name} uses {call}"
