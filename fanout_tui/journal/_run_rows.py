"""A run's first rows: its own, and those of the branches it reuses or will run.

The run's row (with its owner's pid and start time, which tell a live run from a killed
one) and the rows of its reused branches are committed before any process starts; the
writer thread inserts the pending rows of the other branches (:data:`INSERT_BRANCH`).
"""

from __future__ import annotations

import os
import secrets
import shlex
import sqlite3
import time
from pathlib import Path

from fanout_tui.engine import BranchStatus, ReusedResult, process_start_time
from fanout_tui.journal._files import private_dir
from fanout_tui.journal._lock import RunLock
from fanout_tui.journal._lookup import spec_key
from fanout_tui.journal._schema import transaction
from fanout_tui.journal._values import dump_value
from fanout_tui.spec import BranchPlan, Masker, Plan

INSERT_BRANCH = (
    "INSERT INTO branches (run_id, id, idx, title, command, fingerprint, status, attempts, "
    "duration_s, reused_from, result, result_file) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
"""Takes the values of :func:`branch_row`."""

_PENDING = (str(BranchStatus.PENDING), 0, None, None, None, None)


def branch_row(
    run_id: str,
    branch: BranchPlan,
    masker: Masker,
    *,
    fingerprint: str = "",
    earlier: tuple[object, ...] = _PENDING,
) -> tuple[object, ...]:
    """The values of :data:`INSERT_BRANCH` for ``branch``: a pending branch, unless
    ``earlier`` gives status, attempts, duration_s, reused_from, result and result_file.

    The fingerprint of a branch that runs comes with its first attempt (the engine
    computes it anyway).
    """
    title = None if branch.title is None else masker.mask(branch.title)
    command = masker.mask(describe_command(branch))
    return (run_id, branch.id, branch.index, title, command, fingerprint, *earlier)


def describe_command(branch: BranchPlan) -> str:
    """The branch's command as the operator would type it (or its callable and arguments)."""
    if isinstance(branch.run, tuple):
        return shlex.join(branch.run)
    if branch.run is not None:
        return branch.run
    arguments = ", ".join(f"{name}={value!r}" for name, value in branch.with_args.items())
    return f"{branch.call}({arguments})"


def insert_run(
    connection: sqlite3.Connection,
    *,
    root: Path,
    plan: Plan,
    resumed_from: str | None,
    reused: dict[str, ReusedResult],
    masker: Masker,
) -> tuple[str, Path, RunLock]:
    """Commit the run's row and the rows of its reused branches (a resume of this run,
    should it be killed, finds them); return the run's id, its folder and its lock,
    taken before the row is committed (no resume can take the run while it starts)."""
    secret_names = frozenset(plan.secrets)
    pid = os.getpid()
    lock: RunLock | None = None
    try:
        with transaction(connection):
            run_id = _new_run_id(connection)
            run_dir = private_dir(root / "runs" / run_id)
            lock = RunLock.take(run_dir)  # a new folder: nobody else holds it
            connection.execute(
                "INSERT INTO runs (id, spec_path, spec_name, started_at, branch_count, "
                "resumed_from, owner_pid, owner_start_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    spec_key(plan),
                    masker.mask(plan.name),
                    time.time(),
                    len(plan.branches),
                    resumed_from,
                    pid,
                    process_start_time(pid),
                ),
            )
            connection.executemany(
                INSERT_BRANCH,
                [
                    branch_row(
                        run_id,
                        branch,
                        masker,
                        fingerprint=branch.fingerprint(secret_names),
                        earlier=_earlier_columns(reused[branch.id], masker, root, run_dir, branch),
                    )
                    for branch in plan.branches
                    if branch.id in reused
                ],
            )
    except BaseException:
        if lock is not None:
            lock.release()
        raise
    return run_id, run_dir, lock


def _earlier_columns(
    earlier: ReusedResult, masker: Masker, root: Path, run_dir: Path, branch: BranchPlan
) -> tuple[object, ...]:
    """status, attempts, duration_s, reused_from, result, result_file of a reused branch."""
    inline, file = dump_value(
        earlier.result,
        masker,
        root=root,
        folder=run_dir / "results",
        name=f"{branch.index}.json",
    )
    status = str(BranchStatus.SUCCEEDED)
    return (status, earlier.attempts, earlier.duration_s, earlier.run_id, inline, file)


def _new_run_id(connection: sqlite3.Connection) -> str:
    while True:
        run_id = secrets.token_hex(6)
        taken = connection.execute(
            "SELECT 1 FROM runs WHERE substr(id, 1, 6) = ?", (run_id[:6],)
        ).fetchone()
        if taken is None:  # keep six characters enough to name any run
            return run_id
