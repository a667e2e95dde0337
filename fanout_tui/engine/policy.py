"""The failure policy: is what settled enough to merge?"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from fanout_tui.engine.events import BranchReport, PolicyState
from fanout_tui.spec.plan import PolicyPlan


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the policy says of the branches now: WAITING, MERGED (satisfied) or BLOCKED."""

    state: PolicyState
    missing: tuple[str, ...]
    failed: tuple[str, ...]
    active: int
    reason: str | None = None


def judge(policy: PolicyPlan, branches: Sequence[BranchReport]) -> Verdict:
    """Judge ``branches`` (every branch, declared order) against ``policy``."""
    raise NotImplementedError
