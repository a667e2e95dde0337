"""A branch's matrix: checked, then expanded into one combination per branch.

The combinations are the cartesian product of the matrix's lists, keys and values in the
order written. Each value comes with its text as written in the spec (``3.10``, not YAML's
3.1) and with its position in its list, which names it when two branches clash.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from fanout_tui.spec._checks import Reporter
from fanout_tui.spec._interpolate import Combination, MatrixValue
from fanout_tui.spec._source import FieldPath, SpecSource

MAX_BRANCHES = 10_000
"""Most branches a spec may expand to."""


@dataclass(frozen=True, slots=True)
class Pick:
    """One combination of a matrix, and where each of its values is in its list."""

    combination: Combination
    positions: Mapping[str, int]


def check_matrix(
    matrix: Mapping[str, list[MatrixValue]], path: FieldPath, report: Reporter
) -> bool:
    """Report each empty list and a matrix too large; whether the matrix can be expanded.

    ``path`` is the branch's; an empty matrix (``{}``) makes one combination, with no values.
    """
    combinations = math.prod(len(values) for values in matrix.values())
    for name, values in matrix.items():
        if not values:
            report((*path, "matrix", name), f"the matrix {name!r} has no values")
    if combinations > MAX_BRANCHES:
        report(
            (*path, "matrix"),
            f"the matrix makes {combinations} branches; at most {MAX_BRANCHES} are allowed",
        )
        return False
    return True


def expand_matrix(
    matrix: Mapping[str, list[MatrixValue]], path: FieldPath, source: SpecSource
) -> Iterator[Pick]:
    """Each combination of the matrix of the branch at ``path``, in order."""
    names = list(matrix)
    written = [
        [
            (position, value, _as_written(source, (*path, "matrix", name, position), value))
            for position, value in enumerate(values)
        ]
        for name, values in matrix.items()
    ]
    for combination in itertools.product(*written):
        picked = dict(zip(names, combination, strict=True))
        yield Pick(
            Combination(
                {name: value for name, (_, value, _) in picked.items()},
                {name: text for name, (_, _, text) in picked.items()},
            ),
            {name: position for name, (position, _, _) in picked.items()},
        )


def _as_written(source: SpecSource, path: FieldPath, value: MatrixValue) -> str:
    """A matrix value's text as written: the parser records it for every scalar that YAML
    does not read as text, and the models let only scalars into a matrix."""
    return value if isinstance(value, str) else source.written[path]
