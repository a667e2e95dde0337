"""What a killed run may have left behind, as a journal names it, and whether a process
recorded earlier still lives.

A pid alone can be recycled; a pid with its start time (``/proc/PID/stat`` field 22,
clock ticks since boot) names one process for good. The journal records both for the
fanout-tui that owns a run, to tell a live run from a killed one, and for each attempt's
leader. This module holds data and reads ``/proc``; it signals nothing (ending is
:func:`fanout_tui.engine._leftovers.end_leftovers`), so the journal can use it without
loading the engine's process code.
"""

from __future__ import annotations

from dataclasses import dataclass

from fanout_tui.engine import _procfs as procfs

RUN_MARK = "FANOUT_TUI_RUN"
"""The environment variable that carries a run's mark into every process it starts
(see :mod:`fanout_tui.engine._run_mark`)."""


@dataclass(frozen=True, slots=True)
class LeftoverGroup:
    """The process group of an attempt that a killed run recorded."""

    pid: int
    """The attempt's leader pid."""
    pgid: int
    """Its process group id."""
    start_time: int | None
    """The leader's start time (clock ticks since boot); ``None`` when not recorded."""


@dataclass(frozen=True, slots=True)
class KilledRun:
    """A run whose fanout-tui is gone before it recorded its end."""

    mark: str
    """The value of the run mark its processes carry (the run's id in the journal)."""
    started_at: float
    """When it started, seconds since the epoch: older processes are not its own."""


@dataclass(frozen=True, slots=True)
class Leftovers:
    """What killed runs may have left running: what :func:`end_leftovers` looks for."""

    groups: tuple[LeftoverGroup, ...] = ()
    """The groups their unfinished attempts recorded."""
    runs: tuple[KilledRun, ...] = ()
    """The killed runs, whose marked processes are ended wherever they are."""

    def __bool__(self) -> bool:
        return bool(self.groups or self.runs)


def process_start_time(pid: int) -> int | None:
    """The start time of ``pid`` in clock ticks since boot, or ``None`` when it is gone."""
    return procfs.start_time(pid)


def process_alive(pid: int | None, start_time: int | None) -> bool:
    """Whether the process ``pid`` that started at ``start_time`` still runs (not a zombie)."""
    if pid is None or start_time is None:
        return False
    stat = procfs.read_stat(pid)
    return stat is not None and stat.alive and stat.start_time == start_time
