"""The engine: runs every branch of a plan, merges their results, publishes events, obeys
commands.

It wires three parts together and owns the run's lifetime (one task group):

* the :class:`~fanout_tui.engine._scheduler.Scheduler` admits, runs and retries each
  branch's attempts through an :class:`~fanout_tui.engine._executor.Executor`;
* the :class:`~fanout_tui.engine._merge_loop.MergeLoop` recomputes the merged result
  when the set of settled branches changes;
* the :class:`~fanout_tui.engine._bus.EventBus` delivers every event to synchronous
  listeners and to bounded event streams.

Commands (:meth:`Engine.retry`, :meth:`Engine.cancel`, ...) are plain methods called on
the engine's event loop. They act at once where they can: cancelling a branch that is
pending, waiting or retrying settles it immediately; cancelling a running branch leaves it
running until its process group is gone, so an operator's retry can never start a second
attempt beside a dying one.
"""

from __future__ import annotations

import functools
import os
import random
from collections.abc import Callable, Mapping
from pathlib import Path

import anyio
import anyio.abc

from fanout_tui.engine import _merge_state as merge_state
from fanout_tui.engine._bus import DEFAULT_BUFFER, EventBus, EventStream
from fanout_tui.engine._clock import Clock, SystemClock
from fanout_tui.engine._control import Listener
from fanout_tui.engine._events import BranchStatus, ReusedResult, RunFinished, RunOutcome
from fanout_tui.engine._executor import AttemptRunner, Executor, LocalExecutor
from fanout_tui.engine._merge_loop import MergeLoop
from fanout_tui.engine._open_files import capped_concurrency
from fanout_tui.engine._resources import ResourcePool
from fanout_tui.engine._run_mark import RUN_MARK, new_mark
from fanout_tui.engine._scheduler import CANCELLED, Scheduler
from fanout_tui.spec import Masker, Plan


