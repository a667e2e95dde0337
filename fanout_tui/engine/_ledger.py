"""The usage ledger: what attempts reported spending, per branch and for the run, and the
run's budget (past it, no new attempt starts)."""

from __future__ import annotations

from fanout_tui.engine._signals import Usage
from fanout_tui.spec import Budget

BUDGET_REACHED = "budget reached"
"""The reason of a branch that did not start because the run's budget was spent."""


class UsageLedger:
    """Sums reported usage per branch and for the whole run.

    Args:
        budget: The run's budget, if it has one.
    """

    def __init__(self, budget: Budget | None) -> None:
        self._budget = budget
        self._branches: dict[str, Usage] = {}
        self.total = Usage()
        """Everything the run reported spending so far."""

    def add(self, branch_id: str, usage: Usage) -> Usage:
        """Count ``usage`` for ``branch_id``; return the branch's total so far."""
        branch_total = self._branches.get(branch_id, Usage()) + usage
        self._branches[branch_id] = branch_total
        self.total += usage
        return branch_total

    def of(self, branch_id: str) -> Usage | None:
        """What ``branch_id`` reported spending in this run (``None``: nothing)."""
        return self._branches.get(branch_id)

    @property
    def exhausted(self) -> bool:
        """True once the run's reported usage has reached its budget."""
        budget = self._budget
        if budget is None:
            return False
        return (budget.tokens is not None and self.total.tokens >= budget.tokens) or (
            budget.cost_usd is not None and self.total.cost_usd >= budget.cost_usd
        )
