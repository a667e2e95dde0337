"""Test support for anything that drives the engine: a fake clock and a scripted executor.

Like ``trio.testing``, this ships with the package so that every layer's tests (engine,
headless, dashboard) script branches the same way::

    clock = FakeClock()
    executor = ScriptedExecutor({"a": [fail("exit code 1", duration=2), ok("done")]})
    engine = Engine(plan, clock=clock, executor=executor)
    async with clock.autojump():
        outcome = await engine.run()

:class:`FakeClock` only works on the asyncio backend (its autojump looks at asyncio's
tasks); nothing in the product imports this module.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

from fanout_tui.engine._attempt import AttemptResult
from fanout_tui.engine._clock import Clock
from fanout_tui.engine._events import BranchStatus, Event, OutputLines
from fanout_tui.spec import BranchPlan, Masker


class FakeClock:
    """A clock whose time moves only when told to, or by itself when everything waits on it.

    ``now()`` starts at ``start``; ``wall()`` is ``wall_start + now()``. Time moves by
    :meth:`advance`, or, inside :meth:`autojump`, by jumping straight to the next sleeper's
    deadline whenever every other task is blocked. Sleepers with equal deadlines wake in
    the order they went to sleep, so runs are deterministic.
    """

    def __init__(self, start: float = 0.0, wall_start: float = 1_700_000_000.0) -> None:
        self._now = start
        self._wall_start = wall_start
        self._sleepers: list[tuple[float, int, anyio.Event]] = []
        self._order = itertools.count()
        self._new_sleeper: anyio.Event | None = None

    def now(self) -> float:
        """Fake monotonic seconds."""
        return self._now

    def wall(self) -> float:
        """Fake seconds since the epoch."""
        return self._wall_start + self._now

    async def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` of fake time (a checkpoint only, for zero or less)."""
        if seconds <= 0:
            await anyio.lowlevel.checkpoint()
            return
        wake = anyio.Event()
        heapq.heappush(self._sleepers, (self._now + seconds, next(self._order), wake))
        if self._new_sleeper is not None:
            self._new_sleeper.set()
        try:
            await wake.wait()
        except BaseException:
            wake.set()  # a cancelled sleeper no longer holds time back
            raise

    @property
    def next_deadline(self) -> float | None:
        """When the earliest sleeper wakes (``None`` when nobody sleeps)."""
        while self._sleepers and self._sleepers[0][2].is_set():
            heapq.heappop(self._sleepers)
        return self._sleepers[0][0] if self._sleepers else None

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds`` and wake every sleeper now due."""
        self._jump(self._now + seconds)

    def _jump(self, to: float) -> None:
        self._now = max(self._now, to)
        while self._sleepers and self._sleepers[0][0] <= self._now:
            heapq.heappop(self._sleepers)[2].set()

    @asynccontextmanager
    async def autojump(self) -> AsyncIterator[FakeClock]:
        """Within the block, jump to the next deadline whenever all other tasks are blocked."""
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._autojump)
            try:
                yield self
            finally:
                tg.cancel_scope.cancel()

    async def _autojump(self) -> None:
        while True:
            await all_tasks_blocked()
            deadline = self.next_deadline
            if deadline is None:
                self._new_sleeper = anyio.Event()
                await self._new_sleeper.wait()
                self._new_sleeper = None
            else:
                self._jump(deadline)


async def all_tasks_blocked() -> None:
    """Return once every other asyncio task waits on something that is not ready.

    ``anyio.wait_all_tasks_blocked`` polls every 0.1 s of real time; this yields to the
    loop instead, so fake-clock tests take milliseconds.
    """
    me = asyncio.current_task()
    while True:
        await asyncio.sleep(0)
        for task in asyncio.all_tasks():
            if task is me or task.done():
                continue
            waiter = task._fut_waiter  # type: ignore[attr-defined]
            if waiter is None or waiter.done():
                break
        else:
            return


@dataclass(frozen=True, slots=True)
class Step:
    """One scripted attempt: how long it takes and how it ends.

    ``result`` ``None`` on success means the branch id (as text). ``hang`` waits until
    cancelled. ``stop_s`` is how long ending the attempt takes once cancelled (shielded),
    like a process that ignores SIGTERM for a while.
    """

    status: BranchStatus = BranchStatus.SUCCEEDED
    duration: float = 0.0
    result: Any = None
    reason: str | None = None
    exit_code: int | None = None
    lines: tuple[str, ...] = ()
    hang: bool = False
    stop_s: float = 0.0
    stderr: tuple[str, ...] = ()
    """Lines printed on stderr as the attempt starts (signals among them)."""


def ok(
    result: Any = None,
    *,
    duration: float = 0.0,
    lines: Iterable[str] = (),
    stderr: Iterable[str] = (),
) -> Step:
    """An attempt that succeeds with ``result`` (the branch id when ``None``)."""
    return Step(
        BranchStatus.SUCCEEDED, duration, result, None, 0, tuple(lines), stderr=tuple(stderr)
    )


def fail(
    reason: str = "exit code 1",
    *,
    duration: float = 0.0,
    exit_code: int = 1,
    stderr: Iterable[str] = (),
) -> Step:
    """An attempt that fails with ``reason`` (after printing ``stderr``)."""
    return Step(BranchStatus.FAILED, duration, None, reason, exit_code, stderr=tuple(stderr))


def time_out(after: float = 1.0) -> Step:
    """An attempt that times out after ``after`` seconds."""
    return Step(BranchStatus.TIMED_OUT, after, None, f"timed out after {after:g}s")


def hang(*, stop_s: float = 0.0) -> Step:
    """An attempt that runs until cancelled; ending it takes ``stop_s``."""
    return Step(hang=True, stop_s=stop_s)


@dataclass(slots=True)
class AttemptCall:
    """What the scripted executor saw of one attempt."""

    branch_id: str
    attempt: int
    started: float
    alongside: tuple[str, ...]
    """Branches whose attempts were running as this one started (itself included)."""
    ended: float | None = None
    cancelled: bool = False
    stdin: bytes | None = None


@dataclass
class ScriptedExecutor:
    """An :class:`~fanout_tui.engine._executor.Executor` that plays a script instead of
    starting processes.

    Args:
        script: Branch id to the steps of its successive attempts; when a branch's steps
            run out its last step repeats, and a branch not in the script uses ``default``.
        default: The step of every unscripted attempt.
    """

    script: Mapping[str, Sequence[Step]] = field(default_factory=dict)
    default: Step = field(default_factory=Step)
    calls: list[AttemptCall] = field(default_factory=list)
    """Every attempt, in the order they started."""
    live: list[str] = field(default_factory=list)
    """Branches with an attempt running now."""
    hooks: dict[str, Callable[[AttemptCall], None]] = field(default_factory=dict)
    """Branch id to a function called synchronously as each of its attempts starts."""
    _played: dict[str, int] = field(default_factory=dict, repr=False)

    async def run_attempt(
        self,
        branch: BranchPlan,
        attempt: int,
        *,
        emit: Callable[[Event], None],
        masker: Masker,
        clock: Clock,
        log_dir: Path | None,
        stdin: bytes | None = None,
        environment: Mapping[str, str] | None = None,
    ) -> AttemptResult:
        """Play the next step of ``branch``'s script (see ``Executor.run_attempt``)."""
        steps = self.script.get(branch.id, ())
        done = self._played.get(branch.id, 0)
        self._played[branch.id] = done + 1
        step = steps[min(done, len(steps) - 1)] if steps else self.default
        self.live.append(branch.id)
        call = AttemptCall(branch.id, attempt, clock.now(), tuple(self.live), stdin=stdin)
        self.calls.append(call)
        hook = self.hooks.get(branch.id)
        if hook is not None:
            hook(call)
        try:
            if step.lines:
                lines = tuple(masker.mask(line) for line in step.lines)
                emit(OutputLines(branch.id, attempt, "stdout", lines))
            if step.stderr:
                lines = tuple(masker.mask(line) for line in step.stderr)
                emit(OutputLines(branch.id, attempt, "stderr", lines))
            if step.hang:
                await anyio.sleep_forever()
            await clock.sleep(step.duration)
        except anyio.get_cancelled_exc_class():
            with anyio.CancelScope(shield=True):
                await clock.sleep(step.stop_s)
            call.cancelled = True
            call.ended = clock.now()
            raise
        finally:
            self.live.remove(branch.id)
        call.ended = clock.now()
        result = step.result
        if result is None and step.status is BranchStatus.SUCCEEDED:
            result = branch.id
        return AttemptResult(step.status, step.reason, step.exit_code, result)

    def cut_grace(self) -> None:
        """Nothing to cut: a scripted attempt ends in its step's ``stop_s``."""

    async def end_leftovers(self, mark: str, grace_s: float, *, escaped_only: bool) -> None:
        """Nothing to end: a script starts no processes."""

    def attempts_of(self, branch_id: str) -> list[AttemptCall]:
        """The attempts of one branch, in order."""
        return [call for call in self.calls if call.branch_id == branch_id]

    def max_overlap(self, branch_ids: Iterable[str] | None = None) -> int:
        """The most attempts (of ``branch_ids``, default all) that ever ran at the same time.

        An attempt occupies ``[started, ended)``; one that ends when another starts does
        not overlap it.
        """
        wanted = None if branch_ids is None else set(branch_ids)
        edges: list[tuple[float, int]] = []
        for call in self.calls:
            if wanted is not None and call.branch_id not in wanted:
                continue
            edges.append((call.started, 1))
            edges.append((call.ended if call.ended is not None else float("inf"), -1))
        running = peak = 0
        for _, change in sorted(edges):  # at equal times, ends (-1) sort before starts
            running += change
            peak = max(peak, running)
        return peak
