"""What the resource pool (:mod:`fanout_tui.engine._resources`) keeps of each limit, of
each waiter and of each grant (a :class:`Lease`)."""

from __future__ import annotations

import math
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, NamedTuple

import anyio

from fanout_tui.engine._windows import Spend, StartWindow, TokenWindow
from fanout_tui.spec import ResourceLimit

if TYPE_CHECKING:
    from fanout_tui.engine._resources import ResourcePool


GLOBAL_CAP = "concurrency"
"""The name the global cap goes by (in :meth:`ResourcePool.in_use` and :class:`Wait`)."""

_GLOBAL_KEY = "\0global"
"""Internal name of the global cap (cannot clash with a resource name)."""


class Wait(NamedTuple):
    """What a waiter waits on: a named resource, or the global cap."""

    name: str
    """The resource's name, or :data:`GLOBAL_CAP` for the global cap."""
    global_cap: bool = False
    """True for the global cap (a resource may be named ``concurrency`` too)."""


WaitCallback = Callable[[Wait], None]
"""Told what a waiter waits on."""


class Limit:
    """One limited thing: a named resource or the global cap."""

    __slots__ = (
        "adaptive",
        "capacity",
        "declared",
        "in_use",
        "paused_by",
        "paused_until",
        "streak",
        "tokens",
        "wait",
        "waiting",
        "window",
    )

    def __init__(
        self,
        wait: Wait,
        capacity: int | None,
        *,
        window: StartWindow | None = None,
        tokens: TokenWindow | None = None,
        adaptive: bool = False,
    ) -> None:
        self.wait = wait
        self.capacity = capacity
        """The concurrency in force (an adaptive resource moves it below ``declared``)."""
        self.declared = capacity
        self.window = window
        self.tokens = tokens
        self.adaptive = adaptive and capacity is not None
        self.in_use = 0
        self.waiting = 0
        """Waiters in the queue that need this limit."""
        self.paused_until = -math.inf
        self.paused_by = ""
        self.streak = 0
        """Successes in a row since the concurrency in force last changed."""

    @classmethod
    def of(cls, limit: ResourceLimit) -> Limit:
        """The pool's state for a declared resource."""
        return cls(
            Wait(limit.name),
            limit.concurrency,
            window=StartWindow(limit.rate, limit.burst) if limit.rate else None,
            tokens=TokenWindow(limit.tokens) if limit.tokens else None,
            adaptive=limit.adaptive,
        )

    def free_at(self, now: float, cost: float) -> float | None:
        """When a start with a token estimate of ``cost`` fits: ``now``, a later time, or
        ``None`` while every slot is held (a release, not time, frees one)."""
        if self.capacity is not None and self.in_use >= self.capacity:
            return None
        at = max(now, self.paused_until)
        if self.window is not None:
            at = max(at, self.window.free_at(now))
        if self.tokens is not None:
            at = max(at, self.tokens.free_at(now, cost))
        return at


class Waiter:
    """One call of :meth:`ResourcePool.acquire` in the queue, until it is granted."""

    __slots__ = ("cost", "granted", "needs", "on_wait", "ready", "spends", "taken", "waiting_on")

    def __init__(self, needs: tuple[Limit, ...], cost: float, on_wait: WaitCallback) -> None:
        self.needs = needs
        self.cost = cost
        self.on_wait = on_wait
        self.ready = anyio.Event()
        self.granted = False
        self.waiting_on: Wait | None = None
        self.spends: tuple[Spend, ...] = ()
        self.taken = 0.0
        """Clock time it was granted."""


class Lease:
    """What a branch holds while its attempt runs; release it once (a context manager)."""

    __slots__ = ("_limits", "_pool", "_spends", "_taken")

    def __init__(
        self,
        pool: ResourcePool,
        limits: tuple[Limit, ...],
        spends: tuple[Spend, ...] = (),
        taken: float = 0.0,
    ) -> None:
        self._pool = pool
        self._limits = limits
        self._spends = spends
        self._taken = taken

    def began(self, at: float) -> None:
        """The attempt's process came up at clock time ``at``: its rate windows count its
        start from then (the request it makes cannot reach the server any sooner)."""
        for limit in self._limits:
            if limit.window is not None:
                limit.window.began(self._taken, at)
        self._taken = max(self._taken, at)

    def spent(self, tokens: float) -> None:
        """The attempt reported spending ``tokens``: they replace its estimate."""
        for spend in self._spends:
            TokenWindow.correct(spend, tokens)
        self._pool._dispatch()

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
