"""The Dask executor under the engine: retry, timeout, cancel, a worker lost mid-attempt.

Every test checks the workers' processes through ``/proc`` (``psutil``): no process of a
branch may remain on any worker.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import anyio
import distributed
import psutil

from fanout_tui.engine import (
    AttemptEnded,
    AttemptPlaced,
    BranchStatus,
    Engine,
    Event,
    OutputLines,
    RunOutcome,
)
from fanout_tui.engine.dask import DaskExecutor
from fanout_tui.spec import load_plan_text


def _branch_processes() -> list[str]:
    """On a worker: its child processes, but its watchdog."""
    me = psutil.Process()
    return [
        " ".join(child.cmdline())
        for child in me.children(recursive=True)
        if "_watchdog" not in " ".join(child.cmdline())
    ]


def _left_on_workers(cluster: distributed.LocalCluster) -> dict[str, list[str]]:
    with distributed.Client(cluster, set_as_default=False) as client:
        client.wait_for_workers(2)
        return {w: found for w, found in client.run(_branch_processes).items() if found}


def _run(
    cluster: distributed.LocalCluster,
    tmp_path: Path,
    spec: str,
    on_event: Callable[[Engine, Event], None] | None = None,
) -> tuple[RunOutcome, list[Event]]:
    plan = load_plan_text(textwrap.dedent(spec), path=tmp_path / "spec.yaml")
    engine = Engine(plan, executor=DaskExecutor(cluster.scheduler_address), log_dir=tmp_path)
    events: list[Event] = []
    engine.add_listener(events.append)
    if on_event is not None:
        engine.add_listener(lambda event: on_event(engine, event))
    return anyio.run(engine.run), events


def test_a_failed_attempt_is_retried(cluster: distributed.LocalCluster, tmp_path: Path) -> None:
    outcome, events = _run(
        cluster,
        tmp_path,
        f"""
        version: 1
        name: retry
        branches:
          - id: flaky
            run: "test -f {tmp_path}/once && echo fine || {{ touch {tmp_path}/once; exit 4; }}"
            retry: {{attempts: 2, backoff: 10ms, jitter: false}}
        """,
    )
    (branch,) = outcome.branches
    assert (branch.status, branch.attempts, branch.result) == (BranchStatus.SUCCEEDED, 2, "fine\n")
    placed = [e.attempt for e in events if isinstance(e, AttemptPlaced)]
    assert placed == [1, 2]


def test_timeout_and_cancel_end_the_whole_group_on_the_worker(
    cluster: distributed.LocalCluster, tmp_path: Path
) -> None:
    def cancel_when_started(engine: Engine, event: Event) -> None:
        if isinstance(event, OutputLines) and event.branch_id == "cancelled":
            engine.cancel("cancelled")

    outcome, _ = _run(
        cluster,
        tmp_path,
        """
        version: 1
        name: ending
        defaults: {kill_grace: 1s}
        branches:
          - id: slow
            run: "sleep 60 & sleep 60; wait"
            timeout: 1s
          - id: cancelled
            run: "trap '' TERM; sleep 60 & echo started; wait"
        """,
        cancel_when_started,
    )
    statuses = [branch.status for branch in outcome.branches]
    assert statuses == [BranchStatus.TIMED_OUT, BranchStatus.CANCELLED]
    assert _left_on_workers(cluster) == {}


def test_a_missing_cwd_or_module_names_the_worker(
    cluster: distributed.LocalCluster, tmp_path: Path
) -> None:
    outcome, _ = _run(
        cluster,
        tmp_path,
        f"""
        version: 1
        name: broken
        branches:
          - {{id: cwd, run: "true", cwd: "{tmp_path}/nowhere"}}
          - {{id: module, call: "no_such_module_here:main"}}
        """,
    )
    for branch in outcome.branches:
        assert branch.status is BranchStatus.FAILED
        assert branch.error is not None and "(on worker tcp://" in branch.error
    assert "nowhere" in (outcome.branches[0].error or "")
    assert "no_such_module_here" in (outcome.branches[1].error or "")


def test_a_worker_killed_mid_attempt_fails_it_and_the_retry_runs_elsewhere(
    cluster: distributed.LocalCluster, tmp_path: Path
) -> None:
    placed: dict[int, str] = {}
    branch_pid: list[int] = []

    def kill_the_worker(engine: Engine, event: Event) -> None:
        if isinstance(event, AttemptPlaced):
            placed[event.attempt] = event.worker
        elif isinstance(event, OutputLines) and event.attempt == 1 and not branch_pid:
            branch_pid.append(int(event.lines[0]))
            worker = next(w for w in cluster.workers.values() if w.worker_address == placed[1])
            assert worker.process is not None and worker.process.pid is not None
            os.kill(worker.process.pid, signal.SIGKILL)

    again = tmp_path / "again"
    command = f"test -f {again} && echo done || {{ touch {again}; echo $$; sleep 60; }}"
    outcome, events = _run(
        cluster,
        tmp_path,
        f"""
        version: 1
        name: lost
        branches:
          - id: long
            run: "{command}"
            retry: {{attempts: 2, backoff: 10ms, jitter: false}}
        """,
        kill_the_worker,
    )
    (branch,) = outcome.branches
    assert (branch.status, branch.attempts, branch.result) == (BranchStatus.SUCCEEDED, 2, "done\n")
    assert placed[2] != placed[1]
    first = next(e for e in events if isinstance(e, AttemptEnded) and e.attempt == 1)
    assert first.reason == f"worker {placed[1]} was lost"
    # The first attempt's group died with its worker (its watchdog killed it).
    assert not psutil.pid_exists(branch_pid[0]) or psutil.Process(branch_pid[0]).status() == (
        psutil.STATUS_ZOMBIE
    )
    assert _left_on_workers(cluster) == {}


_CLIENT = """
import sys, anyio
from fanout_tui.engine import Engine, OutputLines
from fanout_tui.engine.dask import DaskExecutor
from fanout_tui.spec import load_plan_text

plan = load_plan_text(
    "version: 1\\nname: orphan\\nbranches:\\n  - {id: long, run: 'echo started; sleep 60'}\\n"
)
engine = Engine(plan, executor=DaskExecutor(sys.argv[1]))
engine.add_listener(lambda e: isinstance(e, OutputLines) and print(*e.lines, flush=True))
anyio.run(engine.run)
"""


def test_a_client_killed_mid_attempt_leaves_no_process_on_the_workers(
    cluster: distributed.LocalCluster,
) -> None:
    client = subprocess.Popen(
        [sys.executable, "-c", _CLIENT, cluster.scheduler_address],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert client.stdout is not None
    assert client.stdout.readline() == "started\n"
    assert _left_on_workers(cluster) != {}
    client.kill()  # no word to the cluster: the scheduler sees its connection close
    client.wait()
    deadline = time.monotonic() + 30
    while (left := _left_on_workers(cluster)) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert left == {}
