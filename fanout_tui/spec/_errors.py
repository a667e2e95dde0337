"""Spec errors that name file, line, column, field, what is wrong and what was meant.

A report reads like a compiler's, one problem a line, sorted by position::

    spec.yaml: 2 errors
    spec.yaml:12:5: branches[2].retry.attemps: unknown field; did you mean 'attempts'?
    spec.yaml:20:14: merge.order[1]: no branch has the id 'chapter-9'; did you mean 'chapter-3'?
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

MAX_REPORTED = 20
"""How many problems a report lists before it summarises the rest as "… and N more"."""


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

    @property
    def sort_key(self) -> tuple[int, int]:
        """Position in the file; problems without one come first."""
        return (self.line or 0, self.column or 0)

    def __str__(self) -> str:
        where = source_name(self.path)
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        parts = [where]
        if self.field:
            parts.append(self.field)
        text = ": ".join(parts) + ": " + self.message
        if self.hint:
            text += f"; {self.hint}"
        return text


class SpecError(Exception):
    """A spec could not be loaded; ``str()`` is the full, human-readable report."""

    def __init__(self, issues: list[SpecIssue]) -> None:
        # The same problem can surface once per branch that inherits it: report it once.
        ordered = sorted(dict.fromkeys(issues), key=lambda issue: issue.sort_key)
        super().__init__(ordered)
        self.issues = ordered

    def __str__(self) -> str:
        if not self.issues:
            return "the spec is not valid"
        lines = [str(issue) for issue in self.issues[:MAX_REPORTED]]
        hidden = len(self.issues) - MAX_REPORTED
        if hidden > 0:
            lines.append(f"… and {hidden} more {_plural(hidden, 'error')}")
        if len(self.issues) > 1:
            lines.insert(0, f"{source_name(self.issues[0].path)}: {len(self.issues)} errors")
        return "\n".join(lines)


def source_name(path: Path | None) -> str:
    """How a report names the spec: the path as given, or ``<spec>`` for bare text."""
    return str(path) if path is not None else "<spec>"


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """``did you mean 'x'?`` for the choice closest to ``word``, if one is close enough."""
    meant = closest(word, choices)
    return f"did you mean {meant!r}?" if meant is not None else None


def closest(word: str, choices: Iterable[str]) -> str | None:
    """The choice closest to ``word``, if one is close enough.

    Case does not count: ``JSON`` means ``json``, ``Branches`` means ``branches``.
    """
    import difflib  # here: a run starts faster without it (about 1 ms), and needs no hint

    by_case = {choice.casefold(): choice for choice in choices}
    matches = difflib.get_close_matches(word.casefold(), list(by_case), n=1, cutoff=0.6)
    return by_case[matches[0]] if matches else None


def shown_value(value: object) -> str:
    """A value as a message quotes it: text in quotes, anything else as JSON would write it."""
    if isinstance(value, str):
        return repr(value)
    try:
        text = json.dumps(value, default=str)
    except ValueError:  # a circular value
        text = "a value"
    return text if len(text) <= 60 else text[:57] + "..."


def _plural(count: int, noun: str) -> str:
    return noun if count == 1 else noun + "s"
