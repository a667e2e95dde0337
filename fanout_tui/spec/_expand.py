"""Turn a validated spec into the expanded :class:`Plan`, checking meaning across fields.

Defaults merge into each branch (``env`` key by key, ``retry`` and ``output`` field by
field), each matrix expands into one branch per combination (cartesian product, keys and
values in the order written), ``${{ … }}`` is interpolated, paths become absolute and a
``min_success`` percentage becomes a count. Every problem found on the way is reported
at the node it comes from, all of them together.
"""

from __future__ import annotations

import itertools
import math
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from fanout_tui.spec._checks import check_json_schema, check_merge, check_policy
from fanout_tui.spec._errors import SpecError, SpecIssue, did_you_mean, shown_value
from fanout_tui.spec._interpolate import (
    MARKER,
    NO_MATRIX,
    NOT_EXPANDED_HERE,
    Combination,
    InterpolationError,
    MatrixValue,
    Template,
    compile_template,
    matrix_text,
)
from fanout_tui.spec._masking import Masker
from fanout_tui.spec._models import (
    CALL_PATTERN,
    BranchSpec,
    DefaultsSpec,
    RetrySpec,
    SpecFile,
    SynthesizerSpec,
    is_extension,
)
from fanout_tui.spec._plan import (
    BranchPlan,
    OutputContract,
    OutputFormat,
    Plan,
    ResourceLimit,
    RetryPolicy,
)
from fanout_tui.spec._source import FieldPath, SpecSource

MAX_BRANCHES = 10_000
"""Most branches a spec may expand to."""
SYNTHESIZER_ID = "synthesizer"
DEFAULT_KILL_GRACE_S = 5.0

_ID = re.compile(r"[A-Za-z0-9_.-]+")
_CALL = re.compile(CALL_PATTERN)
_STRUCTURED = {OutputFormat.JSON, OutputFormat.JSONL}

Renderer = Callable[[Combination], Any]


def expand_spec(
    model: SpecFile,
    source: SpecSource,
    *,
    base_dir: Path,
    environ: Mapping[str, str] | None = None,
) -> Plan:
    """The expanded plan of a validated spec; :class:`SpecError` listing every problem.

    Args:
        model: the spec, as validated by the models.
        source: the parsed document, for the position of each problem.
        base_dir: absolute folder that relative paths resolve against.
        environ: where ``${{ env.NAME }}``, HOME (for ``~`` in paths) and secret values come
            from (``os.environ``).
    """
    expander = _Expander(model, source, base_dir, os.environ if environ is None else environ)
    plan = expander.plan()
    if expander.issues:
        mask = Masker.from_environ(model.secrets, expander.environ).mask
        raise SpecError(
            [
                SpecIssue(
                    mask(issue.message),
                    path=issue.path,
                    line=issue.line,
                    column=issue.column,
                    field=issue.field,
                    hint=issue.hint,
                )
                for issue in expander.issues
            ]
        )
    return plan


