"""The scheduler: runs every branch of a plan under its limits, retries, merges, obeys commands.

One task group holds the run. Each branch's set of attempts is one task with its own
cancel scope, so cancelling a branch cancels exactly its attempt loop; the executor ends
the attempt's process group on the way out. A branch takes its resources (and a slot of
the global cap) from the :class:`~fanout_tui.engine._resources.ResourcePool` for each
attempt and gives them back before any backoff sleep.

Commands (:meth:`Engine.retry`, :meth:`Engine.cancel`, ...) are plain methods called on
the engine's event loop. They act at once where they can: cancelling a branch that is
pending, waiting or retrying settles it immediately; cancelling a running branch leaves it
running until its process group is gone, so an operator's retry can never start a second
attempt beside a dying one.

The merge is recomputed by its own task whenever the set of settled branches changes
(changes in one tick are coalesced), and published as :class:`ResultsChanged`.
"""

from __future__ import annotations

import functools
import os
import random
import sys
import traceback
from collections import deque
from collections.abc import Callable, Mapping
from pathlib import Path

import anyio
import anyio.abc

from fanout_tui.engine import _merge_state as merge_state
from fanout_tui.engine._attempt import AttemptResult, attempt_log_paths, execute_attempt
from fanout_tui.engine._attempt_result import timed_out
from fanout_tui.engine._backoff import backoff_delay
from fanout_tui.engine._branch_state import BranchRun
from fanout_tui.engine._clock import Clock, SystemClock
from fanout_tui.engine._control import Listener
from fanout_tui.engine._events import (
    AttemptEnded,
    AttemptStarted,
    BranchReport,
    BranchStateChanged,
    BranchStatus,
    Event,
    MergeState,
    PolicyState,
    ResultsChanged,
    ReusedResult,
    RunFinished,
    RunOutcome,
)
from fanout_tui.engine._executor import AttemptExecutor, AttemptRunner
from fanout_tui.engine._open_files import capped_concurrency
from fanout_tui.engine._policy import judge, status_words
from fanout_tui.engine._process import GRACE_CUT, GraceCut
from fanout_tui.engine._resources import ResourcePool
from fanout_tui.engine._run_mark import RUN_MARK, end_marked_groups, new_mark
from fanout_tui.engine._synthesis import Synthesis
from fanout_tui.spec import BranchPlan, Masker, MergeStrategy, Plan, PolicyMode

_FINAL_FAILURES = frozenset({BranchStatus.FAILED, BranchStatus.TIMED_OUT})
_CANCELLED = "cancelled"
_PREVIEW_INTERVAL_S = 0.1
"""Shortest time between two merge previews: with hundreds of branches settling every
second, recomputing the merge for each one would cost more than running them."""


