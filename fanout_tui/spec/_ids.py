"""Checks of the expanded branches' ids: well formed, short enough, free of secrets,
unique, and not the synthesizer's.

An id is shown and stored as it is (progress lines, the journal, log file names), so a
secret interpolated into one is refused; a title is masked instead (:func:`secrets_of`).

When one matrix gives two branches the same id, the report says why, naming the values:
a matrix name the id leaves out, a value listed twice, or values that run together.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence

from fanout_tui.spec._checks import Reporter
from fanout_tui.spec._errors import shown_value
from fanout_tui.spec._masking import Masker
from fanout_tui.spec._matrix import Pick
from fanout_tui.spec._plan import BranchPlan
from fanout_tui.spec._source import FieldPath, SpecSource

SYNTHESIZER_ID = "synthesizer"

MAX_ID_LENGTH = 200
"""Characters of an id at most: it names the attempt's log files (a file name is at most
255 bytes, and ``.attempt-N.stderr`` follows the id)."""

_ID = re.compile(r"[A-Za-z0-9_.-]+")
_ENV_NAME = re.compile(r"env\.([A-Za-z_][A-Za-z0-9_]*)")


class FieldSecrets:
    """The secrets a field interpolates (``${{ env.NAME }}`` with NAME in ``secrets``),
    and a masker of just those."""

    __slots__ = ("masker", "names")

    def __init__(self, names: tuple[str, ...], masker: Masker) -> None:
        self.names = names
        self.masker = masker


def masked(text: str, secrets: FieldSecrets | None) -> str:
    """``text`` (a rendered title) with the values of ``secrets`` masked."""
    return text if secrets is None else secrets.masker.mask(text)


def secrets_of(
    written: str | None, secrets: Collection[str], environ: Mapping[str, str]
) -> FieldSecrets | None:
    """The secrets the field ``written`` (as in the spec) interpolates; ``None`` when it
    names none (most fields: no other value is looked up)."""
    if not written or "env." not in written:
        return None
    names = tuple(dict.fromkeys(n for n in _ENV_NAME.findall(written) if n in secrets))
    if not names:
        return None
    return FieldSecrets(names, Masker.from_environ(names, environ))


class IdChecks:
    """Remembers where each expanded branch came from, then checks the ids."""

    def __init__(self, source: SpecSource, report: Reporter) -> None:
        self._source = source
        self._report = report
        self._origin: dict[int, int] = {}
        """Which written branch (by position) each expanded branch (by index) came from."""
        self._id_names: dict[int, frozenset[str]] = {}
        """The matrix names each written branch's id refers to (by position)."""
        self._picks: dict[int, Pick] = {}
        """The matrix combination of each expanded branch (by index)."""
        self._badly_formed: set[int] = set()

    def add(self, template: int, id_names: frozenset[str], index: int, pick: Pick) -> None:
        """Record the expanded branch ``index``, made from the written branch ``template``."""
        self._origin[index] = template
        self._id_names[template] = id_names
        self._picks[index] = pick

    def check_form(
        self, template: int, branch_id: str, secrets: FieldSecrets | None = None
    ) -> None:
        """Report an id that is not letters, digits, '_', '.' and '-', is longer than
        :data:`MAX_ID_LENGTH`, or holds a secret's value (once a written branch)."""
        if template in self._badly_formed:
            return
        path: FieldPath = ("branches", template, "id")
        if not _ID.fullmatch(branch_id):
            message = f"{branch_id!r} is not a valid id; use letters, digits, '_', '.' and '-'"
            self._report(path, message)
        elif secrets is not None and secrets.masker.mask(branch_id) != branch_id:
            self._report(
                path,
                f"the id holds the value of secret {', '.join(secrets.names)}; an id is shown "
                "and stored unmasked (progress, the journal, log file names)",
                hint="interpolate the secret in 'env' or 'run' instead; a title is masked",
            )
        elif len(branch_id) > MAX_ID_LENGTH:
            self._report(
                path,
                f"the id is {len(branch_id)} characters long; at most {MAX_ID_LENGTH} "
                "(it names the branch's log files)",
            )
        else:
            return
        self._badly_formed.add(template)

    def check_unique(self, branches: Sequence[BranchPlan], *, synthesis: bool) -> None:
        """Report each written branch whose branches reuse an id (and, for a synthesis
        merge, the synthesizer's)."""
        first: dict[str, BranchPlan] = {}
        reported: set[int] = set()
        for branch in branches:
            template = self._origin[branch.index]
            id_path: FieldPath = ("branches", template, "id")
            if synthesis and branch.id == SYNTHESIZER_ID and template not in reported:
                reported.add(template)
                self._report(id_path, "the id 'synthesizer' is taken by the merge's synthesizer")
            earlier = first.setdefault(branch.id, branch)
            if earlier is branch or template in reported:
                continue
            reported.add(template)
            if self._origin[earlier.index] == template:
                self._report_matrix_collision(template, earlier, branch)
            else:
                where = self._source.position(("branches", self._origin[earlier.index], "id"))
                line = f" (first at line {where[0]})" if where else ""
                self._report(id_path, f"duplicate branch id {branch.id!r}{line}")

    def _report_matrix_collision(self, template: int, one: BranchPlan, other: BranchPlan) -> None:
        """Say why two branches of one matrix got the same id, naming the values."""
        id_path: FieldPath = ("branches", template, "id")
        first, second = self._picks[one.index], self._picks[other.index]
        differing = [
            name for name in first.positions if first.positions[name] != second.positions[name]
        ]
        missing = [name for name in differing if name not in self._id_names[template]]
        if missing:
            self._report(
                id_path,
                f"the matrix gives several branches the id {one.id!r} "
                f"({_values(one, missing)} and {_values(other, missing)})",
                hint="put "
                + " and ".join(f"${{{{ matrix.{name} }}}}" for name in missing)
                + " in the id",
            )
            return
        same_text = [name for name in differing if one.matrix[name] == other.matrix[name]]
        if same_text:
            name = same_text[0]
            a, b = first.combination.values[name], second.combination.values[name]
            if a == b and type(a) is type(b):
                message = f"matrix.{name} lists {one.matrix[name]!r} more than once"
            else:
                message = (
                    f"matrix.{name} has {shown_value(a)} and {shown_value(b)}, the same as text"
                )
            self._report(id_path, f"{message}, so two branches get the id {one.id!r}")
            return
        self._report(
            id_path,
            f"{_values(one, differing)} and {_values(other, differing)} both give the id "
            f"{one.id!r}",
            hint="put a separator such as '-' between the matrix values in the id",
        )


def _values(branch: BranchPlan, names: list[str]) -> str:
    """``n=1, os=linux``: a branch's matrix values for ``names``, as written."""
    return ", ".join(f"{name}={branch.matrix[name]}" for name in names)
