"""A branch's process group: starting it, waiting for its leader, and ending all of it.

Every attempt runs in its own session, so its process group id is its leader's pid and
everything it starts (unless it deliberately leaves) shares that group. Ending a group is
SIGTERM (and SIGCONT, so stopped members see it) to the whole group, a grace period, then
SIGKILL, and a check through ``/proc`` that no live member is left.

The grace period and the confirmation polls use real time, not the engine's clock: they
wait on real processes. Pipes are non-blocking file descriptors read with
``anyio.wait_readable`` and the leader's exit is awaited through a pidfd; this is about
twice as fast as ``anyio.open_process`` streams for large outputs (measured with
``tests/benchmarks/bench_streaming.py``) and needs no thread per process.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from contextvars import ContextVar
from pathlib import Path

import anyio

from fanout_tui.engine import _exec
from fanout_tui.engine import _procfs as procfs
from fanout_tui.engine._live_groups import LIVE_GROUPS, group_alive

log = logging.getLogger(__name__)

KILL_CONFIRM_S = 5.0
"""How long after SIGKILL the group may take to disappear before we give up and say so."""
_POLL_FIRST_S = 0.002
_POLL_MAX_S = 0.05

_started: set[int] = set()
"""Pids of the processes :func:`spawn` started and has not yet reaped: our own children,
which :func:`~fanout_tui.engine._adopted.adopted_processes` leaves out."""


class GraceCut:
    """Cuts short every grace period that runs under it: the groups waiting out their
    grace get SIGKILL at once (an operator who asked twice to stop).

    A run sets its own as :data:`GRACE_CUT` for everything it starts; :meth:`cut` is
    seen by every grace period in progress within one poll (at most 50 ms).
    """

    def __init__(self) -> None:
        self.is_cut = False

    def cut(self) -> None:
        """End every grace period now, and every later one at once."""
        self.is_cut = True


GRACE_CUT: ContextVar[GraceCut | None] = ContextVar("fanout_tui_grace_cut", default=None)
"""The :class:`GraceCut` of the run the current task belongs to, if any."""


class StartError(Exception):
    """The process could not be started; ``str()`` is one sentence for the operator."""


class BranchProcess:
    """A started process that leads its own session and process group.

    Owns the parent's ends of its pipes (non-blocking) and a pidfd to await its exit.
    Call :meth:`release` once done with it.
    """

    def __init__(
        self,
        pid: int,
        popen: subprocess.Popen[bytes] | None,
        *,
        stdout_fd: int,
        stderr_fd: int,
        stdin_fd: int | None,
    ) -> None:
        self._popen = popen
        """What reaps it when ``Popen`` started it (``None``: ``os.waitpid``)."""
        self._returncode: int | None = None
        _started.add(pid)
        LIVE_GROUPS.started_at[pid] = time.monotonic()
        self.pid = pid
        self.pgid = pid
        self.stdout_fd = stdout_fd
        self.stderr_fd = stderr_fd
        self.stdin_fd = stdin_fd
        self.start_time = procfs.start_time(pid)
        self._pidfd = _open_pidfd(pid)
        self._ending: anyio.Event | None = None
        self._ended_clean = False

    @property
    def returncode(self) -> int | None:
        """The leader's exit status once reaped (negative: killed by that signal)."""
        return self._returncode

    def poll(self) -> int | None:
        """Reap the leader if it has exited; return its exit status (``None``: running)."""
        if self._returncode is None:
            self._returncode = self._reap(blocking=False)
        return self._returncode

    async def wait(self) -> int:
        """Wait for the leader to exit and reap it; return its exit status.

        Only one task may wait at a time.
        """
        code = self.poll()
        if code is not None:
            return code
        if self._pidfd is not None:
            await anyio.wait_readable(self._pidfd)
        else:
            delay = _POLL_FIRST_S
            while self.poll() is None:
                await anyio.sleep(delay)
                delay = min(delay * 2, _POLL_MAX_S)
        code = self._reap(blocking=True)
        assert code is not None, "a blocking wait reaps"
        self._returncode = code
        return code

    def _reap(self, *, blocking: bool) -> int | None:
        if self._popen is not None:
            return self._popen.wait() if blocking else self._popen.poll()
        try:
            pid, status = os.waitpid(self.pid, 0 if blocking else os.WNOHANG)
        except ChildProcessError:
            return 0  # reaped elsewhere: its status is lost (as ``Popen`` says, 0)
        return os.waitstatus_to_exitcode(status) if pid else None

    async def end(self, grace_s: float) -> bool:
        """End the whole process group (see :func:`end_process_group`), at most once.

        Runs shielded from cancellation; concurrent callers wait for the one ending.
        Returns whether the group is confirmed empty.
        """
        if self._ended_clean:
            return True
        if self._ending is None and not group_alive(self.pgid):
            self._ended_clean = True  # nothing left to end: most branches end here
            return True
        with anyio.CancelScope(shield=True):
            if self._ending is not None:
                await self._ending.wait()
            else:
                self._ending = anyio.Event()
                try:
                    self._ended_clean = await end_process_group(self.pgid, grace_s)
                finally:
                    self._ending.set()
        return self._ended_clean

    def close_stdin(self) -> None:
        """Close the stdin pipe, so the process reads its end; idempotent."""
        if self.stdin_fd is not None:
            _close_quietly(self.stdin_fd)
            self.stdin_fd = None

    def release(self) -> None:
        """Reap the leader if it has exited and close every descriptor still held."""
        if self.poll() is not None:
            _started.discard(self.pid)
        LIVE_GROUPS.started_at.pop(self.pgid, None)
        for fd in (self._pidfd, self.stdout_fd, self.stderr_fd, self.stdin_fd):
            if fd is not None:
                _close_quietly(fd)
        self._pidfd = self.stdin_fd = None
        self.stdout_fd = self.stderr_fd = -1


