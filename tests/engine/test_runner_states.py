"""Branch life in the engine: every state transition, on a fake clock with scripted attempts."""

from __future__ import annotations

import pytest

from fanout_tui.engine._attempt import AttemptResult
from fanout_tui.engine._events import (
    AttemptEnded,
    AttemptStarted,
    BranchStateChanged,
    BranchStatus,
    OutputLines,
    PolicyState,
    ReusedResult,
    RunFinished,
)
from fanout_tui.engine._runner import Engine
from fanout_tui.engine.testing import FakeClock, ScriptedExecutor, fail, ok, time_out
from fanout_tui.spec._plan import ResourceLimit

from .conftest import branch, make_plan, retries, rig

pytestmark = pytest.mark.anyio

S = BranchStatus


async def test_a_branch_goes_pending_running_succeeded() -> None:
    r = rig(make_plan("a"), ScriptedExecutor({"a": [ok("hello", duration=2, lines=["x"])]}))
    async with r.clock.autojump():
        outcome = await r.engine.run()
    assert r.recorder.states("a") == [S.PENDING, S.RUNNING, S.SUCCEEDED]
    kinds = [type(e).__name__ for e in r.recorder.events if getattr(e, "branch_id", None) == "a"]
    assert kinds[:5] == [
        "BranchStateChanged",
        "AttemptStarted",
        "BranchStateChanged",
        "OutputLines",
        "AttemptEnded",
    ]
    (ended,) = r.recorder.of(AttemptEnded)
    assert (ended.status, ended.duration_s, ended.result, ended.exit_code) == (
        S.SUCCEEDED,
        2.0,
        "hello",
        0,
    )
    (report,) = outcome.branches
    assert (report.status, report.result, report.attempts, report.duration_s) == (
        S.SUCCEEDED,
        "hello",
        1,
        2.0,
    )
    assert outcome.exit_code == 0
    assert outcome.merge.state is PolicyState.MERGED
    assert outcome.merge.merged == "hello"
    assert outcome.duration_s == 2.0
    assert isinstance(r.recorder.events[-1], RunFinished)
    assert len(r.recorder.of(RunFinished)) == 1


async def test_attempt_started_names_its_logs_and_fingerprint(tmp_path: object) -> None:
    from pathlib import Path

    plan = make_plan("a")
    r = rig(plan, log_dir=Path(str(tmp_path)))
    async with r.clock.autojump():
        await r.engine.run()
    (started,) = r.recorder.of(AttemptStarted)
    assert started.fingerprint == plan.branches[0].fingerprint()
    assert started.stdout_log == Path(str(tmp_path)) / "a.attempt-1.stdout"
    assert started.stderr_log == Path(str(tmp_path)) / "a.attempt-1.stderr"


async def test_a_branch_waits_on_the_global_cap_and_says_so() -> None:
    r = rig(make_plan("a", "b", concurrency=1), ScriptedExecutor(default=ok(duration=5)))
    async with r.clock.autojump():
        await r.engine.run()
    assert r.recorder.states("b") == [S.PENDING, S.WAITING, S.RUNNING, S.SUCCEEDED]
    waiting = [c for c in r.recorder.changes("b") if c.status is S.WAITING]
    assert waiting[0].waiting_on == "concurrency"
    assert waiting[0].waiting_on_global_cap
    assert [c.started for c in r.executor.calls] == [0.0, 5.0]


async def test_a_wait_on_the_global_cap_is_told_apart_from_a_resource_of_that_name() -> None:
    plan = make_plan(
        branch("a", uses=("concurrency",)),
        branch("b", uses=("concurrency",)),
        "c",
        "d",
        concurrency=2,
        resources={"concurrency": ResourceLimit("concurrency", concurrency=1)},
    )
    r = rig(plan, ScriptedExecutor(default=ok(duration=5)))
    async with r.clock.autojump():
        await r.engine.run()
    waits = {
        c.branch_id: (c.waiting_on, c.waiting_on_global_cap)
        for c in r.recorder.of(BranchStateChanged)
        if c.status is S.WAITING
    }
    assert waits["b"] == ("concurrency", False)
    assert waits["d"] == ("concurrency", True)


async def test_a_branch_waits_on_a_named_resource_and_says_so() -> None:
    plan = make_plan(
        branch("a", uses=("db",)),
        branch("b", uses=("db",)),
        resources={"db": ResourceLimit("db", concurrency=1)},
    )
    r = rig(plan, ScriptedExecutor(default=ok(duration=1)))
    async with r.clock.autojump():
        await r.engine.run()
    (waiting,) = [c for c in r.recorder.changes("b") if c.status is S.WAITING]
    assert waiting.waiting_on == "db"
    assert r.recorder.states("a") == [S.PENDING, S.RUNNING, S.SUCCEEDED]


async def test_failed_attempts_retry_after_backoff_then_succeed() -> None:
    plan = make_plan(branch("a", retry=retries(3, backoff=2)))
    script = ScriptedExecutor({"a": [fail("exit code 7", exit_code=7), fail(), ok("done")]})
    r = rig(plan, script)
    async with r.clock.autojump():
        outcome = await r.engine.run()
    assert r.recorder.states("a") == [
        S.PENDING,
        S.RUNNING,
        S.RETRYING,
        S.RUNNING,
        S.RETRYING,
        S.RUNNING,
        S.SUCCEEDED,
    ]
    retrying = [c for c in r.recorder.changes("a") if c.status is S.RETRYING]
    assert [(c.reason, c.attempt, c.max_attempts) for c in retrying] == [
        ("exit code 7", 1, 3),
        ("exit code 1", 2, 3),
    ]
    # backoff 2 s then 4 s, jitter off
    assert [c.started for c in r.executor.calls] == [0.0, 2.0, 6.0]
    assert [c.attempt for c in r.recorder.changes("a") if c.status is S.RUNNING] == [1, 2, 3]
    assert outcome.branches[0].attempts == 3
    assert outcome.exit_code == 0


