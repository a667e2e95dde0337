"""Processes a killed run left behind: whether a process still lives, and ending the
process groups of a killed run's attempts.

A journal says what to look for (:class:`~fanout_tui.engine._left_behind.Leftovers`);
this module does the ending, on
the caller's event loop (:func:`end_leftovers` is a coroutine: a resume can be driven
from inside an async application).

Leftovers are found two ways. Each attempt's leader pid, group and start time are
recorded once it has started; a pid alone can be recycled, but a pid together with its
start time names one process for good (:mod:`fanout_tui.engine._left_behind`), so such a
group is signalled only while both still match
(:func:`~fanout_tui.engine._process.end_process_group_if_same`). And every process of a
journaled run carries the run's id as its mark (:mod:`fanout_tui.engine._run_mark`), so
a process started just before the kill, whose pid never reached the journal, is found by
that mark in ``/proc``, and so is a grandchild that left its group.
"""

from __future__ import annotations

import anyio

from fanout_tui.engine import _procfs as procfs
from fanout_tui.engine._left_behind import KilledRun, LeftoverGroup, Leftovers
from fanout_tui.engine._process import end_process_group, end_process_group_if_same
from fanout_tui.engine._run_mark import marked_processes

CLOCK_SLACK_S = 2.0
"""How much earlier than its run a marked process may seem to start (the boot time in
``/proc/stat`` is whole seconds) and still be taken for one of the run's."""

GRACE_S = 2.0
"""Between SIGTERM and SIGKILL for a leftover group (its branch's own grace is unknown)."""


def marked_groups(runs: tuple[KilledRun, ...]) -> set[int]:
    """Process groups holding a live process marked by one of ``runs``, when every member
    of the group started after that run did. Our own group is never among them."""
    started = {run.mark: run.started_at for run in runs}
    groups: set[int] = set()
    for stat, mark in marked_processes(set(started)):
        if stat.pgid in groups:
            continue
        members = procfs.group_members(stat.pgid)
        if all(procfs.started_at(member) >= started[mark] - CLOCK_SLACK_S for member in members):
            groups.add(stat.pgid)
    return groups


async def end_leftovers(leftovers: Leftovers, *, grace_s: float = GRACE_S) -> int:
    """End what killed runs left running, all groups at once (SIGTERM, ``grace_s``,
    SIGKILL); return how many process groups ended.

    A recorded group is ended only while it is still the one recorded; every group
    holding a process with a killed run's mark is ended (see :func:`marked_groups`).
    Runs on the caller's event loop (asyncio or trio, through anyio).
    """
    if not leftovers:
        return 0
    marked = marked_groups(leftovers.runs) if leftovers.runs else set()
    recorded = [group for group in leftovers.groups if group.pgid not in marked]
    ended: list[bool] = []

    async def end(group: LeftoverGroup) -> None:
        ended.append(
            await end_process_group_if_same(group.pid, group.pgid, group.start_time, grace_s)
        )

    async def end_marked(pgid: int) -> None:
        ended.append(await end_process_group(pgid, grace_s))

    async with anyio.create_task_group() as tasks:
        for group in recorded:
            tasks.start_soon(end, group)
        for pgid in marked:
            tasks.start_soon(end_marked, pgid)
    return sum(ended)
