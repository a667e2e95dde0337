"""What runs on a Dask worker: one attempt as a task, and the client's orders for it.

:func:`run_attempt_task` is the task. It runs the attempt with the engine's own process
code (:func:`~fanout_tui.engine._attempt.execute_attempt`: its own session and process
group, the run's mark in its environment, the grace and SIGKILL of ``_process``) on an
event loop of its own in the task's thread. The branch's environment and working folder are
the worker's; its output is masked here, with the run's secret values shipped in the
:class:`~fanout_tui.spec.Masker`, before it leaves for the client through an
:class:`~fanout_tui.engine.dask._outbox.Outbox`.

The client reaches running attempts through ``Client.run`` (:func:`cancel_attempt`,
:func:`cut_grace`, :func:`end_marked`): Dask cannot stop a running task, so each attempt
registers its cancel scope here, by task key. An attempt whose task the scheduler cancels
behind our back (its client was killed and never said so) ends too: its outbox watches.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, replace
from importlib import import_module
from typing import TYPE_CHECKING

import anyio

from fanout_tui.engine._attempt import execute_attempt
from fanout_tui.engine._attempt_result import AttemptResult, failed
from fanout_tui.engine._clock import SystemClock
from fanout_tui.engine._events import BranchStatus, Event, OutputLines, ProcessStarted
from fanout_tui.engine._process import GRACE_CUT, GraceCut
from fanout_tui.engine._run_mark import end_marked_groups
from fanout_tui.engine.dask._outbox import Outbox
from fanout_tui.engine.dask._watchdog import WATCHDOG
from fanout_tui.spec import BranchPlan, Masker

if TYPE_CHECKING:
    from distributed import Worker

_EARLY_CANCELS = 10_000
"""Cancelled keys remembered before their task started (a cancel can overtake it)."""


@dataclass(frozen=True, slots=True)
class RemoteAttempt:
    """Everything a worker needs to run one attempt (pickled into the task)."""

    branch: BranchPlan
    attempt: int
    key: str
    """The Dask task key, unique to this attempt; also the name of its output queue."""
    run: str
    """The run's token: :func:`cut_grace` reaches the attempts of one run."""
    masker: Masker
    environment: dict[str, str]
    """What the run adds to the worker's environment (its mark, journal marks)."""
    stdin: bytes | None = None


@dataclass(slots=True)
class _Running:
    loop: asyncio.AbstractEventLoop
    scope: anyio.CancelScope


_lock = threading.Lock()
_running: dict[str, _Running] = {}
_cancelled_early: OrderedDict[str, None] = OrderedDict()
_grace_cuts: dict[str, GraceCut] = {}


def run_attempt_task(job: RemoteAttempt) -> AttemptResult:
    """The Dask task: run ``job`` on this worker and return how it ended."""
    from distributed import get_worker

    here = get_worker()
    address = here.address
    loop = here.loop.asyncio_loop  # type: ignore[attr-defined]
    outbox = Outbox(here.scheduler, loop, job.key, lambda: _wanted(here, job.key))
    # A rerun of an attempt the client gave up on (its worker was lost) finds its queue
    # released: the outbox is abandoned, and that cancels the attempt (see ``_run``).
    outbox.put(["placed", address])
    try:
        result = anyio.run(_run, job, outbox, address)
    finally:
        outbox.close()
    return result


async def _run(job: RemoteAttempt, outbox: Outbox, address: str) -> AttemptResult:
    branch = job.branch
    groups: list[int] = []

    def emit(event: Event) -> None:
        if isinstance(event, OutputLines):
            outbox.put(["lines", event.stream, list(event.lines)])
        elif isinstance(event, ProcessStarted):  # a pid of this host: it stays here
            WATCHDOG.watch(event.pgid)
            groups.append(event.pgid)

    with _lock:
        cut = _grace_cuts.setdefault(job.run, GraceCut())
    token = GRACE_CUT.set(cut)
    try:
        with anyio.CancelScope() as scope:
            if not _register(job.key, _Running(asyncio.get_running_loop(), scope)):
                scope.cancel()
            loop = asyncio.get_running_loop()
            outbox.when_abandoned(lambda: _call_soon(loop, scope.cancel))
            result = await execute_attempt(
                branch,
                job.attempt,
                emit=emit,
                masker=job.masker,
                clock=SystemClock(),
                log_dir=None,
                stdin=job.stdin,
                environment={**os.environ, **job.environment},
            )
            return _placed(result, address)
        return failed(f"cancelled on worker {address}")
    finally:
        GRACE_CUT.reset(token)
        with _lock:
            _running.pop(job.key, None)
        for pgid in groups:
            WATCHDOG.forget(pgid)


def _wanted(here: Worker, key: str) -> bool:
    """Whether this worker still has a use for task ``key`` (it is not cancelled: its
    client did not cancel it, nor go away)."""
    task = here.state.tasks.get(key)
    return task is not None and task.state != "cancelled"


def _call_soon(loop: asyncio.AbstractEventLoop, action: Callable[[], object]) -> None:
    """Run ``action`` on ``loop`` from another thread, unless that loop is gone."""
    with contextlib.suppress(RuntimeError):  # the attempt's loop closed meanwhile
        loop.call_soon_threadsafe(action)


def _placed(result: AttemptResult, address: str) -> AttemptResult:
    """A failure that happened before the branch ran (it could not start, its module does
    not import) names the worker: it is about that worker's files."""
    if result.status is BranchStatus.FAILED and result.exit_code is None and result.reason:
        return replace(result, reason=f"{result.reason} (on worker {address})")
    return result


def _register(key: str, running: _Running) -> bool:
    """Register a starting attempt; False when it was cancelled before it started."""
    with _lock:
        if key in _cancelled_early:
            del _cancelled_early[key]
            return False
        _running[key] = running
        return True


def prepare() -> None:
    """Make this worker ready for attempts (what the first one would otherwise pay for):
    this module and the engine's are imported by now, and the watchdog starts."""
    import_module("anyio._backends._asyncio")  # what an attempt's first event loop loads
    WATCHDOG.start()


def cancel_attempt(key: str) -> None:
    """Cancel the attempt ``key`` on this worker (its group gets SIGTERM, its grace, then
    SIGKILL), or, if it has not started yet, keep it from starting."""
    with _lock:
        running = _running.get(key)
        if running is None:
            _cancelled_early[key] = None
            while len(_cancelled_early) > _EARLY_CANCELS:
                _cancelled_early.popitem(last=False)
            return
    _call_soon(running.loop, running.scope.cancel)


def cut_grace(run: str) -> None:
    """End every grace period of run ``run``'s attempts on this worker, now and later."""
    with _lock:
        _grace_cuts.setdefault(run, GraceCut()).cut()


async def end_marked(mark: str, grace_s: float, escaped_only: bool, run: str) -> int:
    """End the groups of this worker's processes that carry ``mark`` (in the worker's
    event loop: ``Client.run`` awaits a coroutine function there)."""
    with _lock:
        cut = _grace_cuts.get(run)
    token = GRACE_CUT.set(cut)
    try:
        return await end_marked_groups(mark, grace_s, escaped_only=escaped_only)
    finally:
        GRACE_CUT.reset(token)


def forget_run(run: str) -> None:
    """The run ended: drop what this worker kept for it."""
    with _lock:
        _grace_cuts.pop(run, None)