async def test_a_branch_fails_when_its_attempts_run_out() -> None:
    plan = make_plan(branch("a", retry=retries(2)))
    r = rig(plan, ScriptedExecutor({"a": [fail("exit code 3", exit_code=3)]}))
    async with r.clock.autojump():
        outcome = await r.engine.run()
    assert r.recorder.states("a")[-1] is S.FAILED
    final = r.recorder.changes("a")[-1]
    assert (final.reason, final.attempt, final.max_attempts) == ("exit code 3", 2, 2)
    (report,) = outcome.branches
    assert (report.status, report.error, report.exit_code, report.attempts) == (
        S.FAILED,
        "exit code 3",
        3,
        2,
    )
    assert outcome.exit_code == 1
    assert outcome.merge.state is PolicyState.BLOCKED


async def test_a_timed_out_attempt_is_retried_and_can_end_timed_out() -> None:
    plan = make_plan(branch("a", retry=retries(2)))
    r = rig(plan, ScriptedExecutor({"a": [time_out(3)]}))
    async with r.clock.autojump():
        outcome = await r.engine.run()
    assert r.recorder.states("a") == [S.PENDING, S.RUNNING, S.RETRYING, S.RUNNING, S.TIMED_OUT]
    assert outcome.branches[0].error == "timed out after 3s"


async def test_an_executor_that_raises_fails_the_branch_not_the_run() -> None:
    class Broken(ScriptedExecutor):
        async def run_attempt(self, *args: object, **kwargs: object) -> AttemptResult:
            raise OSError("no such thing")

    clock = FakeClock()
    engine = Engine(make_plan("a", "b"), clock=clock, executor=Broken())
    async with clock.autojump():
        outcome = await engine.run()
    assert [b.status for b in outcome.branches] == [S.FAILED, S.FAILED]
    assert outcome.branches[0].error == "the attempt could not run: no such thing"


async def test_reasons_are_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOKEN", "s3cr3t-value")
    plan = make_plan("a", secrets=("TOKEN",))
    r = rig(plan, ScriptedExecutor({"a": [fail("bad token s3cr3t-value")]}))
    async with r.clock.autojump():
        outcome = await r.engine.run()
    assert outcome.branches[0].error == "bad token ***"
    assert r.recorder.of(AttemptEnded)[0].reason == "bad token ***"


async def test_reused_branches_start_succeeded_and_do_not_run() -> None:
    reused = {"a": ReusedResult(result="old", attempts=2, duration_s=1.5, run_id="r1")}
    r = rig(make_plan("a", "b"), reused=reused)
    async with r.clock.autojump():
        outcome = await r.engine.run()
    assert [c.branch_id for c in r.executor.calls] == ["b"]
    (change,) = r.recorder.changes("a")
    assert (change.status, change.reused) == (S.SUCCEEDED, True)
    report = outcome.branches[0]
    assert (report.result, report.reused, report.attempts, report.duration_s) == (
        "old",
        True,
        2,
        1.5,
    )
    assert outcome.merge.merged == "old\nb"


async def test_output_lines_from_the_executor_reach_listeners() -> None:
    r = rig(make_plan("a"), ScriptedExecutor({"a": [ok(lines=["one", "two"])]}))
    async with r.clock.autojump():
        await r.engine.run()
    (lines,) = r.recorder.of(OutputLines)
    assert lines.lines == ("one", "two")


async def test_a_listener_that_raises_is_dropped_and_the_run_goes_on(
    capsys: pytest.CaptureFixture[str],
) -> None:
    r = rig(make_plan("a", "b"))
    calls: list[object] = []

    def bad(event: object) -> None:
        calls.append(event)
        raise RuntimeError("listener bug")

    r.engine.add_listener(bad)
    async with r.clock.autojump():
        outcome = await r.engine.run()
    assert outcome.exit_code == 0
    assert len(calls) == 1
    assert "listener bug" in capsys.readouterr().err
    assert isinstance(r.recorder.events[-1], RunFinished)


async def test_an_empty_plan_runs_and_merges_nothing() -> None:
    r = rig(make_plan())
    async with r.clock.autojump():
        outcome = await r.engine.run()
    assert outcome.branches == ()
    assert outcome.merge.state is PolicyState.MERGED


async def test_an_engine_runs_once() -> None:
    r = rig(make_plan("a"))
    async with r.clock.autojump():
        await r.engine.run()
        with pytest.raises(RuntimeError):
            await r.engine.run()


async def test_state_changes_carry_the_clock_time() -> None:
    r = rig(make_plan("a", "b", concurrency=1), ScriptedExecutor(default=ok(duration=4)))
    async with r.clock.autojump():
        await r.engine.run()
    times = [(c.status, c.at) for c in r.recorder.changes("b")]
    assert times == [(S.PENDING, 0.0), (S.WAITING, 0.0), (S.RUNNING, 4.0), (S.SUCCEEDED, 8.0)]
    assert all(isinstance(c, BranchStateChanged) for c in r.recorder.changes("b"))
