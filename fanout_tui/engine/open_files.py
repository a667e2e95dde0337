"""How many attempts can run at once before the process runs out of file descriptors.

A running attempt holds about :data:`FILES_PER_ATTEMPT` descriptors: the read ends of its
output pipes, the write end of its stdin, a pidfd and its two log files. Many shells start
programs with a soft limit of 1024 open files, which unthrottled runs of a few hundred
branches would exhaust ("Too many open files"). So the engine first raises the soft limit
as far as the hard limit allows, and when even that is not enough for every branch at
once, it caps how many attempts run together: a branch then waits its turn instead of
failing to start.
"""

from __future__ import annotations

import functools
import resource

FILES_PER_ATTEMPT = 6
"""Descriptors one running attempt holds (pipes, pidfd, log files)."""

RESERVED_FILES = 96
"""Descriptors kept for everything else: the journal, the event loop, the dashboard,
and the short-lived ones of the attempt being started."""

_RAISED_LIMIT_CEILING = 1 << 20
"""Where the soft limit stops when the hard limit is unlimited (as on macOS)."""


@functools.cache
def attempt_capacity() -> int:
    """Raise the soft limit on open files to the hard limit (once per process) and
    return how many attempts fit in it at once."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = _RAISED_LIMIT_CEILING if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError):  # the system allows less than it says: keep ours
            pass
    if soft == resource.RLIM_INFINITY:
        soft = _RAISED_LIMIT_CEILING
    return max(1, (soft - RESERVED_FILES) // FILES_PER_ATTEMPT)


def capped_concurrency(concurrency: int | None, branches: int) -> int | None:
    """The global cap to run ``branches`` with: the spec's ``concurrency``, lowered to
    what the open-file limit allows when the branches could otherwise exceed it."""
    capacity = attempt_capacity()
    if branches <= capacity or (concurrency is not None and concurrency <= capacity):
        return concurrency
    return capacity
