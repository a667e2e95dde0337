"""The engine with real processes: states, limits, cancel and shutdown leave nothing behind."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import anyio
import pytest

from fanout_tui.engine import _procfs as procfs
from fanout_tui.engine._events import (
    AttemptEnded,
    AttemptStarted,
    BranchStatus,
    PolicyState,
    ProcessStarted,
)
from fanout_tui.engine._run_mark import RUN_MARK
from fanout_tui.engine._runner import Engine
from fanout_tui.spec._plan import BranchPlan, MergePlan, MergeStrategy, Plan, PolicyMode, PolicyPlan

from .conftest import Recorder, branch, make_plan, retries

pytestmark = pytest.mark.anyio

S = BranchStatus


def live_group_members(pgid: int) -> list[int]:
    """Pids of live (not zombie) processes in group ``pgid``, read straight from /proc."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            raw = Path(f"/proc/{name}/stat").read_bytes()
        except OSError:
            continue
        fields = raw[raw.rfind(b")") + 2 :].split()
        if int(fields[2]) == pgid and fields[0] not in (b"Z", b"X"):
            found.append(int(name))
    return found


async def until(condition: Callable[[], bool]) -> None:
    """Wait (10 s at most) until ``condition()`` holds: for facts only /proc can tell."""
    with anyio.fail_after(10):
        while not condition():  # noqa: ASYNC110 (no event says a grandchild has started)
            await anyio.sleep(0.01)


def engine_for(plan: Plan, tmp_path: Path) -> tuple[Engine, Recorder]:
    engine = Engine(plan, log_dir=tmp_path / "logs")
    recorder = Recorder()
    engine.add_listener(recorder)
    return engine, recorder


def sh(branch_id: str, script: str, **fields: object) -> BranchPlan:
    fields.setdefault("kill_grace_s", 1.0)
    return branch(branch_id, run=script, **fields)


async def test_real_branches_succeed_fail_and_retry(tmp_path: Path) -> None:
    marker = tmp_path / "tried"
    plan = make_plan(
        sh("ok", "echo hello"),
        sh("bad", "echo oops >&2; exit 7"),
        # fails the first time, succeeds the second
        sh(
            "flaky",
            f"if [ -e {marker} ]; then echo fine; else touch {marker}; exit 1; fi",
            retry=retries(2, backoff=0.01),
        ),
        policy=PolicyPlan(PolicyMode.BEST_EFFORT, min_success=2),
    )
    engine, recorder = engine_for(plan, tmp_path)
    with anyio.fail_after(10):
        outcome = await engine.run()
    assert [b.status for b in outcome.branches] == [S.SUCCEEDED, S.FAILED, S.SUCCEEDED]
    assert outcome.branches[1].error == "exit code 7"
    assert outcome.branches[1].exit_code == 7
    assert recorder.states("flaky") == [S.PENDING, S.RUNNING, S.RETRYING, S.RUNNING, S.SUCCEEDED]
    assert outcome.exit_code == 3
    assert outcome.merge.merged.splitlines()[0] == "hello"
    logs = {(s.branch_id, s.attempt): s for s in recorder.of(AttemptStarted)}
    assert logs["ok", 1].stdout_log is not None
    assert logs["ok", 1].stdout_log.read_text() == "hello\n"
    assert logs["bad", 1].stderr_log is not None
    assert logs["bad", 1].stderr_log.read_text() == "oops\n"
    # An attempt that printed nothing leaves no file.
    assert logs["flaky", 1].stdout_log is not None
    assert not logs["flaky", 1].stdout_log.exists()


async def test_a_real_timeout_ends_the_branch_timed_out(tmp_path: Path) -> None:
    plan = make_plan(sh("slow", "sleep 10", timeout_s=0.3))
    engine, recorder = engine_for(plan, tmp_path)
    with anyio.fail_after(10):
        outcome = await engine.run()
    assert outcome.branches[0].status is S.TIMED_OUT
    (process,) = recorder.of(ProcessStarted)
    assert live_group_members(process.pgid) == []


async def test_the_global_cap_holds_with_real_processes(tmp_path: Path) -> None:
    plan = make_plan(*[sh(f"b{i}", "sleep 0.05") for i in range(8)], concurrency=3)
    engine, _ = engine_for(plan, tmp_path)
    running = peak = 0

    def watch(event: object) -> None:
        nonlocal running, peak
        if isinstance(event, AttemptStarted):
            running += 1
            peak = max(peak, running)
        elif isinstance(event, AttemptEnded):
            running -= 1

    engine.add_listener(watch)
    with anyio.fail_after(10):
        outcome = await engine.run()
    assert outcome.exit_code == 0
    assert peak == 3


async def test_cancel_ends_the_whole_group_grandchildren_included(tmp_path: Path) -> None:
    # a grandchild in the background that keeps stdout open
    plan = make_plan(sh("tree", "sleep 30 & sleep 30 & wait"), "quick")
    engine, recorder = engine_for(plan, tmp_path)
    groups: list[int] = []

    def cancel_when_started(event: object) -> None:
        if isinstance(event, ProcessStarted) and event.branch_id == "tree":
            groups.append(event.pgid)

    engine.add_listener(cancel_when_started)
    async with anyio.create_task_group() as tg:
        tg.start_soon(engine.run)
        await until(lambda: bool(groups) and len(live_group_members(groups[0])) == 3)
        assert engine.cancel("tree")
    (pgid,) = groups
    assert live_group_members(pgid) == []
    assert recorder.states("tree")[-1] is S.CANCELLED
    assert [e.status for e in recorder.of(AttemptEnded) if e.branch_id == "tree"] == [S.CANCELLED]


