"""Turn a validated spec into the expanded :class:`Plan`, checking meaning across fields.

Defaults merge into each branch (``env`` key by key, ``retry`` and ``output`` field by
field), each matrix expands into one branch per combination (cartesian product, keys and
values in the order written), ``${{ … }}`` is interpolated, paths become absolute and a
``min_success`` percentage becomes a count. Every problem found on the way is reported
at the node it comes from, all of them together.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from fanout_tui.spec._checks import check_json_schema, check_merge, check_policy
from fanout_tui.spec._errors import SpecError, SpecIssue, did_you_mean
from fanout_tui.spec._ids import SYNTHESIZER_ID, IdChecks, masked, secrets_of
from fanout_tui.spec._inherit import (
    DEFAULT_KILL_GRACE_S,
    Inherited,
    first,
    inherit,
    output_contract,
    retry_policy,
)
from fanout_tui.spec._interpolate import NO_MATRIX
from fanout_tui.spec._llm_expand import LlmSteps, check_kind, provider_plans
from fanout_tui.spec._masking import Masker
from fanout_tui.spec._matrix import MAX_BRANCHES, check_matrix, expand_matrix
from fanout_tui.spec._models import BranchSpec, DefaultsSpec, SpecFile
from fanout_tui.spec._plan import (
    BranchPlan,
    Budget,
    OutputContract,
    OutputFormat,
    Plan,
    ResourceLimit,
)
from fanout_tui.spec._source import FieldPath, SpecSource
from fanout_tui.spec._templates import FieldTemplates, refuse_interpolation_elsewhere


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
        self.templates = FieldTemplates(source, environ, self.issues)
        self.ids = IdChecks(source, self.report)
        self.providers = provider_plans(model.providers, self.templates)
        self.llm = LlmSteps(self.templates, self.providers, base_dir, self.report)

    def report(
        self,
        path: FieldPath,
        message: str,
        *,
        hint: str | None = None,
        at_key: bool = False,
        offset: int | None = None,
    ) -> None:
        self.issues.append(
            self.source.issue(path, message, hint=hint, at_key=at_key, offset=offset)
        )

    def plan(self) -> Plan:
        refuse_interpolation_elsewhere(self.source.data, (), self.report)
        self._check_settings(self.defaults, ("defaults",))
        default_env = self.templates.env(self.defaults.env, ("defaults", "env"))
        default_cwd = self.templates.static_text(self.defaults.cwd, ("defaults", "cwd"))
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
        self.ids.check_unique(branches, synthesis=self.model.merge.strategy == "synthesis")
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
            resources=self._resources(),
            secrets=tuple(
                dict.fromkeys(
                    [
                        *self.model.secrets,
                        *(p.api_key_env for p in self.providers.values() if p.api_key_env),
                    ]
                )
            ),
            budget=self._budget(),
            merge=merge,
            policy=policy,
            output=output,
            executor=self._executor(),
        )

    def _executor(self) -> str | None:
        if self.model.executor is None:
            return None
        address = self.model.executor.dask.split("://", 1)[-1]
        return f"dask://{address}"

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
        check_kind(branch, path, self.report)
        self._check_settings(branch, path)
        output = output_contract(
            branch, self.defaults, self.model.merge.strategy, path, self.report
        )
        matrix = branch.matrix or {}
        if not check_matrix(matrix, path, self.report):
            return []
        names = list(matrix)
        errors_before = len(self.issues)
        templates = self.templates
        secrets = self.model.secrets
        id_secrets = secrets_of(branch.id, secrets, self.environ)
        title_secrets = secrets_of(branch.title, secrets, self.environ)
        id_template = templates.text(branch.id, (*path, "id"), names)
        title = templates.text(branch.title, (*path, "title"), names)
        run = templates.command(branch.run, (*path, "run"), names)
        with_args = templates.structure(branch.with_ or {}, (*path, "with"), names)
        llm = self.llm.compile(branch.llm, (*path, "llm"), names) if branch.llm else None
        cwd = templates.text(branch.cwd, (*path, "cwd"), names)
        env = {
            key: templates.text(value, (*path, "env", key), names)
            for key, value in (branch.env or {}).items()
        }
        if len(self.issues) > errors_before or id_template is None:
            return []

        settings = inherit(branch, self.defaults)
        self._check_cost(settings.cost_tokens, settings, path if branch.cost else ("defaults",))
        estimated = branch.cost is None and self.defaults.cost is None
        python_path = (self.base_dir,) if branch.call else ()
        plans: list[BranchPlan] = []
        for offset, pick in enumerate(expand_matrix(matrix, path, self.source)):
            chosen = pick.combination
            self.ids.add(index, id_template.names, first_index + offset, pick)
            branch_id = id_template.render(chosen)
            self.ids.check_form(index, branch_id, id_secrets)
            llm_plan = llm(chosen) if llm else None
            cost_tokens = settings.cost_tokens
            if llm_plan is not None and estimated:
                cost_tokens = llm_plan.estimate_tokens()
                if not self._check_cost(cost_tokens, settings, (*path, "llm"), estimate=True):
                    estimated = False  # said once for the branch
            plans.append(
                BranchPlan(
                    id=branch_id,
                    index=first_index + offset,
                    title=masked(title.render(chosen), title_secrets) if title else None,
                    run=run(chosen) if run else None,
                    call=branch.call,
                    with_args=with_args(chosen),
                    cwd=self._path(cwd.render(chosen) if cwd else default_cwd),
                    env={
                        **(default_env or {}),
                        **{key: value.render(chosen) for key, value in env.items() if value},
                    },
                    timeout_s=settings.timeout_s,
                    kill_grace_s=settings.kill_grace_s,
                    log_cap=settings.log_cap,
                    retry=settings.retry,
                    uses=settings.uses,
                    output=output,
                    success_exit_codes=settings.success_exit_codes,
                    matrix=chosen.texts,
                    python_path=python_path,
                    cost_tokens=cost_tokens,
                    llm=llm_plan,
                )
            )
        return plans

    # -- resources and budget ----------------------------------------------------------

    def _resources(self) -> dict[str, ResourceLimit]:
        limits = {}
        for name, limit in self.model.resources.items():
            if limit.adaptive and limit.concurrency is None:
                self.report(
                    ("resources", name, "adaptive"),
                    "adaptive needs a concurrency to adapt; give the resource 'concurrency'",
                    at_key=True,
                )
            limits[name] = ResourceLimit(
                name=name,
                concurrency=limit.concurrency,
                rate=limit.rate,
                burst=limit.burst or 0,
                tokens=limit.tokens,
                adaptive=bool(limit.adaptive),
            )
        return limits

    def _budget(self) -> Budget | None:
        budget = self.model.budget
        if budget is None:
            return None
        if budget.tokens is None and budget.cost_usd is None:
            self.report(("budget",), "a budget needs 'tokens', 'cost_usd' or both")
        return Budget(tokens=budget.tokens, cost_usd=budget.cost_usd)

    def _check_cost(
        self, cost: int, settings: Inherited, path: FieldPath, *, estimate: bool = False
    ) -> bool:
        """Refuse a cost that no token limit the branch is under could ever let start
        (``estimate``: an llm step's estimate, said at the step); False when refused."""
        limits = [
            (f"resource {name!r} allows ({resource.tokens} tokens)", resource.tokens.count)
            for name in settings.uses
            if (resource := self.model.resources.get(name)) is not None and resource.tokens
        ]
        budget = self.model.budget
        if budget is not None and budget.tokens is not None:
            limits.append((f"the run's budget allows ({budget.tokens} tokens)", budget.tokens))
        for limit, allowed in limits:
            if cost > allowed and estimate:
                self.report(
                    path,
                    f"an attempt is estimated at {cost} tokens (prompt and max_tokens), more "
                    f"than {limit}: it could never start; lower max_tokens or give 'cost'",
                )
                return False
            if cost > allowed:
                self.report(
                    (*path, "cost", "tokens"),
                    f"an attempt costs {cost} tokens, more than {limit}: it could never start",
                )
                return False
        return True

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

    # -- the synthesizer ---------------------------------------------------------------

    def _synthesizer(
        self, default_env: dict[str, str] | None, default_cwd: str | None, index: int
    ) -> BranchPlan | None:
        synthesizer = self.model.merge.synthesizer
        if synthesizer is None:
            return None
        path: FieldPath = ("merge", "synthesizer")
        if (synthesizer.run is None) == (synthesizer.llm is None):
            self.report(path, "a synthesizer has one of 'run' (a command) and 'llm'")
            return None
        run = self.templates.command(synthesizer.run, (*path, "run"), [])
        llm = self.llm.compile_static(synthesizer.llm, (*path, "llm")) if synthesizer.llm else None
        env = self.templates.env(synthesizer.env, (*path, "env"))
        cwd = self.templates.static_text(synthesizer.cwd, (*path, "cwd"))
        if run is None and llm is None:
            return None
        return BranchPlan(
            id=SYNTHESIZER_ID,
            index=index,
            run=run(NO_MATRIX) if run else None,
            llm=llm,
            cwd=self._path(cwd if cwd is not None else default_cwd),
            env={**(default_env or {}), **(env or {})},
            timeout_s=synthesizer.timeout,
            kill_grace_s=first(
                synthesizer.kill_grace, self.defaults.kill_grace, DEFAULT_KILL_GRACE_S
            ),
            retry=retry_policy(synthesizer.retry, None),
            output=OutputContract(format=OutputFormat.TEXT),
        )

    # -- paths -----------------------------------------------------------------------

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
