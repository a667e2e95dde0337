"""Running a ``call`` branch: a Python function ``module:function`` with keyword arguments.

The target is imported in-process (in a worker thread, so a slow import does not stall
the event loop) to learn what it is:

* A coroutine function runs in-process under its own cancel scope; its timeout is
  measured on the engine's clock. What it prints becomes its output lines
  (:mod:`fanout_tui.engine._call_output`). It is given no stdin (a synthesizer that reads
  the results document from stdin must be a command or a plain function).
* A plain function runs in a worker process (:mod:`fanout_tui.engine._call_worker`) in
  its own process group, so cancel and timeout can really stop it, exactly like a
  command. Its prints are the branch's output lines; the return value comes back
  through a dedicated pipe.

Either way the return value, which must be JSON-serialisable, is the result, checked
against the output contract's schema; an exception fails the attempt with its message.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

import anyio
import anyio.to_thread

from fanout_tui.engine import _call_worker as call_worker
from fanout_tui.engine._attempt_result import AttemptResult, contract_broken, failed, timed_out
from fanout_tui.engine._call_output import routed_output
from fanout_tui.engine._call_worker import (
    CallError,
    NotJSON,
    exception_reason,
    is_async,
    plain_json,
    resolve,
)
from fanout_tui.engine._clock import Clock
from fanout_tui.engine._events import BranchStatus
from fanout_tui.engine._output import RESULT_CAP, RESULT_CAP_WORDS, ContractError, check_schema
from fanout_tui.engine._process import (
    BranchProcess,
    StartError,
    branch_environment,
    signal_name,
    spawn,
)
from fanout_tui.engine._supervise import Streams, supervise
from fanout_tui.spec import BranchPlan

_REPLY_OVERHEAD = 64 * 1024
"""Room in the worker's reply for its envelope around the result."""


async def run_call(
    branch: BranchPlan,
    *,
    streams: Streams,
    started: Callable[[BranchProcess], None],
    clock: Clock,
    stdin: bytes | None,
    environment: Mapping[str, str] | None = None,
) -> AttemptResult:
    """Run one attempt of the ``call`` branch ``branch`` (see the module docstring)."""
    assert branch.call is not None, "only call branches come here"
    python_path = [str(path) for path in branch.python_path]
    try:
        function = await anyio.to_thread.run_sync(
            resolve, branch.call, python_path, abandon_on_cancel=True
        )
    except CallError as error:
        return failed(str(error))
    if is_async(function):
        return await _call_in_process(branch, function, streams=streams, clock=clock)
    return await _call_in_worker(
        branch,
        python_path,
        streams=streams,
        started=started,
        clock=clock,
        stdin=stdin,
        environment=environment,
    )


async def _call_in_process(
    branch: BranchPlan, function: Callable[..., Any], *, streams: Streams, clock: Clock
) -> AttemptResult:
    expired = False
    outcome: AttemptResult | None = None
    value: Any = None

    async def expire(scope: anyio.CancelScope, seconds: float) -> None:
        nonlocal expired
        await clock.sleep(seconds)
        expired = True
        scope.cancel()

    with anyio.CancelScope() as scope:
        async with anyio.create_task_group() as tg:
            if branch.timeout_s is not None:
                tg.start_soon(expire, scope, branch.timeout_s)
            quiet = replace(streams, keep_stdout=0)
            try:
                with routed_output(quiet.stdout_sink(), quiet.stderr_sink()):
                    value = await function(**dict(branch.with_args))
            except Exception as error:  # the user's function failed: that is the result
                outcome = failed(exception_reason(error))
            tg.cancel_scope.cancel()
    if expired:
        return timed_out(branch)
    if outcome is not None:
        return outcome
    try:
        plain = plain_json(value)
    except NotJSON as error:
        return failed(str(error))
    return _judged(branch, plain, streams)


async def _call_in_worker(
    branch: BranchPlan,
    python_path: list[str],
    *,
    streams: Streams,
    started: Callable[[BranchProcess], None],
    clock: Clock,
    stdin: bytes | None,
    environment: Mapping[str, str] | None,
) -> AttemptResult:
    request = {"target": branch.call, "kwargs": dict(branch.with_args), "python_path": python_path}
    argv = [sys.executable, "-u", "-P", call_worker.__file__, "", ""]
    with tempfile.TemporaryFile() as request_file:
        # YAML may give dates: the worker gets them as their text, as fingerprints do.
        request_file.write(json.dumps(request, default=str).encode())
        request_file.flush()
        request_file.seek(0)
        reply_r, reply_w = os.pipe()
        argv[-2:] = [str(request_file.fileno()), str(reply_w)]
        try:
            proc = spawn(
                argv,
                cwd=branch.cwd,
                env=branch_environment(branch.env, environment),
                feed_stdin=stdin is not None,
                pass_fds=(request_file.fileno(), reply_w),
            )
        except StartError as error:
            os.close(reply_r)
            return failed(str(error))
        finally:
            os.close(reply_w)
    os.set_blocking(reply_r, False)
    started(proc)
    try:
        outcome = await supervise(
            proc,
            replace(streams, keep_stdout=0),
            clock=clock,
            timeout_s=branch.timeout_s,
            grace_s=branch.kill_grace_s,
            stdin=stdin,
            channel_fd=reply_r,
            channel_limit=RESULT_CAP + _REPLY_OVERHEAD,
        )
    finally:
        os.close(reply_r)
    if outcome.timed_out:
        return timed_out(branch)
    if outcome.channel is None:
        return failed(f"result is larger than {RESULT_CAP_WORDS}")
    if not outcome.channel:
        code = outcome.returncode
        if code < 0:
            return failed(f"the call was killed by {signal_name(-code)}")
        return failed(f"the call ended without a result (exit code {code})")
    try:
        reply = json.loads(outcome.channel)
    except ValueError:
        return failed("the call's reply was cut short")
    if not reply["ok"]:
        return failed(reply["error"])
    return _judged(branch, reply["result"], streams)


def _judged(branch: BranchPlan, value: Any, streams: Streams) -> AttemptResult:
    try:
        check_schema(value, branch.output)
    except ContractError as error:
        return contract_broken(str(error))
    return AttemptResult(BranchStatus.SUCCEEDED, result=streams.masker.mask_value(value))
