"""Spec errors that name file, line, column, field, what is wrong and what was meant."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class SpecIssue:
    """One problem in a spec, located in its file (line and column count from 1)."""

    message: str
    path: Path | None = None
    line: int | None = None
    column: int | None = None
    field: str | None = None
    """Dotted field path, e.g. ``branches[2].retry.attempts``."""
    hint: str | None = None
    """E.g. ``did you mean 'timeout'?``"""


class SpecError(Exception):
    """A spec could not be loaded; ``str()`` is the full, human-readable report."""

    def __init__(self, issues: list[SpecIssue]) -> None:
        super().__init__(issues)
        self.issues = issues
