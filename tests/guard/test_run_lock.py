"""Runs that meet each other: a run still going cannot be resumed, and of two resumes of
one killed run only one goes on."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from fanout_tui.journal._lock import RunBusy, RunLock
from tests.journal.cli_runs import (
    COMMAND_TIMEOUT_S,
    counted,
    fanout,
    fanout_command,
    runs_of,
    wait_for_rows,
    write_spec,
)

GATED = counted("slow", "until [ -f go ]; do sleep 0.01; done")


def start(spec: Path, journal: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        fanout_command(spec, journal, *args),
        cwd=spec.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def wait_until_ran(folder: Path, branch_id: str, times: int) -> None:
    deadline = time.monotonic() + COMMAND_TIMEOUT_S
    while runs_of(folder, branch_id) < times:
        assert time.monotonic() < deadline, f"{branch_id} did not run {times} times"
        time.sleep(0.02)


def test_a_lock_is_held_once(tmp_path: Path) -> None:
    lock = RunLock.take(tmp_path)
    try:
        RunLock.take(tmp_path)
    except RunBusy as busy:
        assert busy.pid == os.getpid()
    else:
        raise AssertionError("a held lock was taken again")
    lock.release()
    RunLock.take(tmp_path).release()


def test_resuming_a_run_still_going_is_refused_naming_its_pid(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, {"slow": GATED, "quick": counted("quick")})
    journal = tmp_path / "j"
    live = start(spec, journal)
    try:
        wait_until_ran(tmp_path, "slow", 1)
        refused = fanout(spec, journal, "--resume")
        assert refused.returncode == 2, refused.stderr
        assert f"fanout-tui pid {live.pid} holds it" in refused.stderr
        assert runs_of(tmp_path, "slow") == 1  # nothing ran a second time
    finally:
        (tmp_path / "go").touch()
        assert live.wait(timeout=COMMAND_TIMEOUT_S) == 0


def test_of_two_resumes_of_one_killed_run_one_wins(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, {"slow": GATED, "quick": counted("quick")})
    journal = tmp_path / "j"
    killed = start(spec, journal)
    wait_until_ran(tmp_path, "slow", 1)
    wait_for_rows(journal, "SELECT 1 FROM branches WHERE id = 'quick' AND status = 'succeeded'")
    os.killpg(killed.pid, signal.SIGKILL)
    killed.wait()

    first = start(spec, journal, "--resume")
    try:
        wait_until_ran(tmp_path, "slow", 2)
        second = fanout(spec, journal, "--resume")
        assert second.returncode == 2, second.stderr
        assert f"fanout-tui pid {first.pid} holds it" in second.stderr
    finally:
        (tmp_path / "go").touch()
        assert first.wait(timeout=COMMAND_TIMEOUT_S) == 0
    assert runs_of(tmp_path, "slow") == 2
    assert runs_of(tmp_path, "quick") == 1
