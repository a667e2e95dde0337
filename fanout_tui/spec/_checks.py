"""Checks of the merge, the policy and output schemas, each reported at its node."""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from typing import Any, Protocol

from fanout_tui.spec._errors import did_you_mean
from fanout_tui.spec._models import SpecFile
from fanout_tui.spec._plan import (
    BranchPlan,
    ConflictRule,
    MergePlan,
    MergeStrategy,
    PolicyMode,
    PolicyPlan,
)
from fanout_tui.spec._source import FieldPath

_MERGE_FIELD_STRATEGY = {
    "key": "key",
    "on_conflict": "key",
    "separator": "concatenate",
    "synthesizer": "synthesis",
}
"""Merge fields that mean something for one strategy only."""


class Reporter(Protocol):
    """Records one problem at the node at ``path`` (``offset``: a character inside it)."""

    def __call__(
        self,
        path: FieldPath,
        message: str,
        *,
        hint: str | None = None,
        at_key: bool = False,
        offset: int | None = None,
    ) -> None: ...


def check_json_schema(schema: dict[str, Any] | bool, path: FieldPath, report: Reporter) -> None:
    """Report ``schema`` when it is not itself a valid JSON Schema (for its draft)."""
    if isinstance(schema, bool):
        return
    import jsonschema  # about 90 ms to import: only specs that declare a schema pay for it

    validator = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    try:
        validator.check_schema(schema)
    except jsonschema.SchemaError as error:
        message = error.message if len(error.message) <= 120 else error.message[:117] + "..."
        report((*path, *error.path), f"not a valid JSON Schema: {message}")


def check_merge(
    model: SpecFile,
    branches: Sequence[BranchPlan],
    synthesizer: BranchPlan | None,
    report: Reporter,
) -> MergePlan:
    """The merge plan, after checking its fields against the strategy and the branch ids."""
    merge = model.merge
    strategy = MergeStrategy(merge.strategy)
    for name, needs in _MERGE_FIELD_STRATEGY.items():
        if getattr(merge, name) is not None and strategy != needs:
            report(
                ("merge", name),
                f"{name!r} applies to strategy {needs}, and this merge's strategy is {strategy}",
                at_key=True,
            )
    if strategy is MergeStrategy.KEY and not merge.key:
        report(
            ("merge", "strategy"),
            "strategy key needs 'key': the field of each JSON record that names its entry",
        )
    if strategy is MergeStrategy.SYNTHESIS and merge.synthesizer is None:
        report(
            ("merge", "strategy"),
            "strategy synthesis needs a 'synthesizer': {run: COMMAND} that reads the results "
            "on stdin and prints the merged result",
        )
    return MergePlan(
        strategy=strategy,
        order=_merge_order(merge.order or [], [branch.id for branch in branches], report),
        separator=merge.separator if merge.separator is not None else "\n",
        key=merge.key,
        on_conflict=ConflictRule(merge.on_conflict or "error"),
        synthesizer=synthesizer if strategy is MergeStrategy.SYNTHESIS else None,
    )


def _merge_order(written: list[str], ids: list[str], report: Reporter) -> tuple[str, ...]:
    """The written order, checked, followed by every branch it leaves out (declared order)."""
    known = set(ids)
    named: dict[str, int] = {}
    for position, branch_id in enumerate(written):
        path: FieldPath = ("merge", "order", position)
        if branch_id not in known:
            report(path, f"no branch has the id {branch_id!r}", hint=did_you_mean(branch_id, ids))
        elif branch_id in named:
            report(path, f"{branch_id!r} is already named at merge.order[{named[branch_id]}]")
        else:
            named[branch_id] = position
    return (*named, *(branch_id for branch_id in ids if branch_id not in named))


def check_policy(model: SpecFile, branch_count: int, report: Reporter) -> PolicyPlan:
    """The policy plan with ``min_success`` as a count, after checking it fits the mode."""
    policy = model.policy
    mode = PolicyMode(policy.mode)
    if mode is PolicyMode.ALL_OR_NOTHING:
        if policy.min_success is not None:
            report(
                ("policy", "min_success"),
                "min_success applies to mode best_effort; with all_or_nothing every branch "
                "must succeed",
                at_key=True,
            )
        return PolicyPlan(mode=mode, min_success=branch_count, fail_fast=policy.fail_fast)
    if policy.fail_fast:
        report(
            ("policy", "fail_fast"),
            "fail_fast applies to mode all_or_nothing; best_effort lets every branch finish",
        )
    written = policy.min_success
    if written is None:
        needed = 1
    elif isinstance(written, str):
        share = Fraction(written.strip().removesuffix("%").strip()) / 100
        needed = max(1, math.ceil(share * branch_count))
    else:
        needed = written
    if needed > branch_count:
        noun = "branch" if branch_count == 1 else "branches"
        report(
            ("policy", "min_success"),
            f"min_success is {needed}, but the spec has only {branch_count} {noun}",
        )
    return PolicyPlan(mode=mode, min_success=needed, fail_fast=False)
