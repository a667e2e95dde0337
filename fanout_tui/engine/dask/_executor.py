"""The client's side: :class:`DaskExecutor`, which runs each attempt as a Dask task.

Scheduling, limits, retries, merge, policy and the journal stay in the engine; this
executor only turns one attempt into one task (a unique key, ``pure=False``: never a cached
result), follows its output live through its queue (see :mod:`._outbox`), and gives back
its :class:`~fanout_tui.engine._attempt.AttemptResult`. The full logs are written here, in
the run's log folder, from the streamed lines.

Cancellation asks the attempt's worker to end the attempt's group (``Client.run``, see
:mod:`._worker`) and waits until its task has returned, so the group is gone before the
cancellation propagates, as with the local executor. A worker the scheduler removes while
it runs one of our attempts (it died, or was shut down) fails that attempt with "worker …
was lost"; its task is cancelled so Dask does not run it again behind the engine's back
(the retry policy decides), and a rerun already under way finds its queue released.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
from distributed import Client, Queue, wait

from fanout_tui.engine._attempt import attempt_log_paths
from fanout_tui.engine._attempt_result import AttemptResult, failed
from fanout_tui.engine._clock import Clock
from fanout_tui.engine._events import AttemptPlaced, Event, OutputLines
from fanout_tui.engine._process import KILL_CONFIRM_S
from fanout_tui.engine._streams import LogFile
from fanout_tui.engine.dask import _worker as worker
from fanout_tui.engine.dask._outbox import QUEUE_ITEMS
from fanout_tui.spec import BranchPlan, Masker

CONNECT_TIMEOUT_S = 10.0
"""How long connecting to the scheduler may take."""
_END_MARGIN_S = 5.0
"""Beyond grace and SIGKILL's confirmation, how long a cancelled task may take to return."""
_DRAIN_S = 2.0
"""How long the output of a cancelled attempt still on its way may take to arrive."""


@dataclass(slots=True)
class _Attempt:
    """What the client knows of one attempt in flight."""

    lost: anyio.Event = field(default_factory=anyio.Event)
    worker: str | None = None
    lost_on: set[str] = field(default_factory=set)
    """Workers removed while the scheduler had this attempt on them."""
    ended: bool = False
    """Its last item (``["end"]``) arrived."""

    def placed(self, address: str) -> None:
        self.worker = address
        if address in self.lost_on:
            self.lost.set()