async def test_shutdown_ends_every_process_and_run_returns(tmp_path: Path) -> None:
    plan = make_plan(
        *[sh(f"b{i}", "sleep 30 & sleep 30") for i in range(4)],
        sh("queued", "sleep 30"),
        concurrency=4,
    )
    engine, _ = engine_for(plan, tmp_path)
    groups: list[int] = []
    engine.add_listener(lambda e: groups.append(e.pgid) if isinstance(e, ProcessStarted) else None)
    returned = []

    async def run() -> None:
        returned.append(await engine.run())

    async with anyio.create_task_group() as tg:
        tg.start_soon(run)
        await until(
            lambda: len(groups) == 4 and all(len(live_group_members(g)) >= 2 for g in groups)
        )
        engine.shutdown(interrupted=True)
    (outcome,) = returned
    assert outcome.exit_code == 130
    assert [b.status for b in outcome.branches] == [S.CANCELLED] * 5
    assert outcome.merge.state is not PolicyState.MERGED
    for pgid in groups:
        assert live_group_members(pgid) == []


async def test_a_real_synthesizer_reads_the_results_document(tmp_path: Path) -> None:
    reader = (
        "import json, sys; d = json.load(sys.stdin); "
        "print(' + '.join(str(b['result']) for b in d['branches']))"
    )
    synthesizer = BranchPlan(id="synthesizer", index=0, run=(sys.executable, "-c", reader))
    plan = make_plan(
        sh("a", "echo one"),
        sh("b", "echo two"),
        merge=MergePlan(MergeStrategy.SYNTHESIS, synthesizer=synthesizer),
    )
    engine, _ = engine_for(plan, tmp_path)
    with anyio.fail_after(10):
        outcome = await engine.run()
    assert outcome.merge.state is PolicyState.MERGED
    assert outcome.merge.merged.strip() == "one\n + two"


def _alive(pid: int) -> bool:
    stat = procfs.read_stat(pid)
    return stat is not None and stat.alive


async def test_a_process_that_left_its_group_is_ended_when_the_run_ends(tmp_path: Path) -> None:
    # A daemon: its own session and group, so ending the branch's group misses it.
    pidfile = tmp_path / "daemon.pid"
    script = (
        f"setsid sh -c 'echo $$ > {pidfile}; exec sleep 30' </dev/null >/dev/null 2>&1 & "
        f"while [ ! -s {pidfile} ]; do sleep 0.01; done"
    )
    engine, _ = engine_for(make_plan(sh("daemon", script)), tmp_path)
    with anyio.fail_after(10):
        outcome = await engine.run()
    assert outcome.exit_code == 0
    daemon = int(pidfile.read_text())
    try:
        assert not _alive(daemon)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(daemon, signal.SIGKILL)


async def test_escaped_processes_get_their_grace_alongside_the_groups_and_kill_now_cuts_it(
    tmp_path: Path,
) -> None:
    # A branch that ignores SIGTERM, and a daemon of it that left its group and does too.
    pidfile, termed = tmp_path / "daemon.pid", tmp_path / "daemon.termed"
    daemon_script = (
        f"trap 'touch {termed}' TERM; echo \\$\\$ > {pidfile}; while :; do sleep 0.05; done"
    )
    script = (  # the daemon starts first: a shell cannot trap what it inherits ignored
        f'setsid sh -c "{daemon_script}" </dev/null >/dev/null 2>&1 & '
        f"trap '' TERM; while :; do sleep 0.05; done"
    )
    engine, _ = engine_for(make_plan(sh("stubborn", script, kill_grace_s=60.0)), tmp_path)
    groups: list[int] = []
    engine.add_listener(lambda e: groups.append(e.pgid) if isinstance(e, ProcessStarted) else None)
    returned = []

    async def run() -> None:
        returned.append(await engine.run())

    try:
        with anyio.fail_after(20):  # far less than the 60 s grace
            async with anyio.create_task_group() as tg:
                tg.start_soon(run)
                await until(lambda: pidfile.exists() and pidfile.read_text().strip() != "")
                engine.shutdown(interrupted=True)
                # The daemon hears SIGTERM while the branch's group still waits out its grace.
                await until(termed.exists)
                assert live_group_members(groups[0]) != []
                engine.shutdown(interrupted=True, kill_now=True)
        (outcome,) = returned
        assert outcome.exit_code == 130
        assert live_group_members(groups[0]) == []
        assert not _alive(int(pidfile.read_text()))
    finally:  # whatever failed, nothing of the test stays behind
        written = pidfile.read_text().strip() if pidfile.exists() else ""
        if written:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(written), signal.SIGKILL)


@pytest.fixture
def other_runs_process() -> Iterator[subprocess.Popen[bytes]]:
    """A process in its own session that carries another run's mark."""
    other = subprocess.Popen(
        ["sleep", "30"], start_new_session=True, env={**os.environ, RUN_MARK: "another-run"}
    )
    yield other
    other.kill()
    other.wait()


async def test_the_end_of_a_run_leaves_processes_of_other_runs_alone(
    tmp_path: Path, other_runs_process: subprocess.Popen[bytes]
) -> None:
    engine, _ = engine_for(make_plan(sh("quick", "true")), tmp_path)
    with anyio.fail_after(10):
        await engine.run()
    assert other_runs_process.poll() is None
