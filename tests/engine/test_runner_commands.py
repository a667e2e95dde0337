"""Operator commands in every state: cancel, retry, retry all failed, cancel all, shutdown."""

from __future__ import annotations

import anyio
import pytest

from fanout_tui.engine._events import (
    AttemptEnded,
    BranchStateChanged,
    BranchStatus,
    PolicyState,
    ReusedResult,
)
from fanout_tui.engine.testing import ScriptedExecutor, fail, hang, ok
from fanout_tui.spec._plan import PolicyMode, PolicyPlan

from .conftest import Rig, branch, make_plan, retries, rig

pytestmark = pytest.mark.anyio

S = BranchStatus


async def at(r: Rig, t: float) -> None:
    """Sleep on the fake clock until time ``t``."""
    await r.clock.sleep(t - r.clock.now())


async def run_open(r: Rig, script: object) -> None:
    """Run the engine with ``stay_open`` while ``script(r)`` drives it, then shut it down."""
    async with r.clock.autojump(), anyio.create_task_group() as tg:
        tg.start_soon(lambda: r.engine.run(stay_open=True))
        await script(r)  # type: ignore[operator]
        r.engine.shutdown()


async def test_cancel_a_pending_branch() -> None:
    r = rig(make_plan("a", "b"))

    def cancel_b_when_pending(event: object) -> None:
        if (
            isinstance(event, BranchStateChanged)
            and event.branch_id == "b"
            and event.status is S.PENDING
        ):
            assert r.engine.cancel("b")

    r.engine.add_listener(cancel_b_when_pending)
    async with r.clock.autojump():
        outcome = await r.engine.run()
    assert r.recorder.states("b") == [S.PENDING, S.CANCELLED]
    assert [c.branch_id for c in r.executor.calls] == ["a"]
    assert outcome.branches[1].error == "cancelled"


async def test_cancel_before_the_run_starts() -> None:
    r = rig(make_plan("a", "b"))
    assert r.engine.cancel("b")
    async with r.clock.autojump():
        outcome = await r.engine.run()
    assert [b.status for b in outcome.branches] == [S.SUCCEEDED, S.CANCELLED]
    assert [c.branch_id for c in r.executor.calls] == ["a"]


async def test_cancel_a_waiting_branch_settles_at_once() -> None:
    r = rig(make_plan("a", "b", concurrency=1), ScriptedExecutor(default=ok(duration=10)))

    async def script(r: Rig) -> None:
        await at(r, 1)
        assert r.engine.outcome().branches[1].status is S.WAITING
        assert r.engine.cancel("b")
        assert r.engine.outcome().branches[1].status is S.CANCELLED
        assert not r.engine.cancel("b")
        await at(r, 20)

    await run_open(r, script)
    assert r.recorder.states("b") == [S.PENDING, S.WAITING, S.CANCELLED]
    assert [c.branch_id for c in r.executor.calls] == ["a"]
    assert r.recorder.states("a")[-1] is S.SUCCEEDED


async def test_cancel_a_retrying_branch_never_retries_it() -> None:
    plan = make_plan(branch("a", retry=retries(3, backoff=10)))
    r = rig(plan, ScriptedExecutor({"a": [fail()]}))

    async def script(r: Rig) -> None:
        await at(r, 5)
        assert r.engine.outcome().branches[0].status is S.RETRYING
        assert r.engine.cancel("a")
        await at(r, 100)

    await run_open(r, script)
    assert r.recorder.states("a") == [S.PENDING, S.RUNNING, S.RETRYING, S.CANCELLED]
    assert len(r.executor.calls) == 1


async def test_cancel_a_running_branch_ends_its_attempt() -> None:
    plan = make_plan(branch("a", retry=retries(3)))
    r = rig(plan, ScriptedExecutor({"a": [hang()]}))

    async def script(r: Rig) -> None:
        await at(r, 2)
        assert r.engine.cancel("a")
        await at(r, 100)

    await run_open(r, script)
    assert r.recorder.states("a") == [S.PENDING, S.RUNNING, S.CANCELLED]
    (call,) = r.executor.calls  # cancel never retries
    assert call.cancelled
    (ended,) = r.recorder.of(AttemptEnded)
    assert (ended.status, ended.duration_s, ended.reason) == (S.CANCELLED, 2.0, "cancelled")


