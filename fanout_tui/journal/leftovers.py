"""Processes a killed run left behind: whether a run's fanout-tui still lives, and ending
the process groups of its attempts.

A pid alone can be recycled; a pid together with its start time (``/proc/PID/stat``
field 22, clock ticks since boot) names one process for good, so nothing is signalled
unless both still match (:func:`fanout_tui.engine.process.end_process_group_if_same`).
"""

from __future__ import annotations

from collections.abc import Iterable

import anyio

from fanout_tui.engine import procfs
from fanout_tui.engine.process import end_process_group_if_same

GRACE_S = 2.0
"""Between SIGTERM and SIGKILL for a leftover group (its branch's own grace is unknown)."""

Leftover = tuple[int, int, int | None]
"""An attempt's leader pid, process group id and leader start time."""


def process_start_time(pid: int) -> int | None:
    """The start time of ``pid`` in clock ticks since boot, or ``None`` when it is gone."""
    return procfs.start_time(pid)


def is_alive(pid: int | None, start_time: int | None) -> bool:
    """Whether the process ``pid`` that started at ``start_time`` still runs (not a zombie)."""
    if pid is None or start_time is None:
        return False
    stat = procfs.read_stat(pid)
    return stat is not None and stat.alive and stat.start_time == start_time


def end_leftover_groups(leftovers: Iterable[Leftover]) -> int:
    """End every leftover group that is still the one recorded, all at once; return how
    many were ended. Call it outside an event loop (it runs its own)."""
    groups = list(leftovers)
    ended: list[bool] = []

    async def end(pid: int, pgid: int, start_time: int | None) -> None:
        ended.append(await end_process_group_if_same(pid, pgid, start_time, GRACE_S))

    async def end_all() -> None:
        async with anyio.create_task_group() as group:
            for pid, pgid, start_time in groups:
                group.start_soon(end, pid, pgid, start_time)

    if groups:
        anyio.run(end_all)
    return sum(ended)
