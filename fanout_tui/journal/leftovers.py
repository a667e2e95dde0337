"""Processes a killed run left behind: who owns a run, and ending its orphaned groups.

A pid alone can be recycled; a pid together with its start time (``/proc/PID/stat``
field 22, clock ticks since boot) names one process for good, so nothing is signalled
unless both still match.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

GRACE_S = 2.0
POLL_S = 0.02


def process_start_time(pid: int) -> int | None:
    """The start time of ``pid`` in clock ticks since boot, or ``None`` when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces or ')'.
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] == "Z":  # a zombie has ended; only its exit status remains
        return None
    return int(fields[19])


def is_alive(pid: int | None, start_time: int | None) -> bool:
    """Whether the process ``pid`` that started at ``start_time`` still runs."""
    if pid is None or start_time is None:
        return False
    return process_start_time(pid) == start_time


def end_group_if_same(pid: int, pgid: int, start_time: int | None) -> bool:
    """End process group ``pgid`` when its leader ``pid`` is still the process that started
    at ``start_time``: SIGTERM, a grace period, then SIGKILL. Return whether it signalled."""
    if not is_alive(pid, start_time):
        return False
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return False
    deadline = time.monotonic() + GRACE_S
    while time.monotonic() < deadline:
        if not is_alive(pid, start_time):
            return True
        time.sleep(POLL_S)
    if is_alive(pid, start_time):
        try:
            os.killpg(pgid, signal.SIGKILL)
        except ProcessLookupError:
            return True
    return True