async def test_cancel_while_terminating_is_fine_and_retry_waits_for_the_end() -> None:
    r = rig(make_plan("a"), ScriptedExecutor({"a": [hang(stop_s=3), ok("second")]}))

    async def script(r: Rig) -> None:
        await at(r, 1)
        assert r.engine.cancel("a")
        await at(r, 2)
        # still ending its process group: running, and neither cancel nor retry acts
        assert r.engine.outcome().branches[0].status is S.RUNNING
        assert not r.engine.cancel("a")
        assert not r.engine.retry("a")
        await at(r, 5)
        assert r.engine.outcome().branches[0].status is S.CANCELLED
        assert r.engine.retry("a")
        await at(r, 6)

    await run_open(r, script)
    changes = r.recorder.changes("a")
    assert [(c.status, c.at) for c in changes if c.status is S.CANCELLED] == [(S.CANCELLED, 4.0)]
    first, second = r.executor.calls
    assert first.ended == 4.0 and second.started == 5.0
    assert r.recorder.states("a")[-1] is S.SUCCEEDED


async def test_cancel_of_a_settled_or_unknown_branch_does_nothing() -> None:
    r = rig(make_plan("a"))

    async def script(r: Rig) -> None:
        await at(r, 1)
        assert not r.engine.cancel("a")
        assert not r.engine.cancel("nope")

    await run_open(r, script)
    assert r.recorder.states("a") == [S.PENDING, S.RUNNING, S.SUCCEEDED]


async def test_two_retries_in_a_row_run_one_attempt_set() -> None:
    plan = make_plan(branch("a", retry=retries(2, backoff=1)))
    r = rig(plan, ScriptedExecutor({"a": [fail(duration=1), fail(duration=1), ok(duration=1)]}))

    async def script(r: Rig) -> None:
        await at(r, 10)
        assert r.engine.outcome().branches[0].status is S.FAILED
        assert r.engine.retry("a")
        assert not r.engine.retry("a")
        await at(r, 11)
        assert not r.engine.retry("a")  # running: nothing
        await at(r, 20)

    await run_open(r, script)
    assert [c.attempt for c in r.executor.calls] == [1, 2, 3]
    assert [c.started for c in r.executor.calls] == [0.0, 2.0, 10.0]
    after_retry = [c for c in r.recorder.changes("a") if c.at >= 10]
    assert [(c.status, c.attempt, c.max_attempts) for c in after_retry] == [
        (S.PENDING, 3, 4),
        (S.RUNNING, 3, 4),
        (S.SUCCEEDED, 3, 4),
    ]
    assert r.engine.outcome().branches[0].attempts == 3
    assert r.engine.outcome().exit_code == 0


async def test_retry_of_a_succeeded_branch_does_nothing_but_a_reused_one_reruns() -> None:
    reused = {"a": ReusedResult(result="old", attempts=1, duration_s=None, run_id="r")}
    r = rig(make_plan("a", "b"), ScriptedExecutor({"a": [ok("new", duration=1)]}), reused=reused)

    async def script(r: Rig) -> None:
        await at(r, 1)
        assert not r.engine.retry("b")
        assert r.engine.retry("a")
        assert r.engine.outcome().merge.state is not PolicyState.MERGED
        await at(r, 5)

    await run_open(r, script)
    assert [c.branch_id for c in r.executor.calls] == ["b", "a"]
    assert r.recorder.states("a") == [S.SUCCEEDED, S.PENDING, S.RUNNING, S.SUCCEEDED]
    report = r.engine.outcome().branches[0]
    assert (report.result, report.reused) == ("new", False)
    assert r.engine.outcome().merge.merged == "new\nb"


async def test_retry_failed_and_cancel_all_count_what_they_act_on() -> None:
    plan = make_plan("a", "b", "c", "d")
    script = ScriptedExecutor(
        {"a": [fail(), ok()], "b": [fail(), ok()], "c": [ok()], "d": [hang()]}
    )
    r = rig(plan, script)

    async def drive(r: Rig) -> None:
        await at(r, 1)
        assert r.engine.retry_failed() == 2
        assert r.engine.retry_failed() == 0
        await at(r, 2)
        assert r.engine.cancel_all() == 1
        assert r.engine.cancel_all() == 0
        await at(r, 3)

    await run_open(r, drive)
    assert [b.status for b in r.engine.outcome().branches] == [
        S.SUCCEEDED,
        S.SUCCEEDED,
        S.SUCCEEDED,
        S.CANCELLED,
    ]


