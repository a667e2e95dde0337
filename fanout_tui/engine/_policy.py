"""The failure policy: is what settled enough to merge?

``all_or_nothing`` is satisfied when every branch succeeded and blocked as soon as one
settled without success. ``best_effort`` waits until every branch settled, then is
satisfied when at least ``min_success`` succeeded (the others are flagged as missing).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from fanout_tui.engine._events import BranchReport, BranchStatus, PolicyState
from fanout_tui.spec import PolicyMode, PolicyPlan


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the policy says of the branches now: WAITING, MERGED (satisfied) or BLOCKED."""

    state: PolicyState
    missing: tuple[str, ...]
    """Every branch that did not succeed (settled or not), in declared order."""
    failed: tuple[str, ...]
    """Every branch settled without success, in declared order."""
    active: int
    """How many branches have not settled."""
    reason: str | None = None
    """Why the policy is blocked, in one sentence (``None`` otherwise)."""
    unsuccessful_counts: str = ""
    """The settled, unsuccessful branches counted by status: ``"1 failed, 2 cancelled"``."""


def judge(policy: PolicyPlan, branches: Sequence[BranchReport]) -> Verdict:
    """Judge ``branches`` (every branch, declared order) against ``policy``."""
    missing = tuple(b.id for b in branches if b.status is not BranchStatus.SUCCEEDED)
    unsuccessful = [
        b for b in branches if b.status.settled and b.status is not BranchStatus.SUCCEEDED
    ]
    failed = tuple(b.id for b in unsuccessful)
    active = sum(1 for b in branches if not b.status.settled)

    by_status = _by_status(unsuccessful)
    counts = ", ".join(f"{len(ids)} {status_words(status)}" for status, ids in by_status.items())

    def verdict(state: PolicyState, reason: str | None = None) -> Verdict:
        return Verdict(state, missing, failed, active, reason, counts)

    if policy.mode is PolicyMode.ALL_OR_NOTHING:
        if unsuccessful:
            return verdict(PolicyState.BLOCKED, describe_failures(unsuccessful))
        return verdict(PolicyState.MERGED if active == 0 else PolicyState.WAITING)

    if active:
        return verdict(PolicyState.WAITING)
    succeeded = len(branches) - len(missing)
    if succeeded >= policy.min_success:
        return verdict(PolicyState.MERGED)
    return verdict(
        PolicyState.BLOCKED,
        f"only {succeeded} of {len(branches)} succeeded, {policy.min_success} needed",
    )


def describe_failures(branches: Sequence[BranchReport]) -> str:
    """Name settled, unsuccessful ``branches`` grouped by status: ``"2 failed: a, b"``.

    Failures come first, then timeouts, then cancellations (usually their consequence),
    each with its branches in declared order: ``"2 failed: a, b; 1 cancelled: c"``.
    """
    return "; ".join(
        f"{len(ids)} {status_words(status)}: {', '.join(ids)}"
        for status, ids in _by_status(branches).items()
    )


def _by_status(branches: Sequence[BranchReport]) -> dict[BranchStatus, list[str]]:
    """Branch ids by status, statuses in their declared order (failures first)."""
    groups: dict[BranchStatus, list[str]] = {}
    for branch in branches:
        groups.setdefault(branch.status, []).append(branch.id)
    return {status: groups[status] for status in BranchStatus if status in groups}


def status_words(status: BranchStatus) -> str:
    """A status as words in a sentence (``timed_out`` → ``timed out``)."""
    return str(status).replace("_", " ")
