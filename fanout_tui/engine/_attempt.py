"""One attempt of one branch, for real: start it, stream its output, end it, judge it.

:func:`execute_attempt` is what the scheduler calls for every attempt. It never raises for
anything the branch does (a start failure, a crash, a broken output contract are
:class:`AttemptResult` values); only cancellation from outside propagates, after the
attempt's whole process group has been ended.

A ``run`` branch's stdout is its result and stderr its log; both become masked
:class:`~fanout_tui.engine._events.OutputLines` and log files. A ``call`` branch is run by
:mod:`fanout_tui.engine._call`, an ``llm`` branch by :mod:`fanout_tui.engine.llm` (its
reply is its stdout).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import replace
from pathlib import Path

import anyio

from fanout_tui.engine._attempt_result import (
    REASON_CAP,
    AttemptResult,
    contract_broken,
    failed,
    timed_out,
)
from fanout_tui.engine._clock import Clock
from fanout_tui.engine._environment import branch_environment
from fanout_tui.engine._events import BranchStatus, Event, OutputLines, ProcessStarted, Stream
from fanout_tui.engine._output import RESULT_CAP, RESULT_CAP_WORDS, ContractError, parse_output
from fanout_tui.engine._process import (
    BranchProcess,
    StartError,
    signal_name,
    spawn,
)
from fanout_tui.engine._streams import LogFile
from fanout_tui.engine._supervise import Streams, supervise
from fanout_tui.engine.llm._client import HttpClient
from fanout_tui.spec import BranchPlan, Masker

__all__ = ["AttemptResult", "attempt_log_paths", "execute_attempt"]


def attempt_log_paths(
    log_dir: Path | None, branch_id: str, attempt: int
) -> tuple[Path | None, Path | None]:
    """Where an attempt's full stdout and stderr are written (``None`` without a log folder).

    Side by side in the log folder, ``<branch>.attempt-<n>.stdout``: creating a folder per
    branch cost as much again as its files on a 500-branch run, and a branch id (letters,
    digits, ``_.-``) is a safe file name start, even ``..``.
    """
    if log_dir is None:
        return None, None
    stem = f"{branch_id}.attempt-{attempt}"
    return log_dir / f"{stem}.stdout", log_dir / f"{stem}.stderr"


async def execute_attempt(
    branch: BranchPlan,
    attempt: int,
    *,
    emit: Callable[[Event], None],
    masker: Masker,
    clock: Clock,
    log_dir: Path | None,
    stdin: bytes | None = None,
    environment: Mapping[str, str] | None = None,
    http: HttpClient | None = None,
) -> AttemptResult:
    """Run one attempt of ``branch`` and return how it ended.

    Emits :class:`~fanout_tui.engine._events.ProcessStarted` once a process is alive and
    :class:`~fanout_tui.engine._events.OutputLines` (masked) as output arrives. Writes the
    full masked stdout and stderr to :func:`attempt_log_paths`.

    Args:
        branch: The branch to run (``run`` or ``call``).
        attempt: The attempt number, from 1.
        emit: Receives the events; must be cheap.
        masker: Masks every line, log byte and the result.
        clock: Measures ``branch.timeout_s``.
        log_dir: Folder for the log files, or ``None`` for none.
        stdin: Bytes fed to the process's stdin (the synthesizer's results document).
        environment: The environment the attempt's processes start from, the branch's
            ``env`` on top (``None``: ours, as it is now).
        http: The run's HTTP client, for an ``llm`` branch (``None``: one of its own).

    Raises:
        anyio.get_cancelled_exc_class(): when cancelled from outside, after the attempt's
            whole process group has been ended.
    """

    def lines_of(stream: Stream) -> Callable[[list[str], int], None]:
        def on_lines(lines: list[str], skipped: int) -> None:
            emit(OutputLines(branch.id, attempt, stream, tuple(lines), skipped))

        return on_lines

    def started(proc: BranchProcess) -> None:
        emit(ProcessStarted(branch.id, attempt, proc.pid, proc.pgid, proc.start_time))

    stdout_log, stderr_log = (
        None if path is None else LogFile(path, branch.log_cap)
        for path in attempt_log_paths(log_dir, branch.id, attempt)
    )
    streams = Streams(
        masker=masker,
        on_stdout=lines_of("stdout"),
        on_stderr=lines_of("stderr"),
        stdout_log=stdout_log,
        stderr_log=stderr_log,
        keep_stdout=RESULT_CAP,
    )
    try:
        if branch.llm is not None:

            def on_partial(text: str) -> None:
                emit(OutputLines(branch.id, attempt, "stdout", (), partial=text))

            result = await _run_llm(branch, streams, clock, http, stdin, environment, on_partial)
        else:
            if branch.call is not None:
                # Imported only for calls: a run of commands does not pay for them.
                from fanout_tui.engine._call import run_call

                run: Callable[..., Awaitable[AttemptResult]] = run_call
            else:
                run = _run_command
            result = await run(
                branch,
                streams=streams,
                started=started,
                clock=clock,
                stdin=stdin,
                environment=environment,
            )
        if result.reason is None:
            return result
        reason = masker.mask(result.reason)
        if stderr_log is not None and (result.exit_code is None or len(reason) > REASON_CAP):
            # Not visible in the output otherwise: why it could not start, timed out, a
            # reason too long to show whole...
            stderr_log.note(f"[fanout-tui] {reason}\n")
        return replace(result, reason=reason)
    finally:
        for log in (stdout_log, stderr_log):
            if log is not None:
                log.close()


async def _run_llm(
    branch: BranchPlan,
    streams: Streams,
    clock: Clock,
    http: HttpClient | None,
    stdin: bytes | None,
    environment: Mapping[str, str] | None,
    on_partial: Callable[[str], None],
) -> AttemptResult:
    from fanout_tui.engine.llm._run import run_llm  # httpx only for runs that need it

    own = http is None
    client = HttpClient() if http is None else http
    try:
        return await run_llm(
            branch,
            streams=streams,
            clock=clock,
            http=client,
            stdin=stdin,
            environment=environment,
            on_partial=on_partial,
        )
    finally:
        if own:
            with anyio.CancelScope(shield=True):
                await client.aclose()


async def _run_command(
    branch: BranchPlan,
    *,
    streams: Streams,
    started: Callable[[BranchProcess], None],
    clock: Clock,
    stdin: bytes | None,
    environment: Mapping[str, str] | None,
) -> AttemptResult:
    assert branch.run is not None, "a branch runs a command or calls a function"
    shell = isinstance(branch.run, str)
    argv = ["/bin/sh", "-c", branch.run] if isinstance(branch.run, str) else list(branch.run)
    if not argv:
        return failed("the command is empty")
    try:
        proc = spawn(
            argv,
            cwd=branch.cwd,
            env=branch_environment(branch.env, environment),
            feed_stdin=stdin is not None,
        )
    except StartError as error:
        return failed(str(error))
    started(proc)
    outcome = await supervise(
        proc,
        streams,
        clock=clock,
        timeout_s=branch.timeout_s,
        grace_s=branch.kill_grace_s,
        stdin=stdin,
    )
    if outcome.timed_out:
        return timed_out(branch)
    code = outcome.returncode
    if code < 0:
        return failed(f"killed by {signal_name(-code)}")
    if code not in branch.success_exit_codes:
        return failed(_exit_reason(code, branch.success_exit_codes, shell=shell), exit_code=code)
    if outcome.stdout_overflowed:
        return failed(f"output is larger than {RESULT_CAP_WORDS}", exit_code=code)
    if outcome.stdout is None:
        return failed("the output could not be read back from its log", exit_code=code)
    try:
        result = parse_output(outcome.stdout, branch.output)
    except ContractError as error:
        return contract_broken(str(error), exit_code=code)
    return AttemptResult(
        BranchStatus.SUCCEEDED, exit_code=code, result=streams.masker.mask_value(result)
    )


def _exit_reason(code: int, success: Collection[int], *, shell: bool) -> str:
    """``exit code 7``; for a shell command, what the shell's own codes 126/127 mean; and
    which codes succeed when that is not just 0 (``exit code 0 (success is 3 or 4)``)."""
    if shell and code == 127:
        return "exit code 127 (command not found)"
    if shell and code == 126:
        return "exit code 126 (command not executable)"
    if set(success) == {0}:
        return f"exit code {code}"
    *most, last = (str(each) for each in sorted(success))
    codes = f"{', '.join(most)} or {last}" if most else last
    return f"exit code {code} (success is {codes})"