class _Expander:
    def __init__(
        self,
        model: SpecFile,
        source: SpecSource,
        base_dir: Path,
        environ: Mapping[str, str],
    ) -> None:
        self.model = model
        self.source = source
        self.base_dir = base_dir
        self.environ = environ
        self.issues: list[SpecIssue] = []
        self.defaults = model.defaults or DefaultsSpec()
        self.origin: dict[int, int] = {}
        """Which written branch (by position) each expanded branch (by index) came from."""
        self.id_names: dict[int, frozenset[str]] = {}
        """The matrix names each written branch's id refers to (by position)."""
        self.picked: dict[int, dict[str, int]] = {}
        """For each expanded branch (by index): the position of its value in each matrix list."""

    def report(
        self, path: FieldPath, message: str, *, hint: str | None = None, at_key: bool = False
    ) -> None:
        self.issues.append(self.source.issue(path, message, hint=hint, at_key=at_key))

    def plan(self) -> Plan:
        self._refuse_interpolation_elsewhere(self.source.data, ())
        self._check_settings(self.defaults, ("defaults",))
        default_env = self._env(self.defaults.env, ("defaults", "env"))
        default_cwd = self._static_text(self.defaults.cwd, ("defaults", "cwd"))
        branches: list[BranchPlan] = []
        for index, branch in enumerate(self.model.branches):
            branches.extend(
                self._expand(index, branch, default_env, default_cwd, first_index=len(branches))
            )
            if len(branches) > MAX_BRANCHES:
                self.report(
                    ("branches", index), f"the spec expands to more than {MAX_BRANCHES} branches"
                )
                break
        self._check_unique_ids(branches)
        synthesizer = self._synthesizer(default_env, default_cwd, len(branches))
        merge = check_merge(self.model, branches, synthesizer, self.report)
        policy = check_policy(self.model, len(branches), self.report)
        output = self._path(self.model.output) if self.model.output is not None else None
        return Plan(
            name=self.model.name,
            description=self.model.description,
            branches=tuple(branches),
            spec_path=Path(os.path.abspath(self.source.origin)) if self.source.origin else None,
            concurrency=self.model.concurrency,
            resources={
                name: ResourceLimit(name=name, concurrency=limit.concurrency, rate=limit.rate)
                for name, limit in self.model.resources.items()
            },
            secrets=tuple(self.model.secrets),
            merge=merge,
            policy=policy,
            output=output,
        )

    # -- one branch --------------------------------------------------------------------

    def _expand(
        self,
        index: int,
        branch: BranchSpec,
        default_env: dict[str, str] | None,
        default_cwd: str | None,
        *,
        first_index: int,
    ) -> list[BranchPlan]:
        path: FieldPath = ("branches", index)
        self._check_command(branch, path)
        self._check_settings(branch, path)
        output = self._output_contract(branch, path)
        matrix = branch.matrix or {}
        combinations = math.prod(len(values) for values in matrix.values())
        for name, values in matrix.items():
            if not values:
                self.report((*path, "matrix", name), f"the matrix {name!r} has no values")
        if combinations > MAX_BRANCHES:
            self.report(
                (*path, "matrix"),
                f"the matrix makes {combinations} branches; at most {MAX_BRANCHES} are allowed",
            )
            return []
        names = list(matrix)
        errors_before = len(self.issues)
        id_template = self._template(branch.id, (*path, "id"), names)
        title = self._template(branch.title, (*path, "title"), names)
        run = self._command(branch.run, (*path, "run"), names)
        with_args = self._structure(branch.with_ or {}, (*path, "with"), names)
        cwd = self._template(branch.cwd, (*path, "cwd"), names)
        env = {
            key: self._template(value, (*path, "env", key), names)
            for key, value in (branch.env or {}).items()
        }
        if len(self.issues) > errors_before or id_template is None:
            return []

        settings = self.defaults
        retry = _retry(branch.retry, settings.retry)
        timeout = branch.timeout if branch.timeout is not None else settings.timeout
        kill_grace = _first(branch.kill_grace, settings.kill_grace, DEFAULT_KILL_GRACE_S)
        uses = tuple(_first(branch.uses, settings.uses, []))
        success = branch.success or settings.success
        exit_codes = frozenset(success.exit_codes) if success else frozenset({0})
        python_path = (self.base_dir,) if branch.call else ()
        self.id_names[index] = id_template.names
        plans: list[BranchPlan] = []
        bad_id_reported = False
        for offset, combination in enumerate(itertools.product(*self._written(path, matrix))):
            picked = dict(zip(names, combination, strict=True))
            chosen = Combination(
                {name: value for name, (_, value, _) in picked.items()},
                {name: text for name, (_, _, text) in picked.items()},
            )
            self.origin[first_index + offset] = index
            self.picked[first_index + offset] = {
                name: position for name, (position, _, _) in picked.items()
            }
            branch_id = id_template.render(chosen)
            if not _ID.fullmatch(branch_id) and not bad_id_reported:
                bad_id_reported = True
                self.report(
                    (*path, "id"),
                    f"{branch_id!r} is not a valid id; use letters, digits, '_', '.' and '-'",
                )
            plans.append(
                BranchPlan(
                    id=branch_id,
                    index=first_index + offset,
                    title=title.render(chosen) if title else None,
                    run=run(chosen) if run else None,
                    call=branch.call,
                    with_args=with_args(chosen),
                    cwd=self._path(cwd.render(chosen) if cwd else default_cwd),
                    env={
                        **(default_env or {}),
                        **{key: value.render(chosen) for key, value in env.items() if value},
                    },
                    timeout_s=timeout,
                    kill_grace_s=kill_grace,
                    retry=retry,
                    uses=uses,
                    output=output,
                    success_exit_codes=exit_codes,
                    matrix=chosen.texts,
                    python_path=python_path,
                )
            )
        return plans

    def _written(
        self, path: FieldPath, matrix: Mapping[str, list[MatrixValue]]
    ) -> list[list[tuple[int, MatrixValue, str]]]:
        """Each matrix name's values: position, value and its text as written in the spec."""
        return [
            [
                (
                    position,
                    value,
                    self.source.text_as_written((*path, "matrix", name, position), value)
                    or matrix_text(value),
                )
                for position, value in enumerate(values)
            ]
            for name, values in matrix.items()
        ]

    def _check_command(self, branch: BranchSpec, path: FieldPath) -> None:
        if branch.run is None and branch.call is None:
            self.report(
                path, "a branch needs 'run' (a command) or 'call' (a Python module:function)"
            )
        elif branch.run is not None and branch.call is not None:
            self.report(
                (*path, "call"), "a branch has either 'run' or 'call', not both", at_key=True
            )
        if branch.call is not None and not _CALL.fullmatch(branch.call):
            self.report(
                (*path, "call"),
                f"{branch.call!r} is not a callable; write module:function, "
                "e.g. mypkg.tasks:word_stats",
            )
        if branch.with_ is not None and branch.call is None:
            self.report(
                (*path, "with"),
                "'with' gives arguments to 'call', and this branch has no call",
                at_key=True,
            )

    def _check_settings(self, settings: DefaultsSpec | BranchSpec, path: FieldPath) -> None:
        """Checks on the fields a branch shares with defaults, where they are written."""
        for position, name in enumerate(settings.uses or []):
            if name not in self.model.resources:
                declared = ", ".join(self.model.resources) or "none are declared"
                self.report(
                    (*path, "uses", position),
                    f"unknown resource {name!r} (resources: {declared})",
                    hint=did_you_mean(name, self.model.resources),
                )
        if settings.output is not None and settings.output.schema_ is not None:
            check_json_schema(settings.output.schema_, (*path, "output", "schema"), self.report)

    def _output_contract(self, branch: BranchSpec, path: FieldPath) -> OutputContract:
        own, inherited = branch.output, self.defaults.output
        written = _first(own and own.format, inherited and inherited.format, None)
        output_format = OutputFormat(written or "text")
        written_schema = _first(own and own.schema_, inherited and inherited.schema_, None)
        schema = _schema_mapping(written_schema)
        format_path: FieldPath = (
            (*path, "output", "format")
            if own and own.format
            else ("defaults", "output", "format")
            if inherited and inherited.format
            else path
        )
        if schema is not None and output_format not in _STRUCTURED:
            self.report(
                format_path,
                f"an output schema needs format json or jsonl (not {output_format})",
            )
        if self.model.merge.strategy == "key" and output_format not in _STRUCTURED:
            self.report(
                format_path,
                f"merge.strategy is key, so output.format must be json or jsonl "
                f"(not {output_format})",
            )
        return OutputContract(format=output_format, schema=schema)

    # -- the synthesizer ---------------------------------------------------------------

    def _synthesizer(
        self, default_env: dict[str, str] | None, default_cwd: str | None, index: int
    ) -> BranchPlan | None:
        synthesizer: SynthesizerSpec | None = self.model.merge.synthesizer
        if synthesizer is None:
            return None
        path: FieldPath = ("merge", "synthesizer")
        run = self._command(synthesizer.run, (*path, "run"), [])
        env = self._env(synthesizer.env, (*path, "env"))
        cwd = self._static_text(synthesizer.cwd, (*path, "cwd"))
        if run is None:
            return None
        return BranchPlan(
            id=SYNTHESIZER_ID,
            index=index,
            run=run(NO_MATRIX),
            cwd=self._path(cwd if cwd is not None else default_cwd),
            env={**(default_env or {}), **(env or {})},
            timeout_s=synthesizer.timeout,
            kill_grace_s=_first(
                synthesizer.kill_grace, self.defaults.kill_grace, DEFAULT_KILL_GRACE_S
            ),
            retry=_retry(synthesizer.retry, None),
            output=OutputContract(format=OutputFormat.TEXT),
        )

    # -- ids ---------------------------------------------------------------------------

    def _check_unique_ids(self, branches: list[BranchPlan]) -> None:
        first: dict[str, BranchPlan] = {}
        reported: set[int] = set()
        synthesis = self.model.merge.strategy == "synthesis"
        for branch in branches:
            template = self.origin[branch.index]
            id_path: FieldPath = ("branches", template, "id")
            if synthesis and branch.id == SYNTHESIZER_ID and template not in reported:
                reported.add(template)
                self.report(id_path, "the id 'synthesizer' is taken by the merge's synthesizer")
            earlier = first.setdefault(branch.id, branch)
            if earlier is branch or template in reported:
                continue
            reported.add(template)
            if self.origin[earlier.index] == template:
                self._report_matrix_collision(template, earlier, branch)
            else:
                where = self.source.position(("branches", self.origin[earlier.index], "id"))
                line = f" (first at line {where[0]})" if where else ""
                self.report(id_path, f"duplicate branch id {branch.id!r}{line}")

    def _report_matrix_collision(self, template: int, one: BranchPlan, other: BranchPlan) -> None:
        """Say why two branches of one matrix got the same id, naming the values."""
        id_path: FieldPath = ("branches", template, "id")
        first, second = self.picked[one.index], self.picked[other.index]
        differing = [name for name in first if first[name] != second[name]]
        missing = [name for name in differing if name not in self.id_names[template]]
        if missing:
            self.report(
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
            values = self.model.branches[template].matrix or {}
            a, b = values[name][first[name]], values[name][second[name]]
            if a == b and type(a) is type(b):
                message = f"matrix.{name} lists {one.matrix[name]!r} more than once"
            else:
                message = (
                    f"matrix.{name} has {shown_value(a)} and {shown_value(b)}, the same as text"
                )
            self.report(id_path, f"{message}, so two branches get the id {one.id!r}")
            return
        self.report(
            id_path,
            f"{_values(one, differing)} and {_values(other, differing)} both give the id "
            f"{one.id!r}",
            hint="put a separator such as '-' between the matrix values in the id",
        )

    # -- strings and paths -------------------------------------------------------------

    def _template(
        self, text: str | None, path: FieldPath, matrix_names: list[str]
    ) -> Template | None:
        if text is None:
            return None
        try:
            return compile_template(text, matrix_names, self.environ)
        except InterpolationError as error:
            self.issues.append(
                self.source.issue(path, error.message, hint=error.hint, offset=error.offset)
            )
            return None

    def _static_text(self, text: str | None, path: FieldPath) -> str | None:
        template = self._template(text, path, [])
        return template.render(NO_MATRIX) if template else None

    def _env(self, env: Mapping[str, str] | None, path: FieldPath) -> dict[str, str] | None:
        if env is None:
            return None
        rendered = {key: self._static_text(value, (*path, key)) for key, value in env.items()}
        return {key: value for key, value in rendered.items() if value is not None}

    def _command(
        self, run: str | list[str] | None, path: FieldPath, names: list[str]
    ) -> Renderer | None:
        if run is None:
            return None
        if isinstance(run, str):
            template = self._template(run, path, names)
            return template.render if template else None
        parts = [self._template(item, (*path, i), names) for i, item in enumerate(run)]
        if any(part is None for part in parts):
            return None
        templates = [part for part in parts if part is not None]
        return lambda values: tuple(part.render(values) for part in templates)

    def _structure(self, value: Any, path: FieldPath, names: list[str]) -> Renderer:
        """A renderer for a nested value whose strings may hold interpolations."""
        if isinstance(value, str):
            template = self._template(value, path, names)
            if template is None or template.is_literal:
                literal = template.render(NO_MATRIX) if template else value
                return lambda _values: literal
            return template.render_value
        if isinstance(value, dict):
            items = {key: self._structure(item, (*path, key), names) for key, item in value.items()}
            return lambda values: {key: render(values) for key, render in items.items()}
        if isinstance(value, list):
            entries = [self._structure(item, (*path, i), names) for i, item in enumerate(value)]
            return lambda values: [render(values) for render in entries]
        return lambda _values: value

    def _path(self, text: str | None) -> Path:
        if text is None:
            return self.base_dir
        return Path(os.path.normpath(self.base_dir / self._expand_home(text)))

    def _expand_home(self, text: str) -> str:
        """``text`` with a leading ``~`` or ``~/`` taken from HOME in :attr:`environ`.

        HOME is read through :attr:`environ`, like ``${{ env.NAME }}``, so that whoever
        passes the environment sees every variable the plan depends on. ``~user`` and an
        unset HOME are left to :func:`os.path.expanduser` (the password database).
        """
        if text == "~" or text.startswith("~/"):
            home = self.environ.get("HOME")
            if home:
                return (home.rstrip("/") + text[1:]) or "/"
        return os.path.expanduser(text)

    def _refuse_interpolation_elsewhere(self, value: Any, path: FieldPath) -> None:
        if isinstance(value, str):
            if MARKER in value and not _interpolated(path):
                self.report(path, NOT_EXPANDED_HERE)
        elif isinstance(value, dict):
            for key, item in value.items():
                if not path and is_extension(key):
                    continue  # ignored: what it holds is checked where an alias puts it
                self._refuse_interpolation_elsewhere(item, (*path, key))
        elif isinstance(value, list):
            for position, item in enumerate(value):
                self._refuse_interpolation_elsewhere(item, (*path, position))


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
    return False


def _values(branch: BranchPlan, names: list[str]) -> str:
    """``n=1, os=linux``: a branch's matrix values for ``names``, as written."""
    return ", ".join(f"{name}={branch.matrix[name]}" for name in names)


def _first(*candidates: Any) -> Any:
    """The first candidate that is not ``None`` (the last one is the fallback)."""
    for candidate in candidates[:-1]:
        if candidate is not None:
            return candidate
    return candidates[-1]


def _schema_mapping(schema: dict[str, Any] | bool | None) -> dict[str, Any] | None:
    """A boolean JSON Schema as its mapping equivalent (true: ``{}``, false: ``{"not": {}}``)."""
    if isinstance(schema, bool):
        return {} if schema else {"not": {}}
    return schema


def _retry(own: RetrySpec | None, inherited: RetrySpec | None) -> RetryPolicy:
    base = RetryPolicy()
    return RetryPolicy(
        attempts=_first(own and own.attempts, inherited and inherited.attempts, base.attempts),
        backoff_s=_first(own and own.backoff, inherited and inherited.backoff, base.backoff_s),
        max_backoff_s=_first(
            own and own.max_backoff, inherited and inherited.max_backoff, base.max_backoff_s
        ),
        jitter=_first(own and own.jitter, inherited and inherited.jitter, base.jitter),
    )
