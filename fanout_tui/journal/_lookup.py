"""Reading the journal: which run a reference names, and what an earlier run can give back."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from fanout_tui.engine import BranchStatus, ReusedResult, process_alive
from fanout_tui.journal._values import load_value
from fanout_tui.spec import Plan

LATEST = "latest"


class RunNotFound(Exception):
    """No run (or no single run) matches a reference; ``str`` is one sentence."""


def spec_key(plan: Plan) -> str | None:
    """How the journal names the spec of ``plan``: its resolved path."""
    return str(plan.spec_path.resolve()) if plan.spec_path is not None else None


def shown_spec(spec_path: str | None, spec_name: str) -> str:
    """A run's spec for the operator: its path relative to the current folder when inside
    it, else absolute (specs of one name in two folders differ); its name without a file."""
    if not spec_path:
        return spec_name
    path = Path(spec_path)  # stored resolved
    try:
        here = Path.cwd().resolve()
    except OSError:  # the current folder was removed
        return str(path)
    return path.relative_to(here).as_posix() if path.is_relative_to(here) else str(path)


def other_spec_notice(run: sqlite3.Row, plan: Plan, reused: int) -> str | None:
    """What to tell the operator who resumes ``plan`` from ``run`` of another spec file
    (results are reused by definition, whatever the spec): None when it is the same."""
    if run["spec_path"] == spec_key(plan) and (
        run["spec_path"] is not None or run["spec_name"] == plan.name
    ):
        return None
    mine = shown_spec(spec_key(plan), plan.name)
    theirs = shown_spec(run["spec_path"], run["spec_name"])
    return (
        f"run {run['id']} is a run of {theirs}, not of {mine}: reusing the results of its "
        f"branches with the same definition ({reused} of {len(plan.branches)})"
    )


def find_run(connection: sqlite3.Connection, ref: str, *, where: str) -> sqlite3.Row:
    """The run whose id is ``ref`` or starts with it; ``where`` names the journal in errors.

    Raises:
        RunNotFound: no run matches, or the prefix is shared by several.
    """
    rows: list[sqlite3.Row] = connection.execute(
        "SELECT * FROM runs WHERE substr(id, 1, length(?)) = ? ORDER BY started_at DESC LIMIT 3",
        (ref, ref),
    ).fetchall()
    exact = [row for row in rows if row["id"] == ref]
    if exact:
        return exact[0]
    if not rows or not ref:
        raise RunNotFound(f"no run {ref} in {where}")
    if len(rows) > 1:
        raise RunNotFound(f"{ref} names several runs in {where}; give more of the id")
    return rows[0]


def latest_run(connection: sqlite3.Connection, plan: Plan) -> sqlite3.Row | None:
    """The newest run of the spec of ``plan`` (matched by resolved spec path), if any."""
    key = spec_key(plan)
    row: sqlite3.Row | None
    if key is None:
        row = connection.execute(
            "SELECT * FROM runs WHERE spec_path IS NULL AND spec_name = ? "
            "ORDER BY started_at DESC LIMIT 1",
            (plan.name,),
        ).fetchone()
    else:
        row = connection.execute(
            "SELECT * FROM runs WHERE spec_path = ? ORDER BY started_at DESC LIMIT 1", (key,)
        ).fetchone()
    return row


def reusable_results(
    connection: sqlite3.Connection, run_id: str, plan: Plan, *, root: Path
) -> dict[str, ReusedResult]:
    """The results of run ``run_id`` that the branches of ``plan`` can take over.

    A branch of ``plan`` gets the result of a branch that succeeded in that run with the
    same fingerprint (the same definition, wherever it stood and whatever it was called;
    the branch with the same id first), unless that result's file is gone or damaged.
    ``ReusedResult.run_id`` names the run that computed the result, followed back
    through earlier resumes.
    """
    by_fingerprint: dict[str, list[sqlite3.Row]] = {}
    for row in connection.execute(
        "SELECT id, fingerprint, attempts, duration_s, reused_from, result, result_file "
        "FROM branches WHERE run_id = ? AND status = ? "
        "AND (result IS NOT NULL OR result_file IS NOT NULL) ORDER BY idx",
        (run_id, str(BranchStatus.SUCCEEDED)),
    ):
        by_fingerprint.setdefault(row["fingerprint"], []).append(row)
    secret_names = frozenset(plan.secrets)
    reused: dict[str, ReusedResult] = {}
    for branch in plan.branches:
        candidates = by_fingerprint.get(branch.fingerprint(secret_names))
        if not candidates:
            continue
        row = next((c for c in candidates if c["id"] == branch.id), candidates[0])
        try:
            result = load_value(row["result"], row["result_file"], root=root)
        except (OSError, ValueError):
            continue  # its result file is gone or damaged: the branch runs again
        reused[branch.id] = ReusedResult(
            result=result,
            attempts=row["attempts"],
            duration_s=row["duration_s"],
            run_id=row["reused_from"] or run_id,
        )
    return reused


def run_is_live(run: sqlite3.Row) -> bool:
    """Whether the fanout-tui process that records ``run`` still runs."""
    return run["ended_at"] is None and process_alive(run["owner_pid"], run["owner_start_time"])


def run_outcome(run: sqlite3.Row) -> str:
    """The run's outcome in one word; an unfinished run whose process is gone was
    interrupted (killed before it could record its end)."""
    if run["ended_at"] is not None:
        return str(run["outcome"])
    return "running" if run_is_live(run) else "interrupted"
