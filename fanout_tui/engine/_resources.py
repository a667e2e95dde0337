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

**Rate.** A resource's ``rate`` is a token bucket on the injected clock: it holds up to
``max(1, count)`` tokens, starts full, refills at ``count / per_s`` tokens a second, and
each attempt start takes one token. When a waiter lacks only tokens, a timer task
(:meth:`ResourcePool.run_refill_timer`) sleeps on the clock until the next token is due.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Collection, Mapping, Sequence
from types import TracebackType
from typing import NamedTuple

import anyio
import anyio.lowlevel

from fanout_tui.engine._clock import Clock
from fanout_tui.spec import Rate, ResourceLimit

GLOBAL_CAP = "concurrency"
"""The name the global cap goes by (in :meth:`ResourcePool.in_use` and :class:`Wait`)."""

_GLOBAL_KEY = "\0global"
"""Internal name of the global cap (cannot clash with a resource name)."""

_TOKEN_EPSILON = 1e-9
"""Float slack when counting tokens, so a refill timed exactly on a clock tick counts."""


class Wait(NamedTuple):
    """What a waiter waits on: a named resource, or the global cap."""

    name: str
    """The resource's name, or :data:`GLOBAL_CAP` for the global cap."""
    global_cap: bool = False
    """True for the global cap (a resource may be named ``concurrency`` too)."""


WaitCallback = Callable[[Wait], None]
"""Told what a waiter waits on."""


class TokenBucket:
    """A token bucket on an injected clock: one token per attempt start."""

    __slots__ = ("_capacity", "_last", "_per_second", "_tokens")

    def __init__(self, rate: Rate, now: float) -> None:
        self._capacity = max(1.0, rate.count)
        self._per_second = rate.per_second
        self._tokens = self._capacity
        self._last = now

    def _refill(self, now: float) -> None:
        if now > self._last:
            self._tokens = min(self._capacity, self._tokens + (now - self._last) * self._per_second)
            self._last = now

    def available(self, now: float) -> bool:
        """True when a token can be taken at ``now``."""
        self._refill(now)
        return self._tokens >= 1.0 - _TOKEN_EPSILON

    def take(self, now: float) -> None:
        """Take one token (the caller checked :meth:`available`)."""
        self._refill(now)
        self._tokens = max(0.0, self._tokens - 1.0)

    def ready_at(self, now: float) -> float:
        """When the next token is due (``now`` if one is there)."""
        self._refill(now)
        lacking = 1.0 - self._tokens
        return now if lacking <= _TOKEN_EPSILON else now + lacking / self._per_second


class _Limit:
    """One limited thing: a named resource or the global cap."""

    __slots__ = ("bucket", "capacity", "in_use", "wait")

    def __init__(self, wait: Wait, capacity: int | None, bucket: TokenBucket | None) -> None:
        self.wait = wait
        self.capacity = capacity
        self.bucket = bucket
        self.in_use = 0


class _Waiter:
    __slots__ = ("granted", "needs", "on_wait", "ready", "waiting_on")

    def __init__(self, needs: tuple[_Limit, ...], on_wait: WaitCallback) -> None:
        self.needs = needs
        self.on_wait = on_wait
        self.ready = anyio.Event()
        self.granted = False
        self.waiting_on: Wait | None = None


class Lease:
    """What a branch holds while its attempt runs; release it once (a context manager)."""

    __slots__ = ("_limits", "_pool")

    def __init__(self, pool: ResourcePool, limits: tuple[_Limit, ...]) -> None:
        self._pool = pool
        self._limits = limits

    def release(self) -> None:
        """Give everything back (a second call does nothing)."""
        limits, self._limits = self._limits, ()
        if limits:
            self._pool._release(limits)

    def __enter__(self) -> Lease:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.release()


