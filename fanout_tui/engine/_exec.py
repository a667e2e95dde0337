"""Starting one program in its own session, its stdio on the descriptors given.

Most starts are ``/bin/sh -c …`` (or a program named by its path) in the run's own
folder with nothing extra to inherit: those go through ``os.posix_spawn``, which costs
half the CPU of ``subprocess.Popen`` per start (``/tmp`` micro-benchmark: 0.08 ms
against 0.16 ms) and builds no Python object to keep. Anything else (a program looked
up on the branch's ``PATH``, another working folder, descriptors to pass) goes through
``subprocess.Popen``, which can do all of that.

Both start the program with the default handling of SIGPIPE and SIGXFSZ (which Python
ignores) and without our descriptors: Python opens every descriptor non-inheritable, and
the first ``posix_spawn`` marks the inheritable ones this process got from its parent
close-on-exec, as ``Popen``'s ``close_fds`` would close them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

_DEFAULT_SIGNALS = (signal.SIGPIPE, signal.SIGXFSZ)
_swept = False
"""Whether the inherited descriptors were made close-on-exec (once per process)."""


def start(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str] | Mapping[bytes, bytes],
    stdin: int,
    stdout: int,
    stderr: int,
    pass_fds: Sequence[int] = (),
) -> tuple[int, subprocess.Popen[bytes] | None]:
    """Start ``argv`` in a new session; return its pid and, when ``Popen`` started it,
    the ``Popen`` that must reap it (``None``: reap the pid with ``os.waitpid``).

    Args:
        stdin: Descriptor for its stdin, or ``subprocess.DEVNULL``.
        stdout: Descriptor for its stdout.
        stderr: Descriptor for its stderr.

    Raises:
        OSError: it could not be started (not found, not executable...).
    """
    if _can_posix_spawn(argv, cwd, pass_fds, (stdin, stdout, stderr)):
        return _posix_spawn(argv, env, stdin, stdout, stderr), None
    popen = subprocess.Popen(
        list(argv),
        stdin=stdin,
        stdout=stdout,
        stderr=stderr,
        cwd=cwd,
        env=env,
        start_new_session=True,
        pass_fds=tuple(pass_fds),
    )
    return popen.pid, popen


def _can_posix_spawn(
    argv: Sequence[str], cwd: Path, pass_fds: Sequence[int], stdio: tuple[int, int, int]
) -> bool:
    # A descriptor of 0-2 would be dup2'ed onto itself and stay close-on-exec.
    stdin = stdio[0]
    fds_ok = min(stdio[1:]) > 2 and (stdin == subprocess.DEVNULL or stdin > 2)
    return fds_ok and not pass_fds and "/" in argv[0] and str(cwd) == os.getcwd()


def _posix_spawn(
    argv: Sequence[str],
    env: Mapping[str, str] | Mapping[bytes, bytes],
    stdin: int,
    stdout: int,
    stderr: int,
) -> int:
    global _swept
    if not _swept:
        _close_inherited_on_exec()
        _swept = True
    first: tuple[int | str, ...]
    if stdin == subprocess.DEVNULL:
        first = (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0)
    else:
        first = (os.POSIX_SPAWN_DUP2, stdin, 0)
    actions = [first, (os.POSIX_SPAWN_DUP2, stdout, 1), (os.POSIX_SPAWN_DUP2, stderr, 2)]
    return os.posix_spawn(
        argv[0], list(argv), env, file_actions=actions, setsid=True, setsigdef=_DEFAULT_SIGNALS
    )


def _close_inherited_on_exec() -> None:
    """Mark every inheritable descriptor above 2 close-on-exec."""
    try:
        names = os.listdir("/proc/self/fd")
    except OSError:
        names = [str(fd) for fd in range(3, 256)]
    for name in names:
        fd = int(name)
        if fd > 2:
            with contextlib.suppress(OSError):  # the listing's own, already closed
                if os.get_inheritable(fd):
                    os.set_inheritable(fd, False)
