"""What the run's resources tell the world: pauses, resumes and snapshots.

The scheduler decides; :class:`ResourceWatch` turns what happens to the pool into events:
a rate-limit signal pauses the resources a branch uses (:class:`ResourcePaused`, then
:class:`ResourceResumed` once the pause is over), and every change, or every second while
the numbers move with time alone, sends a :class:`ResourcesChanged` snapshot.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import anyio
import anyio.abc

from fanout_tui.engine._clock import Clock
from fanout_tui.engine._events import Event
from fanout_tui.engine._resource_events import ResourcePaused, ResourceResumed, ResourcesChanged
from fanout_tui.engine._resources import ResourcePool
from fanout_tui.engine._signals import RateLimited
from fanout_tui.spec import format_duration

RESOURCE_TICK_S = 1.0
"""How often snapshots are sent while resource numbers move with time alone."""


class ResourceWatch:
    """Rate-limit pauses and resource snapshots, as events.

    Args:
        pool: The run's resources.
        clock: Time for pauses and the snapshot tick.
        emit: Publishes the events.
    """

    def __init__(self, pool: ResourcePool, clock: Clock, emit: Callable[[Event], None]) -> None:
        self._pool = pool
        self._clock = clock
        self._emit = emit
        self._moved = anyio.Event()

    def rate_limited(
        self,
        uses: Sequence[str],
        signal: RateLimited,
        *,
        by: str,
        task_group: anyio.abc.TaskGroup | None,
    ) -> None:
        """Branch ``by`` was rate-limited: adaptive resources back off, and the resources
        it uses pause for everyone until the retry-after."""
        now = self._clock.now()
        self._pool.rate_limited(uses)
        if signal.retry_after_s:
            until = now + signal.retry_after_s
            paused = self._pool.pause(uses, until, by=by)
            for name in paused:
                self._emit(ResourcePaused(name, now, until, by, signal.note))
            if paused and task_group is not None:
                task_group.start_soon(self._resume_after, paused, until)
        self.changed()

    async def _resume_after(self, names: tuple[str, ...], until: float) -> None:
        await self._clock.sleep(until - self._clock.now())
        views = {view.name: view for view in self._pool.views()}
        for name in names:
            if views[name].paused_until is None:  # not paused again for longer meanwhile
                self._emit(ResourceResumed(name, self._clock.now()))
        self.changed()

    def changed(self) -> None:
        """Send a snapshot of the resources (when the run has any)."""
        if self._pool.names:
            self._emit(ResourcesChanged(self._clock.now(), self._pool.views()))
            self._moved.set()

    async def run_ticker(self) -> None:
        """While resource numbers move with time alone, send a snapshot every second;
        run it in the run's task group (never returns)."""
        while True:
            if not self._pool.changes_with_time():
                self._moved = anyio.Event()
                await self._moved.wait()
            await self._clock.sleep(RESOURCE_TICK_S)
            self.changed()


def rate_limited_reason(signal: RateLimited) -> str:
    """``rate limited (retry after 12s)``: the reason of an attempt that failed after one."""
    if signal.retry_after_s is None:
        return "rate limited"
    return f"rate limited (retry after {format_duration(round(signal.retry_after_s, 1))})"
