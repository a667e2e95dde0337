"""The spec's fields that take ``${{ … }}``, compiled into renderers of one combination.

Each field is compiled once (:mod:`fanout_tui.spec._interpolate` does the parsing), and a
problem is reported at the field, pointing into the string where its position is known.
``${{`` in any other field is an error.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fanout_tui.spec._checks import Reporter
from fanout_tui.spec._errors import SpecIssue
from fanout_tui.spec._interpolate import (
    MARKER,
    NO_MATRIX,
    NOT_EXPANDED_HERE,
    Combination,
    InterpolationError,
    Template,
    compile_template,
)
from fanout_tui.spec._models import is_extension
from fanout_tui.spec._source import FieldPath, SpecSource

Renderer = Callable[[Combination], Any]
"""A compiled field: its value for one matrix combination."""


class FieldTemplates:
    """Compiles fields of one spec, adding each problem to ``issues``.

    Every method returns ``None`` for a field that is not given, or whose problem it
    reported.
    """

    def __init__(
        self, source: SpecSource, environ: Mapping[str, str], issues: list[SpecIssue]
    ) -> None:
        self.source = source
        self.environ = environ
        self.issues = issues

    def text(self, text: str | None, path: FieldPath, matrix_names: list[str]) -> Template | None:
        """A text field that may use the matrix values ``matrix_names``."""
        if text is None:
            return None
        try:
            return compile_template(text, matrix_names, self.environ)
        except InterpolationError as error:
            self.issues.append(
                self.source.issue(path, error.message, hint=error.hint, offset=error.offset)
            )
            return None

    def static_text(self, text: str | None, path: FieldPath) -> str | None:
        """A text field outside any matrix (only ``${{ env.NAME }}``), rendered."""
        template = self.text(text, path, [])
        return template.render(NO_MATRIX) if template else None

    def env(self, env: Mapping[str, str] | None, path: FieldPath) -> dict[str, str] | None:
        """An ``env`` mapping outside any matrix, rendered (the variables that compiled)."""
        if env is None:
            return None
        rendered = {key: self.static_text(value, (*path, key)) for key, value in env.items()}
        return {key: value for key, value in rendered.items() if value is not None}

    def command(
        self, run: str | list[str] | None, path: FieldPath, names: list[str]
    ) -> Renderer | None:
        """A ``run`` field: a shell command's text, or a program and its arguments."""
        if run is None:
            return None
        if isinstance(run, str):
            template = self.text(run, path, names)
            return template.render if template else None
        parts = [self.text(item, (*path, i), names) for i, item in enumerate(run)]
        if any(part is None for part in parts):
            return None
        templates = [part for part in parts if part is not None]
        return lambda values: tuple(part.render(values) for part in templates)

    def structure(self, value: Any, path: FieldPath, names: list[str]) -> Renderer:
        """A renderer for a nested value whose strings may hold interpolations."""
        if isinstance(value, str):
            template = self.text(value, path, names)
            if template is None or template.is_literal:
                literal = template.render(NO_MATRIX) if template else value
                return lambda _values: literal
            return template.render_value
        if isinstance(value, dict):
            items = {key: self.structure(item, (*path, key), names) for key, item in value.items()}
            return lambda values: {key: render(values) for key, render in items.items()}
        if isinstance(value, list):
            entries = [self.structure(item, (*path, i), names) for i, item in enumerate(value)]
            return lambda values: [render(values) for render in entries]
        return lambda _values: value


def refuse_interpolation_elsewhere(value: Any, path: FieldPath, report: Reporter) -> None:
    """Report each string under ``path`` holding ``${{`` in a field that expands none."""
    if isinstance(value, str):
        if MARKER in value and not _interpolated(path):
            report(path, NOT_EXPANDED_HERE)
    elif isinstance(value, dict):
        for key, item in value.items():
            if not path and is_extension(key):
                continue  # ignored: what it holds is checked where an alias puts it
            refuse_interpolation_elsewhere(item, (*path, key), report)
    elif isinstance(value, list):
        for position, item in enumerate(value):
            refuse_interpolation_elsewhere(item, (*path, position), report)


def _interpolated(path: FieldPath) -> bool:
    """Whether ``${{ … }}`` is expanded in the field at ``path``."""
    match path:
        case ("branches", int(), "id" | "title" | "cwd" | "run"):
            return True
        case ("branches", int(), "run", int()) | ("branches", int(), "env", str()):
            return True
        case ("branches", int(), "with", *_):
            return True
        case ("defaults", "cwd") | ("defaults", "env", str()):
            return True
        case ("merge", "synthesizer", "run" | "cwd") | ("merge", "synthesizer", "run", int()):
            return True
        case ("merge", "synthesizer", "env", str()):
            return True
        case ("branches", int(), "llm", "model" | "system" | "prompt"):
            return True
        case ("branches", int(), "llm", "messages", int(), "content"):
            return True
        case ("merge", "synthesizer", "llm", "model" | "system" | "prompt"):
            return True
        case ("merge", "synthesizer", "llm", "messages", int(), "content"):
            return True
        case ("providers", str(), "base_url") | ("providers", str(), "headers", str()):
            return True
    return False