async def test_commands_before_and_after_the_run_do_nothing() -> None:
    r = rig(make_plan("a"), ScriptedExecutor({"a": [fail()]}))
    assert not r.engine.retry("a")
    async with r.clock.autojump():
        await r.engine.run()
    assert not r.engine.retry("a")
    assert not r.engine.cancel("a")
    assert r.engine.retry_failed() == 0
    r.engine.shutdown()


async def test_stay_open_keeps_running_until_shutdown_and_a_retry_updates_the_merge() -> None:
    plan = make_plan("a", "b", policy=PolicyPlan(PolicyMode.BEST_EFFORT, min_success=1))
    r = rig(plan, ScriptedExecutor({"a": [ok("A")], "b": [fail(), ok("B", duration=1)]}))
    returned: list[object] = []

    async def run() -> None:
        returned.append(await r.engine.run(stay_open=True))

    async with r.clock.autojump(), anyio.create_task_group() as tg:
        tg.start_soon(run)
        await at(r, 10)
        assert not returned
        first = r.engine.outcome()
        assert (first.exit_code, first.merge.flagged) == (3, ("b",))
        assert r.engine.retry("b")
        await at(r, 20)
        assert not returned
        r.engine.shutdown()
    (outcome,) = returned
    assert outcome.exit_code == 0  # type: ignore[attr-defined]
    assert outcome.merge.merged == "A\nB"  # type: ignore[attr-defined]
    merges = [m.merge.state for m in r.recorder.merges()]
    assert merges[-3:] == [PolicyState.MERGED, PolicyState.WAITING, PolicyState.MERGED]


async def test_shutdown_cancels_everything_and_interrupted_exits_130() -> None:
    r = rig(make_plan("a", "b", "c", concurrency=1), ScriptedExecutor(default=hang(stop_s=2)))
    returned: list[object] = []

    async def run() -> None:
        returned.append(await r.engine.run())

    async with r.clock.autojump(), anyio.create_task_group() as tg:
        tg.start_soon(run)
        await at(r, 1)
        r.engine.shutdown(interrupted=True)
        r.engine.shutdown(interrupted=True)
    (outcome,) = returned
    assert [b.status for b in outcome.branches] == [S.CANCELLED] * 3  # type: ignore[attr-defined]
    assert outcome.exit_code == 130  # type: ignore[attr-defined]
    assert outcome.merge.state is not PolicyState.MERGED  # type: ignore[attr-defined]
    assert r.clock.now() == 3.0  # the running attempt took 2 s to end
    assert all(c.cancelled for c in r.executor.calls)
    assert r.recorder.changes("a")[-1].reason == "cancelled: the run was interrupted"


async def test_shutdown_after_the_policy_was_satisfied_keeps_the_exit_code() -> None:
    r = rig(make_plan("a"))

    async def script(r: Rig) -> None:
        await at(r, 1)

    async with r.clock.autojump(), anyio.create_task_group() as tg:
        tg.start_soon(lambda: r.engine.run(stay_open=True))
        await at(r, 1)
        r.engine.shutdown(interrupted=True)
    assert r.engine.outcome().exit_code == 0


async def test_shutdown_before_run_returns_at_once() -> None:
    r = rig(make_plan("a"))
    r.engine.shutdown(interrupted=True)
    async with r.clock.autojump():
        outcome = await r.engine.run()
    assert outcome.exit_code == 130
    assert r.executor.calls == []
    assert outcome.branches[0].status is S.CANCELLED


