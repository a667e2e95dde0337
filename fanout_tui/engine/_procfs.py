"""What ``/proc`` says about processes: start times, process groups and environments."""

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
    ppid: int
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
        # After the name: state is field 3, ppid field 4, pgrp field 5, starttime field 22.
        return ProcStat(
            pid=pid,
            state=fields[0].decode(),
            ppid=int(fields[1]),
            pgid=int(fields[2]),
            start_time=int(fields[19]),
        )
    except (IndexError, ValueError):
        return None


def start_time(pid: int) -> int | None:
    """The start time of ``pid`` in clock ticks after boot, or ``None`` if it is gone."""
    stat = read_stat(pid)
    return None if stat is None else stat.start_time


def group_members(pgid: int) -> list[ProcStat]:
    """Every live (not zombie) process whose process group is ``pgid``, found by scanning /proc."""
    return [stat for stat in live_processes() if stat.pgid == pgid]


def live_processes() -> list[ProcStat]:
    """Every live (not zombie) process, found by scanning /proc."""
    stats = (read_stat(pid) for pid in _pids())
    return [stat for stat in stats if stat is not None and stat.alive]


def processes_with_variable(name: str) -> list[tuple[ProcStat, str]]:
    """Every live process whose environment sets ``name``, with the value it has there.

    Reads ``/proc/PID/environ``: the environment the process started with (or was given
    by its last ``exec``), readable for our own processes only.
    """
    prefix = os.fsencode(name) + b"="
    found = []
    for pid in _pids():
        try:
            with open(f"{_PROC}/{pid}/environ", "rb") as handle:
                raw = handle.read()
        except OSError:
            continue  # gone, or not ours
        if prefix not in raw:
            continue
        value = next((v for v in raw.split(b"\0") if v.startswith(prefix)), None)
        stat = read_stat(pid)
        if value is not None and stat is not None and stat.alive:
            found.append((stat, os.fsdecode(value[len(prefix) :])))
    return found


def started_at(stat: ProcStat) -> float:
    """When the process started, in seconds since the epoch (to within a second)."""
    return _boot_time() + stat.start_time / os.sysconf("SC_CLK_TCK")


def _boot_time() -> float:
    with open(f"{_PROC}/stat", "rb") as handle:
        for line in handle:
            if line.startswith(b"btime "):
                return float(line.split()[1])
    raise OSError("/proc/stat names no boot time")


def _pids() -> list[int]:
    return [int(name) for name in os.listdir(_PROC) if name.isdigit()]
