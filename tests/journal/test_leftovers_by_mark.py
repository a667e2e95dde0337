"""What a killed run left running is found by its mark, even when no pid was recorded.

Every process of a journaled run carries ``FANOUT_TUI_RUN=<run id>`` in its environment.
These tests start real processes with that mark but record nothing of them, as if
fanout-tui had been killed right after starting them, and check that a resume ends them
(a grandchild that left for its own session included) and nothing else.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import anyio
import pytest

from fanout_tui.engine import RUN_MARK, end_leftovers
from fanout_tui.engine import _procfs as procfs
from fanout_tui.journal import Journal

from .builders import make_plan
from .cli_runs import fanout, query, write_spec

PLAN_BRANCHES = {"a": "sleep 30"}


Started = list[subprocess.Popen[bytes] | int]


@pytest.fixture
def started() -> Iterator[Started]:
    """Processes and grandchildren a test starts; whatever is left is killed afterwards."""
    processes: Started = []
    yield processes
    for process in processes:
        if isinstance(process, int):
            with contextlib.suppress(ProcessLookupError):
                os.kill(process, signal.SIGKILL)
        else:
            process.kill()
            process.wait()


def _start(processes: Started, env: Mapping[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    """Start a sleeping process in its own session; return it and the pid of the
    grandchild it starts in yet another session, once that one has left."""
    process = subprocess.Popen(
        ["sh", "-c", "setsid sleep 31 & echo $!; exec sleep 30"],
        start_new_session=True,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
    )
    processes.append(process)
    assert process.stdout is not None
    grandchild = int(process.stdout.readline())
    processes.append(grandchild)
    _wait_until(lambda: _group_of(grandchild) == grandchild)
    return process, grandchild


def _group_of(pid: int) -> int | None:
    stat = procfs.read_stat(pid)
    return None if stat is None else stat.pgid


def _wait_until(condition: Callable[[], bool], within_s: float = 5.0) -> bool:
    deadline = time.monotonic() + within_s
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def _killed_run(journal: Journal, tmp_path: Path) -> str:
    """Record a run that started no attempt, as if its fanout-tui had been killed."""
    recorder = journal.start_run(make_plan(tmp_path, PLAN_BRANCHES))
    recorder.close()
    journal.connection.execute("UPDATE runs SET owner_start_time = -1")
    return recorder.run_id


def _gone(pid: int, within_s: float = 5.0) -> bool:
    def gone() -> bool:
        stat = procfs.read_stat(pid)
        return stat is None or not stat.alive

    return _wait_until(gone, within_s)


def test_resume_ends_marked_processes_whose_pid_was_never_recorded(
    journal: Journal, tmp_path: Path, started: Started
) -> None:
    run_id = _killed_run(journal, tmp_path)
    leader, grandchild = _start(started, {RUN_MARK: run_id})
    ended = anyio.run(end_leftovers, journal.find_leftovers())
    assert leader.wait(timeout=5) == -signal.SIGTERM
    assert _gone(grandchild)
    assert ended == 2  # the leader's group and the grandchild's own


def test_resume_leaves_unmarked_and_live_runs_processes_alone(
    journal: Journal, tmp_path: Path, started: Started
) -> None:
    _killed_run(journal, tmp_path)
    live = journal.start_run(make_plan(tmp_path, PLAN_BRANCHES))  # its fanout-tui is us
    unmarked, _ = _start(started, {})
    of_live_run, _ = _start(started, live.marks)
    of_no_run, _ = _start(started, {RUN_MARK: "not-a-run"})
    assert anyio.run(end_leftovers, journal.find_leftovers()) == 0
    assert all(p.poll() is None for p in (unmarked, of_live_run, of_no_run))
    live.close()


def test_a_group_with_a_member_older_than_the_run_is_left_alone(
    journal: Journal, tmp_path: Path, started: Started
) -> None:
    # A process that was running before the run began cannot be one of its own.
    run_id = _killed_run(journal, tmp_path)
    journal.connection.execute("UPDATE runs SET started_at = ?", (time.time() + 60,))
    leader, grandchild = _start(started, {RUN_MARK: run_id})
    assert anyio.run(end_leftovers, journal.find_leftovers()) == 0
    assert leader.poll() is None and not _gone(grandchild, within_s=0)


def test_every_process_of_a_journaled_run_carries_the_run_mark(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, {"a": f'echo "${RUN_MARK}"', "b": f"sh -c 'echo \"${RUN_MARK}\"'"})
    journal = tmp_path / ".fanout"
    done = fanout(spec, journal)
    assert done.returncode == 0, done.stderr
    ((run_id,),) = query(journal, "SELECT id FROM runs")
    assert done.stdout.split() == [run_id, run_id]