class DaskExecutor:
    """Runs attempts on the Dask cluster whose scheduler is at ``address``.

    One per engine (its run's grace cut and leftovers are its own). It connects on the
    first attempt, on the engine's event loop; the last :meth:`end_leftovers` of the run
    (``escaped_only=False``) closes the connection.

    Args:
        address: The scheduler, ``tcp://HOST:PORT``.
    """

    def __init__(self, address: str) -> None:
        self.address = address
        self._run = uuid.uuid4().hex[:12]
        self._client: Client | None = None
        self._connecting: asyncio.Lock | None = None
        self._attempts: dict[str, _Attempt] = {}
        self._background: set[asyncio.Task[Any]] = set()

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
        """Run the attempt as a task on a worker (see ``Executor.run_attempt``).

        ``clock`` is not used: the worker measures the timeout on its own clock.
        """
        client = await self._connected()
        key = f"fanout-{self._run}-{branch.id}-{attempt}-{uuid.uuid4().hex[:8]}"
        state = self._attempts[key] = _Attempt()
        queue = await Queue(key, client=client, maxsize=QUEUE_ITEMS)
        job = worker.RemoteAttempt(
            branch, attempt, key, self._run, masker, _run_variables(environment), stdin
        )
        logs = [
            None if path is None else LogFile(path, branch.log_cap)
            for path in attempt_log_paths(log_dir, branch.id, attempt)
        ]
        future = client.submit(worker.run_attempt_task, job, key=key, pure=False, retries=0)

        def on_item(item: list[Any]) -> None:
            if item[0] == "placed":
                state.placed(item[1])
                emit(AttemptPlaced(branch.id, attempt, item[1]))
            else:
                stream, lines = item[1], tuple(item[2])
                emit(OutputLines(branch.id, attempt, stream, lines))
                log = logs[stream == "stderr"]
                if log is not None:
                    log.write("".join(f"{line}\n" for line in lines).encode())

        try:
            result = await self._follow(state, queue, future, on_item)
            if result.reason is not None and result.exit_code is None and logs[1] is not None:
                logs[1].note(f"[fanout-tui] {masker.mask(result.reason)}\n")
            return result
        except BaseException:
            with anyio.CancelScope(shield=True):
                returned = await self._cancel(key, state, future, branch.kill_grace_s)
                if returned and not state.ended:  # its last output is still on its way
                    with anyio.move_on_after(_DRAIN_S), contextlib.suppress(Exception):
                        await _pass_on(queue, on_item)
            raise
        finally:
            queue.close()
            future.release()
            del self._attempts[key]
            for log in logs:
                if log is not None:
                    log.close()

    async def _follow(
        self,
        state: _Attempt,
        queue: Queue,
        future: Any,
        on_item: Callable[[list[Any]], None],
    ) -> AttemptResult:
        """Pass the attempt's items to ``on_item`` until its end, then return its result;
        or fail it as soon as its worker is lost."""
        outcome: AttemptResult | None = None

        async def follow() -> None:
            nonlocal outcome
            await _pass_on(queue, on_item)
            state.ended = True
            try:
                outcome = await future
            except Exception as error:
                outcome = failed(f"the attempt failed on the cluster: {error}")
            tg.cancel_scope.cancel()

        async with anyio.create_task_group() as tg:
            tg.start_soon(follow)
            await state.lost.wait()
            tg.cancel_scope.cancel()
        if outcome is not None:
            return outcome
        # Lost: never let Dask run it again elsewhere, whatever is under way there.
        assert self._client is not None
        await self._client.cancel([future], force=True)
        await self._client.run(worker.cancel_attempt, future.key, on_error="ignore")
        return failed(f"worker {state.worker} was lost")

    async def _cancel(self, key: str, state: _Attempt, future: Any, grace_s: float) -> bool:
        """End the attempt on its worker and wait (bounded) until its task returned;
        True when it ran and returned (its last output is on its way)."""
        client = self._client
        if client is None or state.lost.is_set():
            return False
        if state.worker is None:  # not started yet (or just starting somewhere)
            await client.cancel([future], force=True)
        workers = None if state.worker is None else [state.worker]
        try:
            await client.run(worker.cancel_attempt, key, workers=workers, on_error="ignore")
            await wait([future], timeout=grace_s + KILL_CONFIRM_S + _END_MARGIN_S)
        except Exception:
            return False
        return state.worker is not None and future.status == "finished"

    def cut_grace(self) -> None:
        """End every grace period of the run's attempts on every worker, now and later."""
        if self._client is not None:
            self._in_background(self._client.run(worker.cut_grace, self._run, on_error="ignore"))

    async def end_leftovers(self, mark: str, grace_s: float, *, escaped_only: bool) -> None:
        """End, on every worker, the groups of processes that carry ``mark``; the run's
        last call (``escaped_only=False``) then closes the connection."""
        client = self._client
        if client is None:
            return
        with contextlib.suppress(Exception):
            await client.run(
                worker.end_marked, mark, grace_s, escaped_only, self._run, on_error="ignore"
            )
        if not escaped_only:
            self._client = None
            with contextlib.suppress(Exception):
                await client.run(worker.forget_run, self._run, on_error="ignore")
                client.unsubscribe_topic("all")
                await client.close()

    async def _connected(self) -> Client:
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            if self._client is None:
                client = await Client(
                    self.address,
                    asynchronous=True,
                    timeout=CONNECT_TIMEOUT_S,
                    set_as_default=False,
                )
                client.subscribe_topic("all", self._on_cluster_event)
                self._in_background(_prepare_workers(client))
                self._client = client
        return self._client

    def _on_cluster_event(self, event: tuple[float, Any]) -> None:
        """The scheduler removed a worker: fail our attempts that ran on it."""
        message = event[1]
        if not isinstance(message, dict) or message.get("action") != "remove-worker":
            return
        address = message.get("worker")
        processing = set(message.get("processing-tasks") or ())
        for key, state in self._attempts.items():
            if state.worker == address:
                state.lost.set()
            elif key in processing and isinstance(address, str):
                state.lost_on.add(address)

    def _in_background(self, coroutine: Any) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)


async def _pass_on(queue: Queue, on_item: Callable[[list[Any]], None]) -> None:
    """Pass an attempt's items to ``on_item``, up to its last (``["end"]``)."""
    while (item := await queue.get())[0] != "end":
        on_item(item)


async def _prepare_workers(client: Client) -> None:
    """Ready the workers for our attempts while the first ones are on their way."""
    with contextlib.suppress(Exception):
        await client.run(worker.prepare, on_error="ignore")


def _run_variables(environment: Mapping[str, str] | None) -> dict[str, str]:
    """What the run adds to our environment (its mark, journal marks): the worker's own
    environment is the rest."""
    if environment is None:
        return {}
    return {name: value for name, value in environment.items() if os.environ.get(name) != value}
