"""How many attempts can run at once before the process runs out of file descriptors.

A running attempt holds about :data:`FILES_PER_ATTEMPT` descriptors: the read ends of its
output pipes, the write end of its stdin, a pidfd and its two log files. Many shells start
programs with a soft limit of 1024 open files, which unthrottled runs of a few hundred
branches would exhaust ("Too many open files"). So a run that needs more first raises the
soft limit, as far as it needs and the hard limit allows (its branches inherit the
limit, and some programs slow down with a huge one), and when even that is not enough,
caps how many attempts run together: a branch then waits its turn instead of failing to
start.
"""

from __future__ import annotations

import resource

FILES_PER_ATTEMPT = 6
"""Descriptors one running attempt holds (pipes, pidfd, log files)."""

RESERVED_FILES = 96
"""Descriptors kept for everything else: the journal, the event loop, the dashboard,
and the short-lived ones of the attempt being started."""


def capped_concurrency(concurrency: int | None, branches: int) -> int | None:
    """The global cap to run ``branches`` with: the spec's ``concurrency``, lowered to
    what the open-file limit allows once raised as far as the run needs and may."""
    at_once = branches if concurrency is None else min(concurrency, branches)
    soft = _raise_soft_limit(RESERVED_FILES + FILES_PER_ATTEMPT * at_once)
    capacity = max(1, (soft - RESERVED_FILES) // FILES_PER_ATTEMPT)
    return concurrency if at_once <= capacity else capacity


def _raise_soft_limit(wanted: int) -> int:
    """Raise the soft limit on open files towards ``wanted`` (never lowering it, never
    past the hard limit); return the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return wanted if soft == resource.RLIM_INFINITY else soft
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError):  # the system allows less than it says: keep ours
        return soft
    return target
