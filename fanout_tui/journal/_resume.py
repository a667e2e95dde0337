"""What a resume needs from the journal: the run to resume from, and what killed runs
may have left running.

The journal only says where to look (:class:`~fanout_tui.engine.Leftovers`); the engine
ends those processes (:func:`~fanout_tui.engine.end_leftovers`), on the caller's loop.
"""

from __future__ import annotations

import sqlite3
import time
from typing import NamedTuple

from fanout_tui.engine import KilledRun, LeftoverGroup, Leftovers, ReusedResult, process_alive
from fanout_tui.journal._schema import transaction

INTERRUPTED_REASON = "fanout-tui stopped before the attempt ended"


class Resumption(NamedTuple):
    """What :meth:`~fanout_tui.journal.Journal.prepare_resume` found."""

    run_id: str | None
    """The run resumed from; None when the latest run was asked for and the spec has none
    yet (a run killed before it was recorded, or a first run): every branch runs."""
    reused: dict[str, ReusedResult]
    """The results that can be reused, by branch id."""
    leftovers: Leftovers
    """What killed runs may have left running: end it with
    :func:`fanout_tui.engine.end_leftovers` before the run starts."""


def find_leftovers(connection: sqlite3.Connection) -> Leftovers:
    """What killed runs may have left running; their open attempts are marked
    interrupted.

    A run was killed when it never ended and its fanout-tui is gone. Its unfinished
    attempts that recorded their group are named by leader pid, group and start time;
    the run itself by its mark, for processes whose pid never reached the journal.
    """
    runs = connection.execute(
        "SELECT id, started_at, owner_pid, owner_start_time FROM runs WHERE ended_at IS NULL"
    ).fetchall()
    killed = tuple(
        KilledRun(row["id"], row["started_at"])
        for row in runs
        if not process_alive(row["owner_pid"], row["owner_start_time"])
    )
    if not killed:
        return Leftovers()
    marks = ",".join("?" * len(killed))
    open_attempts = connection.execute(
        "SELECT id, pid, pgid, process_start_time FROM attempts "
        f"WHERE ended_at IS NULL AND run_id IN ({marks})",
        tuple(run.mark for run in killed),
    ).fetchall()
    if open_attempts:
        now = time.time()
        with transaction(connection):
            connection.executemany(
                "UPDATE attempts SET ended_at = ?, status = 'interrupted', reason = ? WHERE id = ?",
                ((now, INTERRUPTED_REASON, row["id"]) for row in open_attempts),
            )
    groups = tuple(
        LeftoverGroup(row["pid"], row["pgid"], row["process_start_time"])
        for row in open_attempts
        if row["pid"] is not None and row["pgid"] is not None
    )
    return Leftovers(groups, killed)
