"""``${{ matrix.NAME }}`` and ``${{ env.NAME }}`` in spec strings.

A template is compiled once per spec field (checking names, reading the environment) and
rendered once per matrix combination, so a thousand-branch matrix costs a thousand cheap
joins. A shell's own ``$VAR`` and ``${VAR}`` are plain text here and pass through.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from fanout_tui.spec._errors import did_you_mean

MARKER = "${{"
NOT_EXPANDED_HERE = "${{ … }} is not expanded in this field"
"""What a spec error says of an interpolation in a field that takes none."""
_EXPRESSION = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)
_REFERENCE = re.compile(r"\s*(\w+)\.([A-Za-z_][A-Za-z0-9_-]*)\s*")

MatrixValue = str | int | float | bool


class InterpolationError(ValueError):
    """A ``${{ … }}`` that cannot be expanded.

    ``offset`` is where it starts in the string; ``hint`` may say what was meant.
    """

    def __init__(self, message: str, *, offset: int, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset
        self.hint = hint


@dataclass(frozen=True, slots=True)
class Combination:
    """One matrix combination: each name's value as YAML read it, and as it was written.

    Text gets the value as written (``3.10``, ``01234``, ``yes``); a ``with`` value that is
    one reference gets the value as YAML read it (3.1, 668, true).
    """

    values: Mapping[str, MatrixValue]
    texts: Mapping[str, str]


NO_MATRIX = Combination({}, {})


@dataclass(frozen=True, slots=True)
class Template:
    """A compiled string: literal parts and the matrix names between them.

    ``parts`` alternates literal text (even positions) and matrix names (odd positions).
    """

    parts: tuple[str, ...]

    @property
    def is_literal(self) -> bool:
        """True when nothing in it depends on the matrix."""
        return len(self.parts) == 1

    @property
    def names(self) -> frozenset[str]:
        """The matrix names it refers to."""
        return frozenset(self.parts[1::2])

    def render(self, matrix: Combination) -> str:
        """The text with this combination's matrix values put in, as they were written."""
        if len(self.parts) == 1:
            return self.parts[0]
        texts = matrix.texts
        return "".join(
            part if index % 2 == 0 else texts[part] for index, part in enumerate(self.parts)
        )

    def render_value(self, matrix: Combination) -> Any:
        """Like :meth:`render`, but a string that is one matrix reference keeps its type."""
        if len(self.parts) == 3 and self.parts[0] == "" and self.parts[2] == "":
            return matrix.values[self.parts[1]]
        return self.render(matrix)


def compile_template(
    text: str, matrix_names: Collection[str], environ: Mapping[str, str]
) -> Template:
    """Check every ``${{ … }}`` in ``text`` and resolve those naming the environment.

    Raises:
        InterpolationError: for an unknown kind or matrix name, an unset variable or an
            unclosed ``${{``.
    """
    if MARKER not in text:
        return Template((text,))
    parts: list[str] = []
    literal = ""
    position = 0
    for match in _EXPRESSION.finditer(text):
        literal += text[position : match.start()]
        position = match.end()
        kind, name = _reference(match.group(1), match.start())
        if kind == "env":
            if name not in environ:
                raise InterpolationError(
                    f"${{{{ env.{name} }}}}: the environment variable {name} is not set",
                    offset=match.start(),
                )
            literal += environ[name]
        else:
            if name not in matrix_names:
                raise _unknown_matrix_name(name, matrix_names, match.start())
            parts.extend((literal, name))
            literal = ""
    rest = text[position:]
    if MARKER in rest:
        raise InterpolationError(
            "'${{' is not closed with '}}'", offset=position + rest.index(MARKER)
        )
    parts.append(literal + rest)
    return Template(tuple(parts))


def _reference(expression: str, offset: int) -> tuple[str, str]:
    match = _REFERENCE.fullmatch(expression)
    shown = "${{" + expression + "}}"
    if match is None:
        raise InterpolationError(
            f"{shown} is not an interpolation; write ${{{{ matrix.NAME }}}} or ${{{{ env.NAME }}}}",
            offset=offset,
        )
    kind, name = match.groups()
    if kind not in {"matrix", "env"}:
        raise InterpolationError(
            f"{shown}: unknown name {kind!r}; only matrix.NAME and env.NAME can be used",
            offset=offset,
            hint=did_you_mean(kind, ["matrix", "env"]),
        )
    return kind, name


def _unknown_matrix_name(
    name: str, matrix_names: Collection[str], offset: int
) -> InterpolationError:
    if not matrix_names:
        return InterpolationError(
            f"${{{{ matrix.{name} }}}}: this branch has no matrix", offset=offset
        )
    return InterpolationError(
        f"${{{{ matrix.{name} }}}}: the matrix has no {name!r} "
        f"(it has {', '.join(sorted(matrix_names))})",
        offset=offset,
        hint=did_you_mean(name, matrix_names),
    )
