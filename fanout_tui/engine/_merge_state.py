"""From the policy's verdict to the :class:`MergeState` the engine publishes.

The engine decides *when* to merge (every time the set of settled branches changes) and
runs the synthesizer; this module decides *what* the merge state says for a verdict.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from fanout_tui.engine._events import BranchReport, BranchStatus, MergeState, PolicyState
from fanout_tui.engine._exit_codes import ExitCode
from fanout_tui.engine._merge import MergeError, combine
from fanout_tui.engine._policy import Verdict
from fanout_tui.spec import MergePlan, MergeStrategy


def preview(merge: MergePlan, reports: Sequence[BranchReport]) -> Any:
    """What the branches that succeeded so far merge to, unflagged (``None`` when none).

    A synthesis is previewed as a concatenation: the synthesizer only ever runs for the
    final merge. A preview that cannot be merged (a key conflict so far) is ``None``; the
    final merge names the problem.
    """
    if not any(report.status is BranchStatus.SUCCEEDED for report in reports):
        return None
    if merge.strategy is MergeStrategy.SYNTHESIS:
        merge = dataclasses.replace(merge, strategy=MergeStrategy.CONCATENATE)
    try:
        return combine(merge, reports, flag_missing=False)
    except MergeError:
        return None


def undecided(verdict: Verdict, merge: MergePlan, reports: Sequence[BranchReport]) -> MergeState:
    """The state while the policy waits or is blocked: a preview and what blocks it."""
    return MergeState(
        state=verdict.state,
        merged=preview(merge, reports),
        missing=verdict.missing,
        failed=verdict.failed,
        active=verdict.active,
        error=verdict.reason,
        unsuccessful_counts=verdict.unsuccessful_counts,
    )


def combined(verdict: Verdict, merge: MergePlan, reports: Sequence[BranchReport]) -> MergeState:
    """The final state of a satisfied policy for concatenate and key (flags the missing)."""
    try:
        merged = combine(merge, reports, flag_missing=True)
    except MergeError as error:
        return failed_merge(verdict, str(error))
    return merged_state(verdict, merged)


def merged_state(verdict: Verdict, merged: Any) -> MergeState:
    """A satisfied policy with its merged result."""
    return MergeState(
        state=PolicyState.MERGED,
        merged=merged,
        missing=verdict.missing,
        failed=verdict.failed,
        active=0,
    )


def failed_merge(verdict: Verdict, error: str) -> MergeState:
    """A satisfied policy whose merge itself failed (``error``: one sentence)."""
    return MergeState(
        state=PolicyState.MERGE_FAILED,
        merged=None,
        missing=verdict.missing,
        failed=verdict.failed,
        active=0,
        error=error,
    )


def synthesizing(verdict: Verdict, merge: MergePlan, reports: Sequence[BranchReport]) -> MergeState:
    """The state while the synthesizer runs: still waiting, on one thing (the synthesizer)."""
    return MergeState(
        state=PolicyState.WAITING,
        merged=preview(merge, reports),
        missing=verdict.missing,
        failed=verdict.failed,
        active=1,
    )


def cut_short(
    verdict: Verdict, merge: MergePlan, reports: Sequence[BranchReport], why: str
) -> MergeState:
    """The state of a run shut down before its policy was satisfied (``why``: one sentence)."""
    return MergeState(
        state=PolicyState.BLOCKED,
        merged=preview(merge, reports),
        missing=verdict.missing,
        failed=verdict.failed,
        active=verdict.active,
        error=why,
    )


def exit_code(merge: MergeState, *, interrupted: bool) -> int:
    """The process exit code for a merge state (DESIGN.md: 0, 3, 1 or 130)."""
    if merge.state is PolicyState.MERGED:
        return ExitCode.PARTIAL if merge.missing else ExitCode.OK
    return ExitCode.INTERRUPTED if interrupted else ExitCode.NOT_SATISFIED
