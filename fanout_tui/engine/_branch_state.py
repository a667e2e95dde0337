"""What the scheduler knows of one branch while the run goes on."""

from __future__ import annotations

from typing import Any

import anyio

from fanout_tui.engine._events import BranchReport, BranchStatus, ReusedResult
from fanout_tui.engine._signals import Usage
from fanout_tui.spec import BranchPlan


class BranchRun:
    """The live, mutable record of one branch (owned by the engine, never shared).

    Attempt numbers count every attempt of the branch in this run, across operator
    retries: an operator's retry starts a fresh set of ``retry.attempts`` attempts that
    continues the numbering (attempts 4 to 6 after a first set of 3), so log files and
    journal rows of different attempts never collide, and ``max_attempts`` grows by
    one set so that "attempt n of m" stays true.
    """

    __slots__ = (
        "_report",
        "attempt",
        "attempt_usage",
        "attempts_started",
        "cancel_reason",
        "cancel_status",
        "cancelling",
        "exit_code",
        "generation",
        "last_failure",
        "max_attempts",
        "plan",
        "rate_limited_at",
        "reason",
        "result",
        "reused_from",
        "running",
        "scope",
        "set_started_at",
        "settled_at",
        "status",
        "usage",
        "waiting_on",
    )

    def __init__(self, plan: BranchPlan) -> None:
        self.plan = plan
        self.status = BranchStatus.PENDING
        self.attempt = 1
        """The attempt running, the one waited for, or (settled, retrying) the last one."""
        self.attempts_started = 0
        """Attempts started in this run, across operator retries."""
        self.max_attempts = plan.retry.attempts
        self.reason: str | None = None
        self.waiting_on: str | None = None
        self.result: Any = None
        self.exit_code: int | None = None
        self.reused_from: ReusedResult | None = None
        """The earlier run's result the branch holds, until an operator's retry."""
        self.generation = 0
        """Bumped by each fresh attempt set; a stale attempt loop leaves the branch alone."""
        self.scope: anyio.CancelScope | None = None
        """The cancel scope of the current attempt loop."""
        self.running = False
        """True while an attempt's executor is in progress (cancel then waits for its end)."""
        self.cancelling = False
        self.cancel_reason: str | None = None
        self.cancel_status = BranchStatus.CANCELLED
        """How a cancelled attempt settles the branch: TIMED_OUT when its timeout had
        already fired and its processes were being ended when the cancel came."""
        self.set_started_at: float | None = None
        """Clock time the current attempt set's first attempt started."""
        self.settled_at: float | None = None
        self.last_failure: tuple[BranchStatus, str | None] | None = None
        """How the attempt before a backoff sleep failed (status, reason)."""
        self.rate_limited_at = 0.0
        """Clock time of the last rate-limit signal."""
        self.attempt_usage: Usage | None = None
        """What the current (or last) attempt reported spending."""
        self.usage: Usage | None = None
        """What the branch's attempts reported spending in this run."""
        self._report: BranchReport | None = None

    @property
    def id(self) -> str:
        """The branch id."""
        return self.plan.id

    @property
    def reused(self) -> bool:
        """Whether the branch holds a result reused from an earlier run."""
        return self.reused_from is not None

    def reuse(self, reused: ReusedResult) -> None:
        """Start settled as SUCCEEDED with an earlier run's result."""
        self.status = BranchStatus.SUCCEEDED
        self.reused_from = reused
        self.result = reused.result
        self.attempt = reused.attempts
        self.max_attempts = max(self.max_attempts, reused.attempts)
        self.changed()

    def begin_attempt_set(self, attempts: int) -> int:
        """Prepare a fresh set of ``attempts`` attempts; return the new generation.

        The caller then moves the branch to PENDING.
        """
        self.generation += 1
        self.max_attempts = self.attempts_started + attempts
        self.attempt = self.attempts_started + 1
        self.reason = None
        self.waiting_on = None
        self.reused_from = None
        self.result = None
        self.exit_code = None
        self.cancelling = False
        self.cancel_reason = None
        self.cancel_status = BranchStatus.CANCELLED
        self.set_started_at = None
        self.settled_at = None
        self.scope = anyio.CancelScope()
        self.changed()
        return self.generation

    def changed(self) -> None:
        """Forget the cached report after any change."""
        self._report = None

    def report(self) -> BranchReport:
        """This branch's entry in the results document, as of now."""
        report = self._report
        if report is None:
            reused = self.reused_from
            if reused is not None:
                attempts, duration = reused.attempts, reused.duration_s
            else:
                attempts = self.attempts_started
                duration = (
                    self.settled_at - self.set_started_at
                    if self.settled_at is not None and self.set_started_at is not None
                    else None
                )
            report = BranchReport(
                id=self.plan.id,
                status=self.status,
                result=self.result,
                error=self.reason if self.status.settled else None,
                attempts=attempts,
                duration_s=duration,
                reused=self.reused,
                exit_code=self.exit_code,
                usage=self.usage,
            )
            self._report = report
        return report
