"""Watching one started process group from its first byte to its last member.

:func:`supervise` pumps stdout and stderr concurrently (so a branch that fills one pipe
while we wait on the other never deadlocks), feeds stdin, enforces the timeout on the
engine's clock, and ends the whole group on the way out, whatever happens:

* The leader exits: the pipes get :data:`PIPE_LINGER_S` to deliver what is left; then any
  member still running (a grandchild holding stdout open, a background job) is ended, and
  a pipe held open by something outside the group stops being read.
* The timeout fires: the group is ended (SIGTERM, grace, SIGKILL); the outcome says so.
* Cancellation from outside: the group is ended under a shield, then the cancellation
  continues.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import anyio

from fanout_tui.engine._clock import Clock
from fanout_tui.engine._process import BranchProcess
from fanout_tui.engine._streams import LogFile, OutputPump, OutputSink, write_all
from fanout_tui.spec import Masker

PIPE_LINGER_S = 0.1
"""Real seconds the pipes may still deliver after the leader exits (or its group ends)."""


@dataclass(frozen=True, slots=True)
class Supervised:
    """What happened to a supervised process."""

    returncode: int
    """The leader's exit status (negative: killed by that signal)."""
    timed_out: bool
    stdout: str | None
    """Masked stdout, if it was kept and fit the cap (``None``: its log could not keep it)."""
    stdout_overflowed: bool


@dataclass(frozen=True, slots=True)
class Streams:
    """Where a supervised process's output goes."""

    masker: Masker
    on_stdout: Callable[[list[str], int], None]
    on_stderr: Callable[[list[str], int], None]
    stdout_log: LogFile | None
    stderr_log: LogFile | None
    keep_stdout: int
    """Bytes of stdout kept for the result (0: none)."""

    def stdout_sink(self) -> OutputSink:
        """A sink for the stdout of one process (or one in-process call)."""
        return OutputSink(
            on_lines=self.on_stdout,
            masker=self.masker,
            log=self.stdout_log,
            keep_limit=self.keep_stdout,
        )

    def stderr_sink(self) -> OutputSink:
        """A sink for the stderr of one process (or one in-process call)."""
        return OutputSink(
            on_lines=self.on_stderr, masker=self.masker, log=self.stderr_log, every_line=True
        )


async def supervise(
    proc: BranchProcess,
    streams: Streams,
    *,
    clock: Clock,
    timeout_s: float | None,
    grace_s: float,
    stdin: bytes | None = None,
) -> Supervised:
    """Run ``proc`` to its end (see the module docstring) and release it.

    Args:
        proc: A process just started by :func:`~fanout_tui.engine._process.spawn`.
        streams: Where its output goes.
        clock: Measures ``timeout_s``.
        timeout_s: Seconds before the group is ended as timed out (``None``: never).
        grace_s: Seconds between SIGTERM and SIGKILL.
        stdin: Bytes written to its stdin pipe (which is then closed).
    """
    out = OutputPump(proc.stdout_fd, streams.stdout_sink())
    err = OutputPump(proc.stderr_fd, streams.stderr_sink())
    timed_out = False
    fed = anyio.Event()

    async def feed() -> None:
        if stdin is not None and proc.stdin_fd is not None:
            await write_all(proc.stdin_fd, stdin)
        proc.close_stdin()
        fed.set()

    async def watchdog(scope: anyio.CancelScope, seconds: float) -> None:
        nonlocal timed_out
        with scope:
            await clock.sleep(seconds)
            timed_out = True
            await proc.end(grace_s)

    def drained() -> bool:
        return out.eof.is_set() and err.eof.is_set()

    async def pipes_drained() -> None:
        if drained():
            return
        with anyio.move_on_after(PIPE_LINGER_S):
            await out.eof.wait()
            await err.eof.wait()

    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(out.run)
            tg.start_soon(err.run)
            if proc.stdin_fd is None:
                fed.set()
            else:
                tg.start_soon(feed)
            timer = anyio.CancelScope()
            if timeout_s is not None:
                tg.start_soon(watchdog, timer, timeout_s)
            returncode = await proc.wait()
            timer.cancel()
            await pipes_drained()
            await proc.end(grace_s)
            await pipes_drained()
            if not drained() or not fed.is_set():
                tg.cancel_scope.cancel()  # a pipe still open is held outside the group
    finally:
        with anyio.CancelScope(shield=True):
            await proc.end(grace_s)
            out.finish()
            err.finish()
            proc.release()
    return Supervised(
        returncode=returncode,
        timed_out=timed_out,
        stdout=out.sink.result(),
        stdout_overflowed=out.sink.overflowed,
    )
