"""The mark every process of a run carries, and the sweep that ends what escaped its group.

Each attempt starts its own process group, and ending an attempt ends that group. A
process that leaves the group (``setsid``, a daemon's double fork) escapes that. So every
process a run starts gets :data:`RUN_MARK` in its environment, with a value unique to the
run, and passes it on to its children: when the run ends, :func:`end_marked_groups` finds
whatever still carries it through ``/proc`` and ends its group. A journal uses the run's
id as the value, so that a later resume can find what a killed run left running the same
way.

A process can also drop the mark (``env -u``, ``env -i``). The executor makes fanout-tui
the child subreaper of what it starts (:func:`~fanout_tui.engine._adopted.become_subreaper`),
so an orphan is re-parented to us: the sweep ends the groups of those adopted processes
too, and reaps them once they have exited.
"""

from __future__ import annotations

import os
import secrets

import anyio

from fanout_tui.engine import _procfs as procfs
from fanout_tui.engine._adopted import adopted_processes, reap_adopted
from fanout_tui.engine._left_behind import RUN_MARK
from fanout_tui.engine._process import end_process_group, started_by_us

__all__ = ["RUN_MARK", "end_marked_groups", "marked_processes", "new_mark"]


def new_mark() -> str:
    """A fresh mark for a run that was given none (twelve random hex digits)."""
    return secrets.token_hex(6)


def marked_processes(marks: set[str]) -> list[tuple[procfs.ProcStat, str]]:
    """Live processes outside our own process group that carry one of ``marks``, with
    the mark each carries."""
    own_group = os.getpgrp()
    return [
        (stat, mark)
        for stat, mark in procfs.processes_with_variable(RUN_MARK)
        if mark in marks and stat.pgid != own_group
    ]


async def end_marked_groups(
    mark: str,
    grace_s: float,
    *,
    escaped_only: bool = False,
    adopted: tuple[int, frozenset[int]] | None = None,
) -> int:
    """End every process group holding a process marked ``mark``, all at once (SIGTERM,
    ``grace_s``, SIGKILL); return how many there were.

    ``escaped_only`` leaves alone the groups led by processes we started ourselves: the
    attempts' groups, which their branches are ending already (one SIGTERM each, not two).
    ``adopted`` (since, foreign): also end the groups of the orphans re-parented to us
    (:func:`~fanout_tui.engine._adopted.adopted_processes`), and reap them.
    """
    found = [stat for stat, _ in marked_processes({mark})]
    if adopted is not None:
        found += [stat for stat in adopted_processes(*adopted) if stat.alive]
    groups = {stat.pgid for stat in found}
    if escaped_only:
        groups -= {stat.pgid for stat in found if stat.pid == stat.pgid and started_by_us(stat.pid)}
    if groups:
        async with anyio.create_task_group() as tg:
            for pgid in groups:
                tg.start_soon(end_process_group, pgid, grace_s)
    if adopted is not None:
        reap_adopted(*adopted)
    return len(groups)
