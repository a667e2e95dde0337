"""Processes the run adopted: orphans re-parented to fanout-tui, the child subreaper.

A branch that leaves its process group and its parent behind (``setsid -f``, a daemon's
double fork, ``env -i`` to drop the run's mark) is re-parented to the nearest subreaper.
fanout-tui makes itself one (:func:`become_subreaper`), so such processes stay its
children, where :func:`adopted_processes` finds them to be ended with the rest.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys

from fanout_tui.engine import _procfs as procfs
from fanout_tui.engine._process import started_by_us

_PR_SET_CHILD_SUBREAPER = 36


def become_subreaper() -> bool:
    """Make this process the child subreaper of everything it starts (Linux only): a
    process that leaves its parent behind (``setsid -f``, a daemon's double fork) is
    re-parented to us instead of to init, so the run can still find and end it whatever
    it did to its environment or session. Idempotent; ``False`` where not available."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0)
    except (OSError, AttributeError):
        return False


def adopted_processes(since: int, foreign: frozenset[int]) -> list[procfs.ProcStat]:
    """Our children that :func:`~fanout_tui.engine._process.spawn` did not start (orphans
    re-parented to us, the
    subreaper), zombies included: those not in ``foreign`` (children we had before, see
    :func:`children`), that started at ``since`` (clock ticks after boot) or later, and
    are not in our own process group."""
    own_group = os.getpgrp()
    adopted = []
    for pid in children() - foreign:
        if started_by_us(pid):
            continue
        stat = procfs.read_stat(pid)
        if stat is not None and stat.start_time >= since and stat.pgid != own_group:
            adopted.append(stat)
    return adopted


def reap_adopted(since: int, foreign: frozenset[int]) -> None:
    """Reap the adopted processes (see :func:`adopted_processes`) that have exited."""
    for stat in adopted_processes(since, foreign):
        if not stat.alive:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(stat.pid, os.WNOHANG)


def children() -> set[int]:
    """The pids of our children, from ``/proc/self/task/*/children`` (or a scan of /proc)."""
    children: set[int] = set()
    try:
        for task in os.listdir("/proc/self/task"):
            with open(f"/proc/self/task/{task}/children", "rb") as handle:
                children.update(int(pid) for pid in handle.read().split())
    except OSError:  # a kernel without CONFIG_PROC_CHILDREN
        own = os.getpid()
        stats = (procfs.read_stat(int(name)) for name in os.listdir("/proc") if name.isdigit())
        return {stat.pid for stat in stats if stat is not None and stat.ppid == own}
    return children


def ticks_now() -> int:
    """Now, in the clock ticks after boot that process start times are given in."""
    try:
        with open("/proc/uptime", "rb") as handle:
            uptime = float(handle.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 0
    return int(uptime * os.sysconf("SC_CLK_TCK"))
