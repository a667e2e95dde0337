"""A resume driven from inside an async application: prepare it, end the leftovers, run.

The journal starts no event loop of its own, so all of it runs on the application's loop:
under plain ``asyncio.run`` and under a running anyio loop (pytest's anyio plugin).
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from fanout_tui.engine import BranchStatus, Engine, ExitCode, end_leftovers, process_start_time
from fanout_tui.journal import Journal

from .builders import make_plan, run_branch, start_attempt

COMMANDS = {"done": "echo again", "killed": "echo fresh"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # trio is not installed


@pytest.fixture
def leftover(tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A journal holding a killed run: ``done`` succeeded, ``killed`` still runs (a real
    process group, recorded as that run's open attempt)."""
    process = subprocess.Popen(["sleep", "30"], start_new_session=True)
    started = process_start_time(process.pid)
    assert started is not None
    plan = make_plan(tmp_path, COMMANDS)
    with Journal.open(tmp_path / ".fanout") as journal:
        recorder = journal.start_run(plan)
        run_branch(recorder, plan, "done", result="kept")
        start_attempt(recorder, plan, "killed", pid=process.pid, start_time=started)
        recorder.close()
        # As if that run's fanout-tui had been killed.
        journal.connection.execute("UPDATE runs SET owner_start_time = -1")
    yield process
    process.kill()
    process.wait()


async def _resume(tmp_path: Path) -> tuple[int, dict[str, object], ExitCode]:
    """Resume the latest run on the running loop; return how many groups ended, the
    branches' results and the exit code."""
    plan = make_plan(tmp_path, COMMANDS)
    with Journal.open(tmp_path / ".fanout") as journal:
        resumed_from, reused, leftovers = journal.prepare_resume(plan, "latest")
        ended = await end_leftovers(leftovers)
        recorder = journal.start_run(plan, resumed_from=resumed_from)
        engine = Engine(plan, log_dir=recorder.log_dir, reused=reused, run_env=recorder.marks)
        engine.add_listener(recorder.record)
        outcome = await engine.run()
        recorder.finish(outcome)
    results = {branch.id: branch.result for branch in outcome.branches}
    return ended, results, outcome.exit_code


def _check(
    ended: int, results: dict[str, object], code: ExitCode, leftover: subprocess.Popen[bytes]
) -> None:
    assert ended == 1
    assert leftover.wait(timeout=5) == -signal.SIGTERM
    assert results == {"done": "kept", "killed": "fresh\n"}
    assert code == ExitCode.OK


def test_a_resume_runs_under_asyncio_run(tmp_path: Path, leftover: subprocess.Popen[bytes]) -> None:
    _check(*asyncio.run(_resume(tmp_path)), leftover)


@pytest.mark.anyio
async def test_a_resume_runs_under_a_running_anyio_loop(
    tmp_path: Path, leftover: subprocess.Popen[bytes]
) -> None:
    _check(*await _resume(tmp_path), leftover)


def test_a_resume_marks_the_killed_attempt_interrupted(
    tmp_path: Path, leftover: subprocess.Popen[bytes]
) -> None:
    asyncio.run(_resume(tmp_path))
    with Journal.open(tmp_path / ".fanout") as journal:
        rows = journal.connection.execute(
            "SELECT branch_id, status FROM attempts ORDER BY id"
        ).fetchall()
    statuses = [(row["branch_id"], row["status"]) for row in rows]
    assert statuses[:2] == [("done", "succeeded"), ("killed", "interrupted")]
    assert statuses[2:] == [("killed", str(BranchStatus.SUCCEEDED))]
