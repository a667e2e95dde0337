"""The merge loop: the merged result, recomputed whenever the set of settled branches changes.

The scheduler only says that something settled (:meth:`MergeLoop.changed`); the loop's
own task recomputes the merge, coalescing the changes of one tick, and publishes it as
:class:`~fanout_tui.engine._events.ResultsChanged`. While branches are still active a
recompute is a preview, at most every :data:`PREVIEW_INTERVAL_S`; when the last one
settles the final merge is computed at once. A ``synthesis`` plan's synthesizer
(:class:`~fanout_tui.engine._synthesis.Synthesis`) is started from here.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import anyio
import anyio.abc

from fanout_tui.engine import _merge_state as merge_state
from fanout_tui.engine._clock import Clock
from fanout_tui.engine._events import BranchReport, Event, MergeState, PolicyState, ResultsChanged
from fanout_tui.engine._executor import AttemptRunner
from fanout_tui.engine._policy import judge
from fanout_tui.engine._resources import ResourcePool
from fanout_tui.engine._synthesis import Synthesis
from fanout_tui.spec import Masker, MergeStrategy, Plan

PREVIEW_SHARE = 10
"""The pause after a preview is at least this many times what the preview took."""
PREVIEW_INTERVAL_S = 0.1
"""Shortest time between two merge previews: with hundreds of branches settling every
second, recomputing the merge for each one would cost more than running them."""


class MergeLoop:
    """Keeps the run's merge state up to date.

    Args:
        plan: The plan (its policy and merge).
        reports: Every branch's report, as of now, in declared order.
        emit: Publishes the engine's events.
        masker: Masks a merge error.
        clock: Paces the previews.
        attempts: Runs the synthesizer's attempts.
        pool: Where the synthesizer takes the resources it uses.
        random: Jitter for the synthesizer's backoff.
        settled: Called whenever the merge may have become final: after each recompute
            and when a synthesis ends.
    """

    def __init__(
        self,
        plan: Plan,
        *,
        reports: Callable[[], list[BranchReport]],
        emit: Callable[[Event], None],
        masker: Masker,
        clock: Clock,
        attempts: AttemptRunner,
        pool: ResourcePool,
        random: Callable[[], float],
        settled: Callable[[], None],
    ) -> None:
        self._plan = plan
        self._reports = reports
        self._emit = emit
        self._masker = masker
        self._clock = clock
        self._settled = settled
        self.state = MergeState(
            state=PolicyState.WAITING,
            merged=None,
            missing=tuple(branch.id for branch in plan.branches),
            failed=(),
            active=len(plan.branches),
        )
        """The merge as last published."""
        self.dirty = True
        """True while a change is not reflected in :attr:`state` yet."""
        self.task_group: anyio.abc.TaskGroup | None = None
        """Where a synthesis starts (``None``: the run is not going on)."""
        self._wake: anyio.Event | None = None
        self._pause: anyio.CancelScope | None = None
        self._shut_down: str | None = None
        self._satisfied_at_shutdown = False
        self._synthesis = (
            Synthesis(
                plan,
                attempts=attempts,
                pool=pool,
                random=random,
                publish=self.publish,
                settled=settled,
            )
            if plan.merge.strategy is MergeStrategy.SYNTHESIS
            else None
        )

    @property
    def synthesizing(self) -> bool:
        """True while a synthesis is in progress."""
        return self._synthesis is not None and self._synthesis.running

    def changed(self, *, final: bool) -> None:
        """The settled branches changed; ``final``: none is active any more."""
        if not self.dirty:
            self.dirty = True
            if self._wake is not None:
                self._wake.set()
        if final and self._pause is not None:
            self._pause.cancel()  # the last branch settled: the final merge is due now

    def shut_down(self, how: str) -> None:
        """The run is ending (``how``: "interrupted" or "shut down"): a merge the policy
        was not satisfied for by now is cut short, and no synthesis starts."""
        if self._shut_down is None:
            self._satisfied_at_shutdown = self.state.state is PolicyState.MERGED
        self._shut_down = how
        if self._synthesis is not None:
            self._synthesis.stop()

    async def run(self, *, active: Callable[[], bool]) -> None:
        """Recompute the merge after changes, until cancelled.

        Args:
            active: Whether some branch is still active (then the next recompute waits
                for the preview interval, or for the last branch to settle).
        """
        wake = self._wake = anyio.Event()
        wake.set()  # the first merge: reused branches may already satisfy the policy
        while True:
            await wake.wait()
            wake = self._wake = anyio.Event()
            took = 0.0
            if self.dirty:
                started = time.perf_counter()
                self.recompute()
                took = time.perf_counter() - started
            self._settled()
            if active():
                with anyio.CancelScope() as pause:
                    self._pause = pause
                    # A preview of large results costs: it never takes more than a tenth
                    # of the time (the final merge does not wait for this pause).
                    await self._clock.sleep(max(PREVIEW_INTERVAL_S, PREVIEW_SHARE * took))
                self._pause = None

    def recompute(self) -> None:
        """Judge the branches now and publish the merge that follows."""
        self.dirty = False
        reports = self._reports()
        verdict = judge(self._plan.policy, reports)
        merge = self._plan.merge
        if verdict.state is not PolicyState.MERGED:
            if self._synthesis is not None:
                self._synthesis.stop()
            state = merge_state.undecided(verdict, merge, reports)
        elif self._shut_down is not None and not self._satisfied_at_shutdown:
            why = f"the run was {self._shut_down} before the policy was satisfied"
            state = merge_state.cut_short(verdict, merge, reports, why)
        elif self._synthesis is not None:
            task_group = None if self._shut_down is not None else self.task_group
            state = self._synthesis.state_for(verdict, reports, task_group)
        else:
            state = merge_state.combined(verdict, merge, reports)
        self.publish(state)

    def publish(self, state: MergeState) -> None:
        """Make ``state`` the merge (its error masked) and publish it."""
        if state.error is not None:
            state = MergeState(
                state.state,
                state.merged,
                state.missing,
                state.failed,
                state.active,
                self._masker.mask(state.error),
            )
        self.state = state
        self._emit(ResultsChanged(state))
