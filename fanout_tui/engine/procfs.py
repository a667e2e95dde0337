"""What ``/proc`` says about processes: start times and the members of a process group."""

from __future__ import annotations

import os
from dataclasses import dataclass

_PROC = "/proc"


@dataclass(frozen=True, slots=True)
class ProcStat:
    """The fields of ``/proc/PID/stat`` this package needs."""

    pid: int
    state: str
    """One letter: R running, S sleeping, D disk wait, T stopped, Z zombie, X dead…"""
    pgid: int
    start_time: int
    """Clock ticks after boot at which the process started (field 22)."""

    @property
    def alive(self) -> bool:
        """False for a zombie or dead task: it runs no more code, only awaits reaping."""
        return self.state not in ("Z", "X", "x")


def read_stat(pid: int) -> ProcStat | None:
    """Read ``/proc/PID/stat``; ``None`` when the process does not exist (any more)."""
    try:
        with open(f"{_PROC}/{pid}/stat", "rb") as handle:
            raw = handle.read()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may itself contain ") ".
    fields = raw[raw.rfind(b")") + 2 :].split()
    try:
        # After the name: state is field 3, pgrp field 5, starttime field 22.
        return ProcStat(
            pid=pid, state=fields[0].decode(), pgid=int(fields[2]), start_time=int(fields[19])
        )
    except (IndexError, ValueError):
        return None


def start_time(pid: int) -> int | None:
    """The start time of ``pid`` in clock ticks after boot, or ``None`` if it is gone."""
    stat = read_stat(pid)
    return None if stat is None else stat.start_time


def group_members(pgid: int) -> list[ProcStat]:
    """Every live (not zombie) process whose process group is ``pgid``, found by scanning /proc."""
    members = []
    for name in os.listdir(_PROC):
        if not name.isdigit():
            continue
        stat = read_stat(int(name))
        if stat is not None and stat.pgid == pgid and stat.alive:
            members.append(stat)
    return members
