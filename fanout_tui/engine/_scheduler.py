"""The scheduler: admits each branch's attempts under its limits, runs them, retries them.

Each branch's set of attempts is one task in the run's task group, with its own cancel
scope, so cancelling a branch cancels exactly its attempt loop; the executor ends the
attempt's process group on the way out. A branch takes its resources (and a slot of the
global cap) from the :class:`~fanout_tui.engine._resources.ResourcePool` for each attempt
and gives them back before any backoff sleep. Attempts run through the
:class:`~fanout_tui.engine._executor.AttemptRunner`, never by starting a process here.

Cancelling a branch that is pending, waiting or retrying settles it at once; a running
branch stays running until its attempt is gone, so a retry can never start a second
attempt beside a dying one.

An attempt's signals (:mod:`._attempt_signals`) act at once: a rate limit pauses every
resource the branch uses until its retry-after, and usage corrects the token estimate and
goes into the ledger (:mod:`._ledger`); once the run's budget is spent, no new attempt
starts. ``retry.on`` decides which failures retry.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path

import anyio
import anyio.abc

from fanout_tui.engine._attempt import AttemptResult, attempt_log_paths
from fanout_tui.engine._attempt_result import timed_out
from fanout_tui.engine._attempt_signals import AttemptSignals
from fanout_tui.engine._backoff import backoff_delay
from fanout_tui.engine._branch_state import BranchRun
from fanout_tui.engine._clock import Clock
from fanout_tui.engine._events import (
    AttemptEnded,
    AttemptStarted,
    BranchReport,
    BranchStateChanged,
    BranchStatus,
    Event,
    ReusedResult,
)
from fanout_tui.engine._executor import AttemptRunner
from fanout_tui.engine._ledger import BUDGET_REACHED, UsageLedger
from fanout_tui.engine._limit import Lease, Wait
from fanout_tui.engine._policy import status_words
from fanout_tui.engine._resource_events import UsageReported
from fanout_tui.engine._resource_watch import ResourceWatch, rate_limited_reason
from fanout_tui.engine._resources import ResourcePool
from fanout_tui.engine._signals import RateLimited, Usage
from fanout_tui.spec import BranchPlan, Plan, PolicyMode

CANCELLED = "cancelled"
"""The reason of a branch an operator cancelled."""
_FINAL_FAILURES = frozenset({BranchStatus.FAILED, BranchStatus.TIMED_OUT})


class Scheduler:
    """Every branch of a plan and the attempt loops that run them.

    Args:
        plan: The plan.
        attempts: Runs one attempt.
        pool: The global cap and the named resources.
        clock: Time for backoff and durations.
        random: Jitter source for backoff.
        log_dir: Folder of the attempts' logs (named in ``AttemptStarted``).
        emit: Publishes the engine's events.
        settled: Called after a branch settles or an operator's retry unsettles one.
        idle: Called when an attempt loop ends (the run may be done).
        reused: Results of an earlier run that some branches start with.
    """

    def __init__(
        self,
        plan: Plan,
        *,
        attempts: AttemptRunner,
        pool: ResourcePool,
        clock: Clock,
        random: Callable[[], float],
        log_dir: Path | None,
        emit: Callable[[Event], None],
        settled: Callable[[], None],
        idle: Callable[[], None],
        reused: Mapping[str, ReusedResult],
    ) -> None:
        self._plan = plan
        self._attempts = attempts
        self._pool = pool
        self._clock = clock
        self._random = random
        self._log_dir = log_dir
        self._emit = emit
        self._settled = settled
        self._idle = idle
        self._secret_names = frozenset(plan.secrets)
        self._fingerprints: dict[str, str] = {}
        self.order = tuple(BranchRun(branch) for branch in plan.branches)
        """Every branch, in declared order."""
        self.branches = {run.id: run for run in self.order}
        for branch_id, result in reused.items():
            if branch_id in self.branches:
                self.branches[branch_id].reuse(result)
        self.unsettled = sum(1 for run in self.order if not run.status.settled)
        """Branches not settled now."""
        self.live = 0
        """Attempt loops running now."""
        self.task_group: anyio.abc.TaskGroup | None = None
        """Where attempt loops start (set while the run goes on)."""
        self.shutting_down = False
        """True once the run is ending: fail-fast cancels nothing more."""
        self.ledger = UsageLedger(plan.budget)
        """What the run's attempts reported spending."""
        self._watch = ResourceWatch(pool, clock, emit)

    def reports(self) -> list[BranchReport]:
        """Every branch's report, as of now, in declared order."""
        return [run.report() for run in self.order]

    def begin(self) -> None:
        """Start the run: reused branches succeed, pending ones start their attempts."""
        assert self.task_group is not None
        if self._pool.names:
            self.task_group.start_soon(self._watch.run_ticker)
        for run in self.order:
            if run.reused:
                self._set(run, BranchStatus.SUCCEEDED)
            elif run.status is BranchStatus.PENDING:
                self.start(run)

    def start(self, run: BranchRun) -> None:
        """Begin a fresh set of attempts for ``run`` in the run's task group."""
        assert self.task_group is not None
        generation = run.begin_attempt_set(run.plan.retry.attempts)
        self._set(run, BranchStatus.PENDING)
        self.live += 1
        self.task_group.start_soon(self._drive, run, generation, run.scope)

    def cancel(self, run: BranchRun, reason: str) -> None:
        """Cancel ``run`` (a running one settles once its attempt is gone)."""
        if run.cancelling:
            return
        run.cancelling = True
        run.cancel_reason = reason
        if run.scope is not None:
            run.scope.cancel()
        if not run.running:
            self._settle(run, run.cancel_status, reason)

    def _set(
        self,
        run: BranchRun,
        status: BranchStatus,
        *,
        reason: str | None = None,
        waiting_on: Wait | None = None,
    ) -> None:
        if run.status.settled != status.settled:
            self.unsettled += 1 if run.status.settled else -1
        run.status = status
        run.reason = reason
        run.waiting_on = None if waiting_on is None else waiting_on.name
        run.changed()
        self._emit(
            BranchStateChanged(
                run.id,
                status,
                run.attempt,
                run.max_attempts,
                self._clock.now(),
                reason,
                run.waiting_on,
                run.reused_from,
                waiting_on_global_cap=waiting_on is not None and waiting_on.global_cap,
            )
        )

    def _settle(
        self,
        run: BranchRun,
        status: BranchStatus,
        reason: str | None = None,
        *,
        at: float | None = None,
    ) -> None:
        """Settle ``run`` as ``status``; ``at``: when its last attempt ended (default now)."""
        run.settled_at = self._clock.now() if at is None else at
        self._set(run, status, reason=reason)
        self._settled()
        policy = self._plan.policy
        if (
            status in _FINAL_FAILURES
            and policy.mode is PolicyMode.ALL_OR_NOTHING
            and policy.fail_fast
            and not self.shutting_down
        ):
            why = f"cancelled: {run.id} {status_words(status)} and fail_fast is set"
            for other in self.order:
                if other.status.cancellable:
                    self.cancel(other, why)

    async def _drive(
        self, run: BranchRun, generation: int, scope: anyio.CancelScope | None
    ) -> None:
        assert scope is not None
        try:
            with scope:
                await self._attempt_set(run, generation)
        finally:
            if run.generation == generation and run.status.cancellable:
                self._settle(run, run.cancel_status, run.cancel_reason or CANCELLED)
            self.live -= 1
            self._idle()

    async def _attempt_set(self, run: BranchRun, generation: int) -> None:
        branch = run.plan
        on_wait = functools.partial(self._waiting, run, generation)
        failures = 0
        last: AttemptResult | None = None
        while True:
            run.attempt = run.attempts_started + 1
            if self.ledger.exhausted:
                self._stop_for_budget(run, last)
                return
            lease = await self._pool.acquire(
                branch.uses, on_wait=on_wait, tokens=branch.cost_tokens
            )
            with lease:
                if run.generation != generation or run.cancelling:
                    return  # cancelled while its cancellation is still on its way
                if self.ledger.exhausted:  # spent while this branch waited
                    self._stop_for_budget(run, last)
                    return
                result, ended, signals = await self._run_attempt(run, lease)
            self._watch.changed()
            run.exit_code = result.exit_code
            if result.status is BranchStatus.SUCCEEDED:
                self._pool.succeeded(branch.uses)
                run.result = result.result
                self._settle(run, BranchStatus.SUCCEEDED, at=ended)
                return
            last = result
            kind = "rate_limited" if signals.rate_limited is not None else result.kind
            if (
                result.permanent
                or run.attempts_started >= run.max_attempts
                or not branch.retry.retries(kind, result.exit_code)
            ):
                self._settle(run, result.status, result.reason, at=ended)
                return
            failures += 1
            run.last_failure = (result.status, result.reason)
            self._set(run, BranchStatus.RETRYING, reason=result.reason)
            delay = backoff_delay(branch.retry, failures, self._random)
            pause = signals.rate_limited.retry_after_s if signals.rate_limited else None
            if pause is not None:
                delay = max(delay, run.rate_limited_at + pause - self._clock.now())
            await self._clock.sleep(delay)

    def _stop_for_budget(self, run: BranchRun, last: AttemptResult | None) -> None:
        """The budget is spent: a branch that never ran is cancelled, one that failed keeps
        its failure (it is not retried)."""
        if last is None:
            self._settle(run, BranchStatus.CANCELLED, BUDGET_REACHED)
        else:
            self._settle(run, last.status, f"{last.reason}; {BUDGET_REACHED}, not retried")

    def _waiting(self, run: BranchRun, generation: int, waiting_on: Wait) -> None:
        if run.generation == generation and not run.cancelling:
            self._set(run, BranchStatus.WAITING, waiting_on=waiting_on)

    async def _run_attempt(
        self, run: BranchRun, lease: Lease
    ) -> tuple[AttemptResult, float, AttemptSignals]:
        """Run one attempt of ``run``; return its result, the clock time it ended (a branch
        it settles reports the same duration as its one attempt) and its signals."""
        run.attempts_started += 1
        attempt = run.attempt = run.attempts_started
        started = self._clock.now()
        if run.set_started_at is None:
            run.set_started_at = started
        stdout_log, stderr_log = attempt_log_paths(self._log_dir, run.id, attempt)
        self._emit(
            AttemptStarted(
                run.id, attempt, started, self._fingerprint(run.plan), stdout_log, stderr_log
            )
        )
        self._set(run, BranchStatus.RUNNING)
        self._watch.changed()
        run.running = True
        run.attempt_usage = None
        signals = AttemptSignals(
            self._emit,
            rate_limited=functools.partial(self._rate_limited, run),
            usage=functools.partial(self._usage, run, attempt, lease),
            began=lambda: lease.began(self._clock.now()),
        )
        try:
            result = await self._attempts(run.plan, attempt, emit=signals)
        except anyio.get_cancelled_exc_class():
            ended = self._clock.now()
            timeout_s = run.plan.timeout_s
            if timeout_s is not None and ended - started >= timeout_s:
                # Its timeout fired first; the cancel only came while its group was ending.
                run.cancel_status = BranchStatus.TIMED_OUT
                run.cancel_reason = timed_out(run.plan).reason
            why = run.cancel_reason or CANCELLED
            self._emit(
                AttemptEnded(
                    run.id,
                    attempt,
                    run.cancel_status,
                    ended,
                    ended - started,
                    why,
                    usage=signals.usage,
                )
            )
            raise
        finally:
            run.running = False
        ended = self._clock.now()
        rate_limited = signals.rate_limited is not None and result.status is BranchStatus.FAILED
        if rate_limited and signals.rate_limited is not None:
            result = replace(result, reason=rate_limited_reason(signals.rate_limited))
        self._emit(
            AttemptEnded(
                run.id,
                attempt,
                result.status,
                ended,
                ended - started,
                result.reason,
                result.exit_code,
                result.result,
                usage=signals.usage,
                rate_limited=rate_limited,
            )
        )
        return result, ended, signals

    # --- signals and resources ----------------------------------------------------------

    def _rate_limited(self, run: BranchRun, signal: RateLimited) -> None:
        run.rate_limited_at = self._clock.now()
        self._watch.rate_limited(run.plan.uses, signal, by=run.id, task_group=self.task_group)

    def _usage(self, run: BranchRun, attempt: int, lease: Lease, usage: Usage) -> None:
        """Count what an attempt reported spending; past the budget, stop new attempts."""
        run.attempt_usage = usage if run.attempt_usage is None else run.attempt_usage + usage
        lease.spent(run.attempt_usage.tokens)
        was_exhausted = self.ledger.exhausted
        run.usage = branch_total = self.ledger.add(run.id, usage)
        run.changed()
        self._emit(UsageReported(run.id, attempt, usage, branch_total, self.ledger.total))
        self._watch.changed()
        if self.ledger.exhausted and not was_exhausted:
            for other in self.order:
                if other.status is BranchStatus.RETRYING and other.last_failure is not None:
                    # it ran and failed: it keeps its failure, it is just not retried
                    status, reason = other.last_failure
                    other.cancel_status = status
                    self.cancel(other, f"{reason}; {BUDGET_REACHED}, not retried")
                elif other.status.cancellable and not other.running:
                    self.cancel(other, BUDGET_REACHED)

    def _fingerprint(self, branch: BranchPlan) -> str:
        fingerprint = self._fingerprints.get(branch.id)
        if fingerprint is None:
            fingerprint = self._fingerprints[branch.id] = branch.fingerprint(self._secret_names)
        return fingerprint