class Engine:
    """Runs a plan; implements :class:`fanout_tui.engine._control.EngineControl`.

    Args:
        plan: The expanded plan to run.
        clock: Time for backoff, rates and timeouts (the real clock by default).
        log_dir: Folder for the attempts' full logs, or ``None`` for none.
        reused: Results of an earlier run to reuse: those branches start SUCCEEDED
            (``reused``), are not run, and can still be retried by an operator.
        executor: Where attempts run (:class:`~fanout_tui.engine._executor.LocalExecutor`,
            subprocesses here, by default); tests inject a scripted one.
        masker: Masks secrets (built from the plan's ``secrets`` by default).
        random: Jitter source, a float in ``[0, 1)`` per call (``random.random``).
        run_env: Variables added to the environment of every process the run starts. The
            rest of that environment is ours, as it is when the engine is made, with
            each branch's ``env`` on top. Every process also carries the run's mark
            (:data:`~fanout_tui.engine._run_mark.RUN_MARK`), fresh unless ``run_env``
            sets it: a journal sets it to its run's id, so that a later resume finds
            what a killed run left behind.

    When the run ends, whatever still carries its mark (a process that left its
    attempt's group, like a daemon) is ended too by the executor, its group given the
    longest of the branches' ``kill_grace``.

    Events go to listeners (:meth:`add_listener`) and streams (:meth:`events`); see
    :mod:`fanout_tui.engine._bus` for which consumer wants which. The synthesizer (merge
    strategy ``synthesis``) runs through the same executor with its own timeout and
    retries, but publishes no branch events: its failure is the merge's error.
    """

    def __init__(
        self,
        plan: Plan,
        *,
        clock: Clock | None = None,
        log_dir: Path | None = None,
        reused: Mapping[str, ReusedResult] | None = None,
        executor: Executor | None = None,
        masker: Masker | None = None,
        random: Callable[[], float] = random.random,
        run_env: Mapping[str, str] | None = None,
    ) -> None:
        self.plan = plan
        self._clock: Clock = clock or SystemClock()
        self._masker = masker or Masker.from_environ(plan.secrets)
        self._executor: Executor = executor or LocalExecutor()
        # Copying the environment once costs 0.5 ms; every attempt starts from the copy.
        environment = {**os.environ, RUN_MARK: new_mark(), **(run_env or {})}
        self._mark = environment[RUN_MARK]
        attempts = AttemptRunner(
            self._executor, self._masker, self._clock, log_dir, environment=environment
        )
        self._bus = EventBus()
        self._pool = pool = ResourcePool(
            plan.resources, capped_concurrency(plan.concurrency, len(plan.branches)), self._clock
        )
        self._scheduler = Scheduler(
            plan,
            attempts=attempts,
            pool=pool,
            clock=self._clock,
            random=random,
            log_dir=log_dir,
            emit=self._bus.publish,
            settled=self._merge_changed,
            idle=self._check_done,
            reused=reused or {},
        )
        self._merge = MergeLoop(
            plan,
            reports=self._scheduler.reports,
            emit=self._bus.publish,
            masker=self._masker,
            clock=self._clock,
            attempts=attempts,
            pool=pool,
            random=random,
            settled=self._check_done,
        )
        self._tg: anyio.abc.TaskGroup | None = None
        self._done: anyio.Event | None = None
        self._started = False
        self._finished = False
        self._stay_open = False
        self._shutting_down = False
        self._interrupted = False
        self._started_wall: float | None = None
        self._started_at: float | None = None
        self._ended_at: float | None = None

    # --- events ---------------------------------------------------------------------------

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(event)`` for every event from now on, in order.

        A listener runs on the engine's event loop and must be cheap; one that raises is
        removed after its traceback is printed on stderr once, and the run goes on.
        """
        self._bus.add_listener(listener)

    def events(self, max_buffer: int = DEFAULT_BUFFER) -> EventStream:
        """Every event from now on as a stream, read at the subscriber's own pace.

        The stream holds up to ``max_buffer`` events; a subscriber that falls further
        behind is dropped (its stream raises
        :class:`~fanout_tui.engine._bus.EventStreamDropped` once drained), so it never
        stalls the run. The stream ends after :class:`RunFinished`. Use it as an async
        context manager to unsubscribe on the way out::

            async with engine.events() as events:
                async for event in events:
                    ...
        """
        return self._bus.stream(max_buffer)

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
        done = self._done = anyio.Event()
        try:
            outcome = await self._run_to_end(done)
            self._bus.publish(RunFinished(outcome))
        finally:
            self._bus.close()  # every stream ends, even when the run itself failed
        return outcome

    async def _run_to_end(self, done: anyio.Event) -> RunOutcome:
        """Run every branch until ``done`` is set, end what is left, return the outcome."""
        try:
            if not self._shutting_down:
                async with anyio.create_task_group() as tg:
                    self._tg = self._scheduler.task_group = self._merge.task_group = tg
                    if self._pool.names:
                        tg.start_soon(self._pool.run_timer)
                    tg.start_soon(functools.partial(self._merge.run, active=self._active))
                    self._scheduler.begin()
                    await done.wait()
                    if self._shutting_down:
                        # Escaped processes get their grace alongside the branches' groups
                        # (which their branches end themselves), not after them.
                        await tg.start(self._end_leftovers, True)
                    tg.cancel_scope.cancel()
        finally:
            self._tg = self._scheduler.task_group = self._merge.task_group = None
            self._finished = True
            self._ended_at = self._clock.now()
            await self._end_leftovers()  # what escaped since, or while nothing was ending
        if self._merge.dirty:
            self._merge.recompute()
        return self.outcome()

    async def _end_leftovers(
        self,
        escaped_only: bool = False,
        *,
        task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        """Have the executor end what the run's marked processes left, shielded."""
        with anyio.CancelScope(shield=True):
            task_status.started()
            grace_s = max((branch.kill_grace_s for branch in self.plan.branches), default=0)
            await self._executor.end_leftovers(self._mark, grace_s, escaped_only=escaped_only)

    def _active(self) -> bool:
        return self._scheduler.unsettled > 0

    def _merge_changed(self) -> None:
        self._merge.changed(final=not self._scheduler.unsettled)

    def _check_done(self) -> None:
        if (
            not self._stay_open
            and self._done is not None
            and self._scheduler.live == 0
            and not self._merge.dirty
            and not self._merge.synthesizing
        ):
            self._done.set()

    # --- commands -------------------------------------------------------------------------

    def retry(self, branch_id: str) -> bool:
        """Start a fresh set of attempts for a failed, timed-out, cancelled or reused branch.

        Does nothing (returns False) for an unknown id, a branch that is active or
        succeeded in this run, or when the run is not going on.
        """
        run = self._scheduler.branches.get(branch_id)
        if run is None or not self._accepts_commands():
            return False
        if not (run.status.retryable or (run.status is BranchStatus.SUCCEEDED and run.reused)):
            return False
        self._scheduler.start(run)
        self._merge_changed()
        return True

    def cancel(self, branch_id: str) -> bool:
        """Cancel a pending, waiting, retrying or running branch (never retried after).

        A running branch stays ``running`` until its process group is gone, then settles
        ``cancelled``; the others settle at once. Cancelling again does nothing.
        """
        run = self._scheduler.branches.get(branch_id)
        if run is None or not run.status.cancellable or run.cancelling:
            return False
        self._scheduler.cancel(run, CANCELLED)
        return True

    def retry_failed(self) -> int:
        """Retry every failed, timed-out or cancelled branch; return how many."""
        return sum(self.retry(run.id) for run in self._scheduler.order if run.status.retryable)

    def cancel_all(self) -> int:
        """Cancel every active branch; return how many."""
        return sum(self.cancel(run.id) for run in self._scheduler.order if run.status.cancellable)

    def shutdown(self, *, interrupted: bool = False, kill_now: bool = False) -> None:
        """Cancel everything and make :meth:`run` return (see ``EngineControl.shutdown``)."""
        if kill_now:
            self._executor.cut_grace()
        if self._finished:
            return
        self._shutting_down = self._scheduler.shutting_down = True
        self._interrupted = self._interrupted or interrupted
        how = "interrupted" if self._interrupted else "shut down"
        self._merge.shut_down(how)
        for run in self._scheduler.order:
            if run.status.cancellable:
                self._scheduler.cancel(run, f"cancelled: the run was {how}")
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
        if self._merge.dirty and self._started:
            self._merge.recompute()
        now = self._ended_at if self._ended_at is not None else self._clock.now()
        started_at = self._started_at if self._started_at is not None else now
        merge = self._merge.state
        return RunOutcome(
            name=self.plan.name,
            branches=tuple(self._scheduler.reports()),
            merge=merge,
            exit_code=merge_state.exit_code(merge, interrupted=self._interrupted),
            started_at=self._started_wall if self._started_wall is not None else self._clock.wall(),
            duration_s=now - started_at,
        )