class Engine:
    """Runs a plan; implements :class:`fanout_tui.engine._control.EngineControl`.

    Args:
        plan: The expanded plan to run.
        clock: Time for backoff, rates and timeouts (the real clock by default).
        log_dir: Folder for the attempts' full logs, or ``None`` for none.
        reused: Results of an earlier run to reuse: those branches start SUCCEEDED
            (``reused``), are not run, and can still be retried by an operator.
        executor: Runs one attempt; tests inject a scripted one.
        masker: Masks secrets (built from the plan's ``secrets`` by default).
        random: Jitter source, a float in ``[0, 1)`` per call (``random.random``).
        run_env: Variables added to the environment of every process the run starts. The
            rest of that environment is ours, as it is when the engine is made, with
            each branch's ``env`` on top. Every process also carries the run's mark
            (:data:`~fanout_tui.engine._run_mark.RUN_MARK`), fresh unless ``run_env``
            sets it: a journal sets it to its run's id, so that a later resume finds
            what a killed run left behind.

    When the run ends, whatever still carries its mark (a process that left its
    attempt's group, like a daemon) is ended too, its group given the longest of the
    branches' ``kill_grace``.

    A listener that raises is removed after its traceback is printed on stderr once; the
    run goes on. The synthesizer (merge strategy ``synthesis``) runs through the same
    executor with its own timeout and retries, but publishes no branch events: its
    failure is the merge's error.
    """

    def __init__(
        self,
        plan: Plan,
        *,
        clock: Clock | None = None,
        log_dir: Path | None = None,
        reused: Mapping[str, ReusedResult] | None = None,
        executor: AttemptExecutor = execute_attempt,
        masker: Masker | None = None,
        random: Callable[[], float] = random.random,
        run_env: Mapping[str, str] | None = None,
    ) -> None:
        self.plan = plan
        self._clock: Clock = clock or SystemClock()
        self._log_dir = log_dir
        self._masker = masker or Masker.from_environ(plan.secrets)
        # Copying the environment once costs 0.5 ms; every attempt starts from the copy.
        environment = {**os.environ, RUN_MARK: new_mark(), **(run_env or {})}
        self._mark = environment[RUN_MARK]
        self._attempts = AttemptRunner(
            executor, self._masker, self._clock, log_dir, environment=environment
        )
        self._random = random
        self._secret_names = frozenset(plan.secrets)
        self._listeners: tuple[Listener, ...] = ()
        self._emitting = False
        self._backlog: deque[Event] = deque()
        self._order = tuple(BranchRun(branch) for branch in plan.branches)
        self._branches = {run.id: run for run in self._order}
        for branch_id, result in (reused or {}).items():
            if branch_id in self._branches:
                self._branches[branch_id].reuse(result)
        self._fingerprints: dict[str, str] = {}
        self._pool = ResourcePool(
            plan.resources, capped_concurrency(plan.concurrency, len(plan.branches)), self._clock
        )
        self._merge = MergeState(
            state=PolicyState.WAITING,
            merged=None,
            missing=tuple(run.id for run in self._order),
            failed=(),
            active=len(self._order),
        )
        self._merge_dirty = True
        self._merge_wake: anyio.Event | None = None
        self._merge_pause: anyio.CancelScope | None = None
        self._unsettled = sum(1 for run in self._order if not run.status.settled)
        self._synthesis = (
            Synthesis(
                plan,
                attempts=self._attempts,
                pool=self._pool,
                random=random,
                publish=self._publish,
                settled=self._check_done,
            )
            if plan.merge.strategy is MergeStrategy.SYNTHESIS
            else None
        )
        self._tg: anyio.abc.TaskGroup | None = None
        self._done: anyio.Event | None = None
        self._started = False
        self._finished = False
        self._stay_open = False
        self._live = 0
        self._shutting_down = False
        self._interrupted = False
        self._grace_cut = GraceCut()
        self._satisfied_at_shutdown = False
        self._started_wall: float | None = None
        self._started_at: float | None = None
        self._ended_at: float | None = None

    # --- events ---------------------------------------------------------------------------

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(event)`` for every event from now on, in order."""
        self._listeners = (*self._listeners, listener)

    def _emit(self, event: Event) -> None:
        if self._emitting:  # a listener gave a command: its events follow, in order
            self._backlog.append(event)
            return
        self._emitting = True
        try:
            self._deliver(event)
            while self._backlog:
                self._deliver(self._backlog.popleft())
        finally:
            self._emitting = False

    def _deliver(self, event: Event) -> None:
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:
                self._drop_listener(listener)

    def _drop_listener(self, listener: Listener) -> None:
        self._listeners = tuple(other for other in self._listeners if other is not listener)
        print(
            f"fanout-tui: an event listener failed and receives no more events: {listener!r}",
            file=sys.stderr,
        )
        traceback.print_exc(file=sys.stderr)

    def _set(
        self,
        run: BranchRun,
        status: BranchStatus,
        *,
        reason: str | None = None,
        waiting_on: str | None = None,
    ) -> None:
        if run.status.settled != status.settled:
            self._unsettled += 1 if run.status.settled else -1
        run.status = status
        run.reason = reason
        run.waiting_on = waiting_on
        run.changed()
        self._emit(
            BranchStateChanged(
                run.id,
                status,
                run.attempt,
                run.max_attempts,
                self._clock.now(),
                reason,
                waiting_on,
                run.reused_from,
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
        self._merge_changed()
        if (
            status in _FINAL_FAILURES
            and self.plan.policy.mode is PolicyMode.ALL_OR_NOTHING
            and self.plan.policy.fail_fast
            and not self._shutting_down
        ):
            why = f"cancelled: {run.id} {status_words(status)} and fail_fast is set"
            for other in self._order:
                if other.status.cancellable:
                    self._cancel(other, why)

    # --- the run --------------------------------------------------------------------------

    async def run(self, *, stay_open: bool = False) -> RunOutcome:
        """Run the plan (see :meth:`fanout_tui.engine._control.EngineControl.run`).

        Raises:
            RuntimeError: The engine already ran; an engine runs once.
        """
        if self._started:
            raise RuntimeError("an engine runs its plan once")
        self._started = True
        self._stay_open = stay_open
        self._started_wall = self._clock.wall()
        self._started_at = self._clock.now()
        self._done = anyio.Event()
        self._merge_wake = anyio.Event()
        grace_cut = GRACE_CUT.set(self._grace_cut)  # for every task started from here
        try:
            if not self._shutting_down:
                async with anyio.create_task_group() as tg:
                    self._tg = tg
                    if self._pool.has_rates:
                        tg.start_soon(self._pool.run_refill_timer)
                    tg.start_soon(self._merge_loop)
                    for run in self._order:
                        if run.reused:
                            self._set(run, BranchStatus.SUCCEEDED)
                        elif run.status is BranchStatus.PENDING:
                            self._start(run)
                    self._merge_wake.set()
                    await self._done.wait()
                    if self._shutting_down:
                        # Escaped processes get their grace alongside the branches' groups
                        # (which their branches end themselves), not after them.
                        await tg.start(self._end_escaped, True)
                    tg.cancel_scope.cancel()
        finally:
            self._tg = None
            self._finished = True
            self._ended_at = self._clock.now()
            try:
                await self._end_escaped()  # what escaped since, or while nothing was ending
            finally:
                GRACE_CUT.reset(grace_cut)
        if self._merge_dirty:
            self._recompute()
        outcome = self.outcome()
        self._emit(RunFinished(outcome))
        return outcome

    async def _end_escaped(
        self,
        escaped_only: bool = False,
        *,
        task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        """End the process groups of the run's marked processes, shielded (see
        :func:`~fanout_tui.engine._run_mark.end_marked_groups`)."""
        with anyio.CancelScope(shield=True):
            task_status.started()
            grace_s = max((branch.kill_grace_s for branch in self.plan.branches), default=0)
            await end_marked_groups(self._mark, grace_s, escaped_only=escaped_only)

    def _start(self, run: BranchRun) -> None:
        """Begin a fresh set of attempts for ``run`` in the run's task group."""
        assert self._tg is not None
        generation = run.begin_attempt_set(run.plan.retry.attempts)
        self._set(run, BranchStatus.PENDING)
        self._live += 1
        self._tg.start_soon(self._drive, run, generation, run.scope)

    async def _drive(
        self, run: BranchRun, generation: int, scope: anyio.CancelScope | None
    ) -> None:
        assert scope is not None
        try:
            with scope:
                await self._attempt_set(run, generation)
        finally:
            if run.generation == generation and run.status.cancellable:
                self._settle(run, run.cancel_status, run.cancel_reason or _CANCELLED)
            self._live -= 1
            self._check_done()

    async def _attempt_set(self, run: BranchRun, generation: int) -> None:
        branch = run.plan
        on_wait = functools.partial(self._waiting, run, generation)
        failures = 0
        while True:
            run.attempt = run.attempts_started + 1
            with await self._pool.acquire(branch.uses, on_wait=on_wait):
                if run.generation != generation or run.cancelling:
                    return  # cancelled while its cancellation is still on its way
                result, ended = await self._run_attempt(run)
            run.exit_code = result.exit_code
            if result.status is BranchStatus.SUCCEEDED:
                run.result = result.result
                self._settle(run, BranchStatus.SUCCEEDED, at=ended)
                return
            if run.attempts_started >= run.max_attempts:
                self._settle(run, result.status, result.reason, at=ended)
                return
            failures += 1
            self._set(run, BranchStatus.RETRYING, reason=result.reason)
            await self._clock.sleep(backoff_delay(branch.retry, failures, self._random))

    def _waiting(self, run: BranchRun, generation: int, waiting_on: str) -> None:
        if run.generation == generation and not run.cancelling:
            self._set(run, BranchStatus.WAITING, waiting_on=waiting_on)

    async def _run_attempt(self, run: BranchRun) -> tuple[AttemptResult, float]:
        """Run one attempt of ``run``; return its result and the clock time it ended (a
        branch it settles reports the same duration as its one attempt)."""
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
        run.running = True
        try:
            result = await self._attempts(run.plan, attempt, emit=self._emit)
        except anyio.get_cancelled_exc_class():
            ended = self._clock.now()
            timeout_s = run.plan.timeout_s
            if timeout_s is not None and ended - started >= timeout_s:
                # Its timeout fired first; the cancel only came while its group was ending.
                run.cancel_status = BranchStatus.TIMED_OUT
                run.cancel_reason = timed_out(run.plan).reason
            why = run.cancel_reason or _CANCELLED
            self._emit(
                AttemptEnded(run.id, attempt, run.cancel_status, ended, ended - started, why)
            )
            raise
        finally:
            run.running = False
        ended = self._clock.now()
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
            )
        )
        return result, ended

    def _fingerprint(self, branch: BranchPlan) -> str:
        fingerprint = self._fingerprints.get(branch.id)
        if fingerprint is None:
            fingerprint = self._fingerprints[branch.id] = branch.fingerprint(self._secret_names)
        return fingerprint

    def _check_done(self) -> None:
        if (
            not self._stay_open
            and self._done is not None
            and self._live == 0
            and not self._merge_dirty
            and not (self._synthesis is not None and self._synthesis.running)
        ):
            self._done.set()

    # --- the merge ------------------------------------------------------------------------

    def _merge_changed(self) -> None:
        if not self._merge_dirty:
            self._merge_dirty = True
            if self._merge_wake is not None:
                self._merge_wake.set()
        if not self._unsettled and self._merge_pause is not None:
            self._merge_pause.cancel()  # the last branch settled: the final merge is due now

    async def _merge_loop(self) -> None:
        """Recompute the merge after changes; at most every ``_PREVIEW_INTERVAL_S`` while
        branches are still active (a preview), at once when the last one settles."""
        while True:
            assert self._merge_wake is not None
            await self._merge_wake.wait()
            self._merge_wake = anyio.Event()
            if self._merge_dirty:
                self._recompute()
            self._check_done()
            if self._unsettled:
                with anyio.CancelScope() as pause:
                    self._merge_pause = pause
                    await self._clock.sleep(_PREVIEW_INTERVAL_S)
                self._merge_pause = None

    def _reports(self) -> list[BranchReport]:
        return [run.report() for run in self._order]

    def _recompute(self) -> None:
        self._merge_dirty = False
        reports = self._reports()
        verdict = judge(self.plan.policy, reports)
        merge = self.plan.merge
        if verdict.state is not PolicyState.MERGED:
            if self._synthesis is not None:
                self._synthesis.stop()
            state = merge_state.undecided(verdict, merge, reports)
        elif self._shutting_down and not self._satisfied_at_shutdown:
            state = merge_state.cut_short(verdict, merge, reports, self._cut_short_reason())
        elif self._synthesis is not None:
            task_group = None if self._shutting_down else self._tg
            state = self._synthesis.state_for(verdict, reports, task_group)
        else:
            state = merge_state.combined(verdict, merge, reports)
        self._publish(state)

    def _cut_short_reason(self) -> str:
        how = "interrupted" if self._interrupted else "shut down"
        return f"the run was {how} before the policy was satisfied"

    def _publish(self, state: MergeState) -> None:
        if state.error is not None:
            state = MergeState(
                state.state,
                state.merged,
                state.missing,
                state.failed,
                state.active,
                self._masker.mask(state.error),
            )
        self._merge = state
        self._emit(ResultsChanged(state))

    # --- commands -------------------------------------------------------------------------

    def retry(self, branch_id: str) -> bool:
        """Start a fresh set of attempts for a failed, timed-out, cancelled or reused branch.

        Does nothing (returns False) for an unknown id, a branch that is active or
        succeeded in this run, or when the run is not going on.
        """
        run = self._branches.get(branch_id)
        if run is None or not self._accepts_commands():
            return False
        if not (run.status.retryable or (run.status is BranchStatus.SUCCEEDED and run.reused)):
            return False
        self._start(run)
        self._merge_changed()
        return True

    def cancel(self, branch_id: str) -> bool:
        """Cancel a pending, waiting, retrying or running branch (never retried after).

        A running branch stays ``running`` until its process group is gone, then settles
        ``cancelled``; the others settle at once. Cancelling again does nothing.
        """
        run = self._branches.get(branch_id)
        if run is None or not run.status.cancellable or run.cancelling:
            return False
        self._cancel(run, _CANCELLED)
        return True

    def _cancel(self, run: BranchRun, reason: str) -> None:
        if run.cancelling:
            return
        run.cancelling = True
        run.cancel_reason = reason
        if run.scope is not None:
            run.scope.cancel()
        if not run.running:
            self._settle(run, BranchStatus.CANCELLED, reason)

    def retry_failed(self) -> int:
        """Retry every failed, timed-out or cancelled branch; return how many."""
        return sum(self.retry(run.id) for run in self._order if run.status.retryable)

    def cancel_all(self) -> int:
        """Cancel every active branch; return how many."""
        return sum(self.cancel(run.id) for run in self._order if run.status.cancellable)

    def shutdown(self, *, interrupted: bool = False, kill_now: bool = False) -> None:
        """Cancel everything and make :meth:`run` return (see ``EngineControl.shutdown``)."""
        if kill_now:
            self._grace_cut.cut()
        if self._finished:
            return
        if not self._shutting_down:
            self._shutting_down = True
            self._satisfied_at_shutdown = self._merge.state is PolicyState.MERGED
        self._interrupted = self._interrupted or interrupted
        how = "interrupted" if self._interrupted else "shut down"
        for run in self._order:
            if run.status.cancellable:
                self._cancel(run, f"cancelled: the run was {how}")
        if self._synthesis is not None:
            self._synthesis.stop()
        if self._done is not None:
            self._done.set()

    def _accepts_commands(self) -> bool:
        return (
            self._tg is not None
            and not self._shutting_down
            and self._done is not None
            and not self._done.is_set()
        )

    # --- the outcome ----------------------------------------------------------------------

    def outcome(self) -> RunOutcome:
        """The run as of now: every branch's report, the merge and the exit code so far."""
        if self._merge_dirty and self._started:
            self._recompute()
        now = self._ended_at if self._ended_at is not None else self._clock.now()
        started_at = self._started_at if self._started_at is not None else now
        return RunOutcome(
            name=self.plan.name,
            branches=tuple(self._reports()),
            merge=self._merge,
            exit_code=merge_state.exit_code(self._merge, interrupted=self._interrupted),
            started_at=self._started_wall if self._started_wall is not None else self._clock.wall(),
            duration_s=now - started_at,
        )