async def test_fail_fast_cancels_the_rest_at_the_first_final_failure() -> None:
    plan = make_plan(
        branch("gate", retry=retries(2)),
        "slow",
        policy=PolicyPlan(PolicyMode.ALL_OR_NOTHING, fail_fast=True),
    )
    script = ScriptedExecutor(
        {"gate": [fail("licence missing", duration=1)], "slow": [ok(duration=100)]}
    )
    r = rig(plan, script)
    async with r.clock.autojump():
        outcome = await r.engine.run()
    assert [b.status for b in outcome.branches] == [S.FAILED, S.CANCELLED]
    assert outcome.branches[1].error == "cancelled: gate failed and fail_fast is set"
    assert r.clock.now() == 3.0  # gate: 1 s, backoff 1 s, 1 s; then everything stops
    assert outcome.exit_code == 1
    assert [c.branch_id for c in r.executor.calls] == ["gate", "slow", "gate"]


async def test_fail_fast_cancels_waiting_branches_too() -> None:
    plan = make_plan(
        "gate",
        "slow",
        "queued",
        concurrency=2,
        policy=PolicyPlan(PolicyMode.ALL_OR_NOTHING, fail_fast=True),
    )
    script = ScriptedExecutor({"gate": [fail(duration=1)]}, default=ok(duration=100))
    r = rig(plan, script)
    async with r.clock.autojump():
        outcome = await r.engine.run()
    assert [b.status for b in outcome.branches] == [S.FAILED, S.CANCELLED, S.CANCELLED]
    assert r.recorder.states("queued") == [S.PENDING, S.WAITING, S.CANCELLED]
    assert [c.branch_id for c in r.executor.calls] == ["gate", "slow"]


async def test_without_fail_fast_the_rest_runs_on() -> None:
    plan = make_plan("gate", "slow", policy=PolicyPlan(PolicyMode.ALL_OR_NOTHING))
    r = rig(plan, ScriptedExecutor({"gate": [fail()], "slow": [ok(duration=100)]}))
    async with r.clock.autojump():
        outcome = await r.engine.run()
    assert [b.status for b in outcome.branches] == [S.FAILED, S.SUCCEEDED]


async def test_a_command_given_from_a_listener_keeps_events_in_order() -> None:
    r = rig(make_plan("a"), ScriptedExecutor({"a": [fail(), ok("second")]}))
    seen_by_later_listener: list[BranchStatus] = []

    def retry_on_failure(event: object) -> None:
        if isinstance(event, BranchStateChanged) and event.status is S.FAILED:
            assert r.engine.retry("a")

    r.engine.add_listener(retry_on_failure)
    r.engine.add_listener(
        lambda e: (
            seen_by_later_listener.append(e.status) if isinstance(e, BranchStateChanged) else None
        )
    )

    async def script(r: Rig) -> None:
        await at(r, 1)

    await run_open(r, script)
    expected = [S.PENDING, S.RUNNING, S.FAILED, S.PENDING, S.RUNNING, S.SUCCEEDED]
    assert r.recorder.states("a") == expected
    assert seen_by_later_listener == expected


async def test_a_plain_shutdown_before_the_policy_is_satisfied_exits_1() -> None:
    r = rig(make_plan("a"), ScriptedExecutor({"a": [hang()]}))

    async def script(r: Rig) -> None:
        await at(r, 1)

    await run_open(r, script)
    outcome = r.engine.outcome()
    assert outcome.exit_code == 1
    assert outcome.branches[0].error == "cancelled: the run was shut down"


@pytest.mark.parametrize(
    ("stop_at", "status", "reason"),
    [
        (2.0, S.TIMED_OUT, "timed out after 1s"),  # its timeout had fired: it was ending
        (0.5, S.CANCELLED, "cancelled: the run was interrupted"),
    ],
)
async def test_a_shutdown_while_a_timed_out_branch_is_ending_keeps_it_timed_out(
    stop_at: float, status: BranchStatus, reason: str
) -> None:
    # The attempt stands for a process that ignores SIGTERM after its 1 s timeout fired:
    # still ending (its grace period) when the run is interrupted.
    r = rig(make_plan(branch("stubborn", timeout_s=1.0)), ScriptedExecutor(default=hang()))
    async with r.clock.autojump(), anyio.create_task_group() as tg:
        tg.start_soon(r.engine.run)
        await at(r, stop_at)
        r.engine.shutdown(interrupted=True)
    (report,) = r.engine.outcome().branches
    assert (report.status, report.error) == (status, reason)
    (ended,) = r.recorder.of(AttemptEnded)
    assert (ended.status, ended.reason) == (status, reason)