class ResourcePool:
    """The global cap and the named resources of a plan, shared by every branch.

    Args:
        resources: The plan's resources by name; a name a branch uses that is not here,
            or a resource with neither concurrency nor rate, limits nothing.
        concurrency: The global cap on running attempts (``None``: unlimited).
        clock: Where token buckets read time and the refill timer sleeps.
    """

    def __init__(
        self, resources: Mapping[str, ResourceLimit], concurrency: int | None, clock: Clock
    ) -> None:
        self._clock = clock
        now = clock.now()
        self._limits: dict[str, _Limit] = {
            name: _Limit(
                Wait(name),
                limit.concurrency,
                TokenBucket(limit.rate, now) if limit.rate else None,
            )
            for name, limit in resources.items()
            if limit.concurrency is not None or limit.rate is not None
        }
        self._global = (
            _Limit(Wait(GLOBAL_CAP, global_cap=True), concurrency, None)
            if concurrency is not None
            else None
        )
        self._queue: deque[_Waiter] = deque()
        self._without_global = 0
        """Waiters that take no global slot (the synthesizer)."""
        self._timer_deadline: float | None = None
        self._timer_scope: anyio.CancelScope | None = None
        self._timer_sleeping_until: float | None = None

    @property
    def has_rates(self) -> bool:
        """True when some resource has a rate (then :meth:`run_refill_timer` must run)."""
        return any(limit.bucket is not None for limit in self._limits.values())

    def in_use(self, name: str) -> int:
        """How many running attempts hold ``name`` (:data:`GLOBAL_CAP` for the global cap)."""
        if name == GLOBAL_CAP and self._global is not None:
            return self._global.in_use
        limit = self._limits.get(name)
        return limit.in_use if limit else 0

    def _needs(self, uses: Sequence[str], global_slot: bool) -> tuple[_Limit, ...]:
        needs = [self._limits[name] for name in dict.fromkeys(uses) if name in self._limits]
        if global_slot and self._global is not None:
            needs.append(self._global)
        return tuple(needs)

    async def acquire(
        self, uses: Sequence[str], *, on_wait: WaitCallback, global_slot: bool = True
    ) -> Lease:
        """Wait until everything in ``uses`` (and a global slot) is free, then take it all.

        Args:
            uses: Resource names the attempt needs.
            on_wait: Called (synchronously) when the caller has to wait, with what it waits
                on, and again whenever that changes. Not called when nothing is waited for.
            global_slot: Also take a slot of the global cap (not for the synthesizer).

        Returns:
            The lease; release it when the attempt ends. Cancelled while waiting, the
            caller leaves the queue and holds nothing.
        """
        needs = self._needs(uses, global_slot)
        if not needs:
            return Lease(self, ())
        now = self._clock.now()
        if not self._queue and self._lacking(needs, (), now) is None:
            self._take(needs, now)
            return Lease(self, needs)
        waiter = _Waiter(needs, on_wait)
        self._queue.append(waiter)
        if not global_slot:
            self._without_global += 1
        try:
            self._dispatch()
            if not waiter.granted:
                if waiter.waiting_on is None:  # the scan stopped before reaching it
                    self._tell(waiter, self._lacking(needs, (), now) or needs[-1])
                await waiter.ready.wait()
                # Granted, but cancelled before it could resume: give it all back.
                await anyio.lowlevel.checkpoint_if_cancelled()
        except BaseException:
            if waiter.granted:
                self._release(needs)
            else:
                self._queue.remove(waiter)
                self._dispatch()
            raise
        finally:
            if not global_slot:
                self._without_global -= 1
        return Lease(self, needs)

    @staticmethod
    def _tell(waiter: _Waiter, limit: _Limit) -> None:
        if waiter.waiting_on != limit.wait:
            waiter.waiting_on = limit.wait
            waiter.on_wait(limit.wait)

    def _free(self, limit: _Limit, now: float) -> bool:
        """True when ``limit`` has a slot and a token now (asks the timer for the next token)."""
        if limit.capacity is not None and limit.in_use >= limit.capacity:
            return False
        if limit.bucket is not None and not limit.bucket.available(now):
            self._want_token(limit.bucket.ready_at(now))
            return False
        return True

    def _lacking(
        self, needs: tuple[_Limit, ...], reserved: Collection[_Limit], now: float
    ) -> _Limit | None:
        """The first of ``needs`` that is reserved, full or out of tokens (``None``: all free)."""
        for limit in needs:
            if limit in reserved or not self._free(limit, now):
                return limit
        return None

    def _take(self, needs: tuple[_Limit, ...], now: float) -> None:
        for limit in needs:
            limit.in_use += 1
            if limit.bucket is not None:
                limit.bucket.take(now)

    def _release(self, limits: tuple[_Limit, ...]) -> None:
        for limit in limits:
            limit.in_use -= 1
        if self._queue:
            self._dispatch()

    def _dispatch(self) -> None:
        """Grant every waiter that can go, in arrival order, honouring reservations."""
        now = self._clock.now()
        reserved: set[_Limit] = set()
        kept: list[_Waiter] = []
        queue = self._queue
        global_cap = self._global
        while queue:
            if global_cap in reserved and not self._without_global:
                # Everyone behind needs a global slot and the head of the line has it reserved.
                break
            waiter = queue.popleft()
            lacking = self._lacking(waiter.needs, reserved, now)
            if lacking is None:
                self._take(waiter.needs, now)
                waiter.granted = True
                waiter.ready.set()
                continue
            kept.append(waiter)
            self._tell(waiter, lacking)
            reserved.update(
                limit for limit in waiter.needs if limit in reserved or not self._free(limit, now)
            )
        queue.extendleft(reversed(kept))  # still waiting, still in arrival order

    def _want_token(self, at: float) -> None:
        if self._timer_deadline is None or at < self._timer_deadline:
            self._timer_deadline = at
            if self._timer_scope is not None and self._timer_sleeping_until != at:
                self._timer_scope.cancel()

    async def run_refill_timer(self) -> None:
        """Wake waiters when tokens are due; run it in the run's task group (never returns)."""
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
