"""Running a ``call`` branch: a Python function ``module:function`` with keyword arguments.

Every call, sync or async, runs in a worker process (:mod:`fanout_tui.engine._call_pool`),
never in fanout-tui's own interpreter: a module that exits, crashes or blocks at import or
in a call takes down only its worker, and fanout-tui stays responsive. The run's
:class:`CallPool` (owned by its executor, :data:`CALL_WORKERS`) keeps workers alive
between calls, so a module is imported once and async calls run concurrently on a
worker's event loop.

The timeout, measured on the engine's clock, covers starting the worker and importing
the module. A timeout or cancel of a plain function ends its worker's process group; an
async call is cancelled on the worker's loop, and if the loop does not give way within the
branch's ``kill_grace`` (something blocked it) the worker's group is ended, failing the
other calls it held with a reason that says so.

What a call prints is its branch's output lines; the return value, which must be
JSON-serialisable, is the result, checked against the output contract's schema; an
exception fails the attempt with its message.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import replace
from typing import Any

import anyio

from fanout_tui.engine._attempt_result import AttemptResult, contract_broken, failed, timed_out
from fanout_tui.engine._call_pool import (
    ASYNC_CALLS_PER_WORKER,
    CallWorker,
    WorkerCall,
    WorkerKey,
    start_worker,
)
from fanout_tui.engine._call_worker import CallError, split_target
from fanout_tui.engine._clock import Clock
from fanout_tui.engine._environment import branch_environment
from fanout_tui.engine._events import BranchStatus
from fanout_tui.engine._output import ContractError, check_schema
from fanout_tui.engine._process import GRACE_CUT, BranchProcess, StartError
from fanout_tui.engine._supervise import Streams
from fanout_tui.spec import BranchPlan


class CallPool:
    """The worker processes of one run's ``call`` branches (see the module docstring)."""

    def __init__(self) -> None:
        self._workers: dict[WorkerKey, list[CallWorker]] = {}
        self._kinds: dict[tuple[WorkerKey, str], str] = {}
        self._probes: dict[tuple[WorkerKey, str], WorkerCall] = {}
        self._ids = itertools.count(1)

    async def run(
        self,
        branch: BranchPlan,
        *,
        streams: Streams,
        started: Callable[[BranchProcess], None],
        clock: Clock,
        stdin: bytes | None,
        environment: Mapping[str, str] | None = None,
    ) -> AttemptResult:
        """Run one attempt of the ``call`` branch ``branch`` in a worker."""
        assert branch.call is not None, "only call branches come here"
        try:
            module, function = split_target(branch.call)
        except CallError as error:
            return failed(str(error))
        env = branch_environment(branch.env, environment)
        python_path = tuple(str(path) for path in branch.python_path)
        key: WorkerKey = (module, branch.cwd, frozenset(env.items()), python_path)
        quiet = replace(streams, keep_stdout=0)
        call = WorkerCall(
            call_id=next(self._ids),
            target=branch.call,
            function=function,
            kwargs=dict(branch.with_args),
            stdin=None if stdin is None else stdin.decode("utf-8", "replace"),
            sinks=(quiet.stdout_sink(), quiet.stderr_sink()),
        )
        worker: CallWorker | None = None
        expired = False
        start_error: str | None = None

        async def expire(scope: anyio.CancelScope, seconds: float) -> None:
            nonlocal expired
            await clock.sleep(seconds)
            expired = True
            scope.cancel()

        try:
            async with anyio.create_task_group() as tg:
                if branch.timeout_s is not None:
                    tg.start_soon(expire, tg.cancel_scope, branch.timeout_s)
                try:
                    worker = await self._place(call, key, env)
                except StartError as error:
                    start_error = str(error)
                else:
                    await worker.wait(call.startable)
                    if not call.done.is_set():
                        started(worker.proc)
                        await worker.send(call)
                        await worker.wait(call.done)
                tg.cancel_scope.cancel()
        finally:
            if worker is not None and call.reply is None:
                await self._abandon(call, worker, branch.kill_grace_s)
            for sink in call.sinks:
                sink.finish()
        if start_error is not None:
            return failed(start_error)
        reply = call.reply
        if expired and (reply is None or "cancelled" in reply or not reply["ok"]):
            # its timeout ended it: whatever the ending made of its reply (a worker ended
            # under it says so too), it timed out
            return timed_out(branch)
        if reply is None or "cancelled" in reply:
            return failed("the call was cancelled inside its worker")
        if not reply["ok"]:
            return failed(reply["error"])
        return _judged(branch, reply["result"], streams)

    async def _place(
        self, call: WorkerCall, key: WorkerKey, env: Mapping[bytes, bytes]
    ) -> CallWorker:
        """Put ``call`` on a worker: a shared one for a known async function, one of its
        own otherwise (the first call of a function learns its kind; later ones wait)."""
        slot = (key, call.function)
        while True:
            kind = self._kinds.get(slot)
            probe = self._probes.get(slot)
            if kind is None and probe is not None:
                if probe.kind is not None:
                    kind = self._kinds[slot] = probe.kind
                elif probe.reply is None:
                    await probe.kind_known.wait()
                    continue
            break
        workers = self._usable(key)
        if kind == "async":
            shared = (w for w in workers if w.holds_only_async())
            worker = next((w for w in shared if len(w.calls) < ASYNC_CALLS_PER_WORKER), None)
        else:
            idle = sorted((w for w in workers if not w.calls), key=lambda w: not w.ready.is_set())
            worker = idle[0] if idle else None
        if worker is None:
            worker = start_worker(key, env)
            workers.append(worker)
        call.kind = kind
        if kind is None:
            self._probes[slot] = call
        worker.take(call)
        return worker

    def _usable(self, key: WorkerKey) -> list[CallWorker]:
        """The workers for ``key`` that can take calls (the others are let go)."""
        workers = self._workers.setdefault(key, [])
        for worker in workers:
            if not worker.usable:
                worker.release()
        workers[:] = [worker for worker in workers if worker.usable]
        return workers

    async def _abandon(self, call: WorkerCall, worker: CallWorker, grace_s: float) -> None:
        """Stop ``call`` (timed out or cancelled), shielded from cancellation."""
        with anyio.CancelScope(shield=True):
            cut = GRACE_CUT.get()
            grace_s = 0.0 if cut is not None and cut.is_cut else grace_s
            if call.call_id not in worker.calls:
                return
            if not call.sent:
                del worker.calls[call.call_id]
                if not worker.calls and not worker.ready.is_set():
                    await worker.end(grace_s)  # stuck importing, and no one else waits
                return
            if call.kind != "async":
                await worker.end(grace_s)  # a plain function: the worker is its own
                return
            await worker.cancel(call)
            with anyio.move_on_after(grace_s):
                await worker.wait(call.done)
            if not call.done.is_set():
                del worker.calls[call.call_id]
                reason = f"the worker was ended: another call on it ({call.target}) blocked it"
                await worker.end(0.0, reason)

    async def close(self, grace_s: float) -> None:
        """End every worker (idle ones leave at once); the pool can still be used after."""
        workers = [worker for group in self._workers.values() for worker in group]
        self._workers.clear()
        self._probes.clear()
        with anyio.CancelScope(shield=True):
            async with anyio.create_task_group() as tg:
                for worker in workers:
                    tg.start_soon(worker.end, grace_s)


CALL_WORKERS: ContextVar[CallPool | None] = ContextVar("fanout_tui_call_workers", default=None)
"""The :class:`CallPool` of the run the current task belongs to, if any."""


async def run_call(
    branch: BranchPlan,
    *,
    streams: Streams,
    started: Callable[[BranchProcess], None],
    clock: Clock,
    stdin: bytes | None,
    environment: Mapping[str, str] | None = None,
) -> AttemptResult:
    """Run one attempt of the ``call`` branch ``branch`` on the run's :data:`CALL_WORKERS`
    (or, outside a run, on a pool of its own, closed when it ends)."""
    pool = CALL_WORKERS.get()
    own = pool is None
    pool = pool or CallPool()
    try:
        return await pool.run(
            branch,
            streams=streams,
            started=started,
            clock=clock,
            stdin=stdin,
            environment=environment,
        )
    finally:
        if own:
            await pool.close(branch.kill_grace_s)


def _judged(branch: BranchPlan, value: Any, streams: Streams) -> AttemptResult:
    try:
        check_schema(value, branch.output)
    except ContractError as error:
        return contract_broken(str(error))
    return AttemptResult(BranchStatus.SUCCEEDED, result=streams.masker.mask_value(value))
