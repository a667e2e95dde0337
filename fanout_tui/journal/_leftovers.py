"""Processes a killed run left behind: whether a run's fanout-tui still lives, and ending
the process groups of its attempts.

They are found two ways. Each attempt's leader pid, group and start time are recorded
once it has started; a pid alone can be recycled, but a pid together with its start time
(``/proc/PID/stat`` field 22, clock ticks since boot) names one process for good, so such
a group is signalled only while both still match
(:func:`fanout_tui.engine._process.end_process_group_if_same`). And every process of a
journaled run carries the run's id as its mark (:mod:`fanout_tui.engine._run_mark`), so a
process started just before the kill, whose pid never reached the journal, is found by
that mark in ``/proc``, and so is a grandchild that left its group.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import anyio

from fanout_tui.engine import _procfs as procfs
from fanout_tui.engine import end_process_group, end_process_group_if_same, marked_processes

CLOCK_SLACK_S = 2.0
"""How much earlier than its run a marked process may seem to start (the boot time in
``/proc/stat`` is whole seconds) and still be taken for one of the run's."""

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


def marked_groups(runs: Mapping[str, float]) -> set[int]:
    """Process groups holding a live process marked with one of ``runs`` (run id → when
    it started, seconds since the epoch), when every member of the group started after
    that run did. Our own group is never among them."""
    groups: set[int] = set()
    for stat, run_id in marked_processes(set(runs)):
        if stat.pgid in groups:
            continue
        members = procfs.group_members(stat.pgid)
        if all(procfs.started_at(member) >= runs[run_id] - CLOCK_SLACK_S for member in members):
            groups.add(stat.pgid)
    return groups


def end_leftover_groups(recorded: Iterable[Leftover], runs: Mapping[str, float]) -> int:
    """End what killed runs left running, all at once, and return how many groups ended.

    Args:
        recorded: The groups their attempts recorded; each is ended only while it is
            still the one recorded.
        runs: The killed runs (id → when it started): every group holding a process
            with their mark is ended (see :func:`marked_groups`).

    Call it outside an event loop (it runs its own).
    """
    marked = marked_groups(runs) if runs else set()
    groups = [leftover for leftover in recorded if leftover[1] not in marked]
    ended: list[bool] = []

    async def end(pid: int, pgid: int, start_time: int | None) -> None:
        ended.append(await end_process_group_if_same(pid, pgid, start_time, GRACE_S))

    async def end_marked(pgid: int) -> None:
        ended.append(await end_process_group(pgid, GRACE_S))

    async def end_all() -> None:
        async with anyio.create_task_group() as group:
            for pid, pgid, start_time in groups:
                group.start_soon(end, pid, pgid, start_time)
            for pgid in marked:
                group.start_soon(end_marked, pgid)

    if groups or marked:
        anyio.run(end_all)
    return sum(ended)
