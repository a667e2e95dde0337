"""The failure policy judges what settled: all_or_nothing and best_effort."""

from __future__ import annotations

import pytest

from fanout_tui.engine._events import BranchReport, BranchStatus, MergeState, PolicyState
from fanout_tui.engine._policy import judge
from fanout_tui.spec._plan import PolicyMode, PolicyPlan

S = BranchStatus
ALL = PolicyPlan(mode=PolicyMode.ALL_OR_NOTHING)


def best_effort(min_success: int) -> PolicyPlan:
    return PolicyPlan(mode=PolicyMode.BEST_EFFORT, min_success=min_success)


def branches(*statuses: BranchStatus) -> list[BranchReport]:
    """Branches b0, b1, ... with the given statuses, in declared order."""
    return [BranchReport(f"b{i}", status, None, None, 1, None) for i, status in enumerate(statuses)]


def test_all_or_nothing_merges_when_every_branch_succeeded() -> None:
    verdict = judge(ALL, branches(S.SUCCEEDED, S.SUCCEEDED))
    assert verdict.state is PolicyState.MERGED
    assert (verdict.missing, verdict.failed, verdict.active, verdict.reason) == ((), (), 0, None)


def test_all_or_nothing_waits_while_branches_are_active() -> None:
    verdict = judge(ALL, branches(S.SUCCEEDED, S.RUNNING, S.PENDING, S.RETRYING, S.WAITING))
    assert verdict.state is PolicyState.WAITING
    assert verdict.active == 4
    assert verdict.missing == ("b1", "b2", "b3", "b4")
    assert verdict.failed == ()


@pytest.mark.parametrize("status", [S.FAILED, S.TIMED_OUT, S.CANCELLED])
def test_all_or_nothing_blocks_at_the_first_unsuccessful_branch(status: BranchStatus) -> None:
    verdict = judge(ALL, branches(S.RUNNING, status, S.SUCCEEDED))
    assert verdict.state is PolicyState.BLOCKED
    assert verdict.failed == ("b1",)
    assert verdict.missing == ("b0", "b1")
    assert verdict.active == 1


def test_all_or_nothing_reason_names_the_failures_by_status() -> None:
    verdict = judge(ALL, branches(S.FAILED, S.TIMED_OUT, S.SUCCEEDED, S.FAILED, S.CANCELLED))
    assert verdict.reason == "2 failed: b0, b3; 1 timed out: b1; 1 cancelled: b4"


def test_all_or_nothing_with_no_branches_is_merged() -> None:
    assert judge(ALL, []).state is PolicyState.MERGED


def test_best_effort_waits_until_every_branch_settled() -> None:
    verdict = judge(best_effort(1), branches(S.SUCCEEDED, S.FAILED, S.RUNNING))
    assert verdict.state is PolicyState.WAITING
    assert verdict.failed == ("b1",)
    assert verdict.reason is None


def test_best_effort_merges_with_enough_successes_and_lists_the_missing() -> None:
    verdict = judge(best_effort(2), branches(S.SUCCEEDED, S.TIMED_OUT, S.SUCCEEDED, S.FAILED))
    assert verdict.state is PolicyState.MERGED
    assert verdict.missing == ("b1", "b3")
    assert verdict.failed == ("b1", "b3")
    assert verdict.reason is None


def test_best_effort_blocks_below_min_success() -> None:
    statuses = (S.SUCCEEDED, S.FAILED, S.FAILED, S.SUCCEEDED, S.CANCELLED)
    verdict = judge(best_effort(4), branches(*statuses))
    assert verdict.state is PolicyState.BLOCKED
    assert verdict.reason == "only 2 of 5 succeeded, 4 needed"
    assert verdict.failed == ("b1", "b2", "b4")


def test_best_effort_with_every_branch_succeeded_flags_nothing() -> None:
    verdict = judge(best_effort(5), branches(*[S.SUCCEEDED] * 5))
    assert verdict.state is PolicyState.MERGED
    assert verdict.missing == ()


def test_best_effort_with_zero_needed_merges_even_when_all_failed() -> None:
    verdict = judge(best_effort(0), branches(S.FAILED, S.FAILED))
    assert verdict.state is PolicyState.MERGED
    assert verdict.missing == ("b0", "b1")


def test_failures_are_named_before_the_cancellations_they_caused() -> None:
    verdict = judge(ALL, branches(S.CANCELLED, S.FAILED, S.CANCELLED))
    assert verdict.reason == "1 failed: b1; 2 cancelled: b0, b2"


def test_a_blocked_run_counts_what_settled_without_success_by_status() -> None:
    verdict = judge(ALL, branches(S.CANCELLED, S.FAILED, S.SUCCEEDED, S.CANCELLED, S.TIMED_OUT))
    assert verdict.unsuccessful_counts == "1 failed, 1 timed out, 2 cancelled"
    counts = verdict.unsuccessful_counts
    state = MergeState(verdict.state, None, verdict.missing, verdict.failed, 0, None, counts)
    assert state.describe() == "blocked: 1 failed, 1 timed out, 2 cancelled — r retries"