def spawn(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str] | Mapping[bytes, bytes],
    feed_stdin: bool = False,
    pass_fds: Sequence[int] = (),
) -> BranchProcess:
    """Start ``argv`` in a new session with piped, non-blocking stdout and stderr.

    Args:
        argv: Program and arguments (the program is looked up on ``PATH`` of ``env``).
        cwd: Working folder; must exist.
        env: The complete environment.
        feed_stdin: Give it a stdin pipe (``stdin_fd``) instead of ``/dev/null``.
        pass_fds: Extra descriptors the child inherits.

    Raises:
        StartError: one sentence: command not found, not executable, missing folder…
    """
    if not cwd.is_dir():
        what = "is not a folder" if cwd.exists() else "does not exist"
        raise StartError(f"working folder {what}: {cwd}")
    program = argv[0]
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    in_r, in_w = os.pipe() if feed_stdin else (subprocess.DEVNULL, None)
    parent_ends = [out_r, err_r] + ([in_w] if in_w is not None else [])
    try:
        pid, popen = _exec.start(
            argv,
            cwd=cwd,
            env=env,
            stdin=in_r,
            stdout=out_w,
            stderr=err_w,
            pass_fds=pass_fds,
        )
    except OSError as error:
        for fd in parent_ends:
            _close_quietly(fd)
        raise StartError(_start_failure(program, error)) from None
    finally:
        for fd in (out_w, err_w) + ((in_r,) if in_w is not None else ()):
            _close_quietly(fd)
    for fd in parent_ends:
        os.set_blocking(fd, False)
    return BranchProcess(pid, popen, stdout_fd=out_r, stderr_fd=err_r, stdin_fd=in_w)


def _start_failure(program: str, error: OSError) -> str:
    if isinstance(error, FileNotFoundError):
        return f"command not found: {program}"
    if isinstance(error, PermissionError):
        return f"not executable: {program}"
    if error.errno == errno.ENOEXEC:
        return f"not a program this system can run: {program}"
    return f"cannot start {program}: {error.strerror or error}"


async def end_process_group(pgid: int, grace_s: float) -> bool:
    """End every process of group ``pgid``: SIGTERM, wait ``grace_s``, SIGKILL.

    Returns as soon as no live member is left (confirmed through ``/proc``); returns
    ``False`` (and logs a warning) if members survive even SIGKILL for a few seconds.
    Not shielded: callers that must finish it under cancellation shield it.
    """
    if not group_alive(pgid):
        return True
    _signal_group(pgid, signal.SIGTERM)
    _signal_group(pgid, signal.SIGCONT)
    if await _wait_until_gone(pgid, grace_s, GRACE_CUT.get()):
        return True
    _signal_group(pgid, signal.SIGKILL)
    if await _wait_until_gone(pgid, KILL_CONFIRM_S):
        return True
    log.warning("process group %d still has members after SIGKILL", pgid)
    return False


async def end_process_group_if_same(
    pid: int, pgid: int, start_time: int | None, grace_s: float
) -> bool:
    """End a group left over by an earlier run, if it is still that run's group.

    The leader ``pid`` is the same process only if its start time (``/proc/PID/stat``
    field 22) equals ``start_time``. If the leader is gone, the group is ended only when
    every member started no earlier than the leader did (a group id is not reused while
    the group has members, so such members are the leader's descendants).

    Returns:
        True when a matching group was found and is now confirmed empty.
    """
    if start_time is None:
        return False
    leader = procfs.read_stat(pid)
    if leader is not None and leader.alive:
        if leader.start_time != start_time or leader.pgid != pgid:
            return False
    else:
        members = procfs.group_members(pgid)
        if not members or any(member.start_time < start_time for member in members):
            return False
    return await end_process_group(pgid, grace_s)


async def _wait_until_gone(pgid: int, timeout_s: float, cut: GraceCut | None = None) -> bool:
    deadline = anyio.current_time() + timeout_s
    delay = _POLL_FIRST_S
    while group_alive(pgid):
        remaining = deadline - anyio.current_time()
        if remaining <= 0 or (cut is not None and cut.is_cut):
            return False
        await anyio.sleep(min(delay, remaining))
        delay = min(delay * 2, _POLL_MAX_S)
    return True


def _signal_group(pgid: int, signum: signal.Signals) -> None:
    # Already gone (or no longer ours): nothing to end.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signum)


def _open_pidfd(pid: int) -> int | None:
    try:
        return os.pidfd_open(pid)
    except (AttributeError, OSError):
        return None  # old kernel: wait() polls instead


def _close_quietly(fd: int) -> None:
    with contextlib.suppress(OSError):  # already closed
        os.close(fd)


def started_by_us(pid: int) -> bool:
    """Whether ``pid`` is a process :func:`spawn` started and has not reaped yet."""
    return pid in _started


def signal_name(signum: int) -> str:
    """``SIGKILL`` for 9; ``signal 99`` for a number without a name."""
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"
