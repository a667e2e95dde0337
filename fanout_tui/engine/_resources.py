"""Shared limits on running branches: the global cap and named resources.

A branch holds a slot of the global cap and every resource it ``uses`` while one of its
attempts runs. :class:`ResourcePool` hands them out.

**No deadlock.** A branch takes everything it needs at once or nothing (all-or-nothing
acquisition): a waiter never holds one resource while waiting for another, so no cycle of
waiters can form, whatever the overlap between resource sets.

**First come, first served per resource.** Waiters form one queue in arrival order. When
anything is released the queue is scanned from the head; a waiter is granted when all it
needs is free and none of it is *reserved* by an earlier waiter that is still waiting.
Whatever an earlier waiter lacks becomes reserved for it, so a later waiter never
overtakes an earlier one on a shared resource, while a waiter whose needs are disjoint
from everyone ahead of it may go first. Every held resource is eventually released, and a
reserved one only goes to earlier waiters, so the head of the queue always makes progress:
nobody starves.

**Rate, tokens and pauses.** A resource's ``rate`` and ``tokens`` are sliding windows
(:mod:`._windows`) on the injected clock: an attempt starts only when the last period's
starts (and token spends, its estimate included) leave room, so no window of the period
ever holds more than declared. A resource is *paused* until a time when a branch that uses
it was told by the server to back off (a ``rate_limited`` signal); nobody starts on it
before then. An ``adaptive`` resource halves its concurrency in force on such a signal and
grows it back by one after as many successes in a row. When a waiter lacks only time, a
timer task (:meth:`ResourcePool.run_timer`) sleeps on the clock until the earliest
window opens or pause ends.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Collection, Mapping, Sequence

import anyio
import anyio.lowlevel

from fanout_tui.engine._clock import Clock
from fanout_tui.engine._limit import GLOBAL_CAP, Lease, Limit, Wait, WaitCallback, Waiter
from fanout_tui.engine._resource_events import ResourceView
from fanout_tui.spec import ResourceLimit


class ResourcePool:
    """The global cap and the named resources of a plan, shared by every branch.

    Args:
        resources: The plan's resources by name; a name a branch uses that is not here,
            or a resource with no limit, limits nothing.
        concurrency: The global cap on running attempts (``None``: unlimited).
        clock: Where windows and pauses read time and the timer sleeps.
    """

    def __init__(
        self, resources: Mapping[str, ResourceLimit], concurrency: int | None, clock: Clock
    ) -> None:
        self._clock = clock
        self._limits: dict[str, Limit] = {
            name: Limit.of(limit) for name, limit in resources.items() if limit.limits_anything
        }
        self._global = (
            Limit(Wait(GLOBAL_CAP, global_cap=True), concurrency)
            if concurrency is not None
            else None
        )
        self._queue: deque[Waiter] = deque()
        self._without_global = 0
        """Waiters that take no global slot (the synthesizer)."""
        self._timer_deadline: float | None = None
        self._timer_scope: anyio.CancelScope | None = None
        self._timer_sleeping_until: float | None = None

    @property
    def names(self) -> tuple[str, ...]:
        """The resources that limit something, in declared order."""
        return tuple(self._limits)

    def in_use(self, name: str) -> int:
        """How many running attempts hold ``name`` (:data:`GLOBAL_CAP` for the global cap)."""
        if name == GLOBAL_CAP and self._global is not None:
            return self._global.in_use
        limit = self._limits.get(name)
        return limit.in_use if limit else 0

    def view(self, name: str) -> ResourceView:
        """How the resource ``name`` stands now."""
        limit = self._limits[name]
        now = self._clock.now()
        window, tokens = limit.window, limit.tokens
        return ResourceView(
            name=name,
            held=limit.in_use,
            concurrency=limit.capacity,
            declared_concurrency=limit.declared,
            waiting=limit.waiting,
            window_used=window.used(now) if window else None,
            window_limit=window.limit if window else None,
            tokens_left=tokens.left(now) if tokens else None,
            tokens_budget=tokens.budget if tokens else None,
            paused_until=limit.paused_until if limit.paused_until > now else None,
            paused_by=limit.paused_by if limit.paused_until > now else "",
        )

    def _needs(self, uses: Sequence[str], global_slot: bool) -> tuple[Limit, ...]:
        needs = [self._limits[name] for name in dict.fromkeys(uses) if name in self._limits]
        if global_slot and self._global is not None:
            needs.append(self._global)
        return tuple(needs)

    async def acquire(
        self,
        uses: Sequence[str],
        *,
        on_wait: WaitCallback,
        global_slot: bool = True,
        tokens: float = 0.0,
    ) -> Lease:
        """Wait until everything in ``uses`` (and a global slot) is free, then take it all.

        Args:
            uses: Resource names the attempt needs.
            on_wait: Called (synchronously) when the caller has to wait, with what it waits
                on, and again whenever that changes. Not called when nothing is waited for.
            global_slot: Also take a slot of the global cap (not for the synthesizer).
            tokens: The attempt's token estimate, taken from every token budget it uses.

        Returns:
            The lease; release it when the attempt ends. Cancelled while waiting, the
            caller leaves the queue and holds nothing.
        """
        needs = self._needs(uses, global_slot)
        if not needs:
            return Lease(self, ())
        waiter = Waiter(needs, tokens, on_wait)
        now = self._clock.now()
        if not self._queue and self._lacking(waiter, (), now) is None:
            self._take(waiter, now)
            return Lease(self, needs, waiter.spends, waiter.taken)
        self._queue.append(waiter)
        for limit in needs:
            limit.waiting += 1
        if not global_slot:
            self._without_global += 1
        try:
            self._dispatch()
            if not waiter.granted:
                if waiter.waiting_on is None:  # the scan stopped before reaching it
                    self._tell(waiter, self._lacking(waiter, (), now) or needs[-1])
                await waiter.ready.wait()
                # Granted, but cancelled before it could resume: give it all back.
                await anyio.lowlevel.checkpoint_if_cancelled()
        except BaseException:
            if waiter.granted:
                self._release(needs)
            else:
                self._queue.remove(waiter)
                for limit in needs:
                    limit.waiting -= 1
                self._dispatch()
            raise
        finally:
            if not global_slot:
                self._without_global -= 1
        return Lease(self, needs, waiter.spends, waiter.taken)

    def pause(self, uses: Sequence[str], until: float, *, by: str) -> tuple[str, ...]:
        """Pause every resource in ``uses`` until clock time ``until`` (a rate-limit signal
        from branch ``by``): nobody starts on them before then.

        Returns:
            The resources this paused or paused for longer, in the order given.
        """
        paused = []
        for limit in self._needs(uses, global_slot=False):
            if until > limit.paused_until:
                limit.paused_until = until
                limit.paused_by = by
                paused.append(limit.wait.name)
        if paused:
            self._wake_at(until)
        return tuple(paused)

    def rate_limited(self, uses: Sequence[str]) -> None:
        """An attempt that used ``uses`` was rate-limited: adaptive resources halve the
        concurrency in force (never below one)."""
        for limit in self._needs(uses, global_slot=False):
            if limit.adaptive and limit.capacity is not None:
                limit.capacity = max(1, limit.capacity // 2)
                limit.streak = 0

    def views(self) -> tuple[ResourceView, ...]:
        """Every resource that limits something, as it stands now, in declared order."""
        return tuple(self.view(name) for name in self._limits)

    def changes_with_time(self) -> bool:
        """True while some resource's numbers move with time alone (a window holds starts
        or spends, or a pause runs)."""
        now = self._clock.now()
        return any(
            limit.paused_until > now
            or (limit.window is not None and limit.window.used(now))
            or (limit.tokens is not None and limit.tokens.used(now))
            for limit in self._limits.values()
        )

    def succeeded(self, uses: Sequence[str]) -> None:
        """An attempt that used ``uses`` succeeded: adaptive resources may grow by one."""
        for limit in self._needs(uses, global_slot=False):
            if limit.adaptive and limit.capacity is not None and limit.declared is not None:
                limit.streak += 1
                if limit.streak >= limit.capacity and limit.capacity < limit.declared:
                    limit.capacity += 1
                    limit.streak = 0
        if self._queue:
            self._dispatch()

    @staticmethod
    def _tell(waiter: Waiter, limit: Limit) -> None:
        if waiter.waiting_on != limit.wait:
            waiter.waiting_on = limit.wait
            waiter.on_wait(limit.wait)

    def _free(self, limit: Limit, cost: float, now: float) -> bool:
        """True when ``limit`` has room now (else asks the timer to look again when it may)."""
        at = limit.free_at(now, cost)
        if at is None:
            return False
        if at > now:
            self._wake_at(at)
            return False
        return True

    def _lacking(self, waiter: Waiter, reserved: Collection[Limit], now: float) -> Limit | None:
        """The first of the waiter's needs that is reserved or has no room (``None``: all free)."""
        for limit in waiter.needs:
            if limit in reserved or not self._free(limit, waiter.cost, now):
                return limit
        return None

    def _take(self, waiter: Waiter, now: float) -> None:
        spends = []
        for limit in waiter.needs:
            limit.in_use += 1
            if limit.window is not None:
                limit.window.take(now)
            if limit.tokens is not None:
                spends.append(limit.tokens.take(now, waiter.cost))
        waiter.spends = tuple(spends)
        waiter.taken = now

    def _release(self, limits: tuple[Limit, ...]) -> None:
        for limit in limits:
            limit.in_use -= 1
        if self._queue:
            self._dispatch()

    def _dispatch(self) -> None:
        """Grant every waiter that can go, in arrival order, honouring reservations."""
        now = self._clock.now()
        reserved: set[Limit] = set()
        kept: list[Waiter] = []
        queue = self._queue
        global_cap = self._global
        while queue:
            if global_cap in reserved and not self._without_global:
                # Everyone behind needs a global slot and the head of the line has it reserved.
                break
            waiter = queue.popleft()
            lacking = self._lacking(waiter, reserved, now)
            if lacking is None:
                self._take(waiter, now)
                for limit in waiter.needs:
                    limit.waiting -= 1
                waiter.granted = True
                waiter.ready.set()
                continue
            kept.append(waiter)
            self._tell(waiter, lacking)
            reserved.update(
                limit
                for limit in waiter.needs
                if limit in reserved or not self._free(limit, waiter.cost, now)
            )
        queue.extendleft(reversed(kept))  # still waiting, still in arrival order

    def _wake_at(self, at: float) -> None:
        if self._timer_deadline is None or at < self._timer_deadline:
            self._timer_deadline = at
            if self._timer_scope is not None and self._timer_sleeping_until != at:
                self._timer_scope.cancel()

    async def run_timer(self) -> None:
        """Wake waiters when a window opens or a pause ends; run it in the run's task group
        (never returns)."""
        while True:
            deadline = self._timer_deadline
            with anyio.CancelScope() as scope:
                self._timer_scope = scope
                self._timer_sleeping_until = deadline
                if deadline is None:
                    await anyio.sleep_forever()
                else:
                    await self._clock.sleep(max(0.0, deadline - self._clock.now()))
            self._timer_scope = None
            self._timer_sleeping_until = None
            if not scope.cancelled_caught:
                self._timer_deadline = None
                self._dispatch()
