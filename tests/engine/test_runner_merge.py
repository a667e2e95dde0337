"""Each failure policy with each merge strategy, as the engine runs them."""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest

from fanout_tui.engine._events import BranchStatus, PolicyState
from fanout_tui.engine.testing import ScriptedExecutor, Step, fail, ok, time_out
from fanout_tui.spec._plan import (
    BranchPlan,
    ConflictRule,
    MergePlan,
    MergeStrategy,
    PolicyMode,
    PolicyPlan,
)

from .conftest import Rig, make_plan, retries, rig

pytestmark = pytest.mark.anyio

SYNTH = BranchPlan(id="synthesizer", index=0, run="cat", retry=retries(2, backoff=1))

MERGES = {
    "concatenate": MergePlan(MergeStrategy.CONCATENATE, separator="\n"),
    "key": MergePlan(MergeStrategy.KEY, key="doc", on_conflict=ConflictRule.ERROR),
    "synthesis": MergePlan(MergeStrategy.SYNTHESIS, synthesizer=SYNTH),
}
POLICIES = {
    "all_or_nothing": PolicyPlan(PolicyMode.ALL_OR_NOTHING),
    "best_effort": PolicyPlan(PolicyMode.BEST_EFFORT, min_success=2),
}


def result_of(strategy: str, branch_id: str) -> Any:
    if strategy == "key":
        return {"doc": branch_id, "words": len(branch_id)}
    return branch_id.upper()


def scripted(strategy: str, failing: set[str]) -> ScriptedExecutor:
    # c finishes first, a last: merges must follow declared order anyway
    durations = {"a": 3.0, "b": 2.0, "c": 1.0}
    script: dict[str, list[Step]] = {
        b: [
            fail("exit code 1", duration=d)
            if b in failing
            else ok(result_of(strategy, b), duration=d)
        ]
        for b, d in durations.items()
    }
    script["synthesizer"] = [ok("synthesized")]
    return ScriptedExecutor(script)


def expected_merge(strategy: str, succeeded: list[str]) -> Any:
    if strategy == "synthesis":
        return "synthesized"
    if strategy == "key":
        return {b: result_of("key", b) for b in succeeded}
    return "\n".join(b.upper() for b in succeeded)


async def run(r: Rig) -> Any:
    async with r.clock.autojump():
        return await r.engine.run()


@pytest.mark.parametrize("strategy", list(MERGES))
@pytest.mark.parametrize("policy", list(POLICIES))
async def test_every_branch_succeeds(strategy: str, policy: str) -> None:
    plan = make_plan("a", "b", "c", merge=MERGES[strategy], policy=POLICIES[policy])
    r = rig(plan, scripted(strategy, failing=set()))
    outcome = await run(r)
    assert outcome.merge.state is PolicyState.MERGED
    assert outcome.exit_code == 0
    assert outcome.merge.missing == ()
    assert outcome.merge.merged == expected_merge(strategy, ["a", "b", "c"])


@pytest.mark.parametrize("strategy", list(MERGES))
async def test_all_or_nothing_is_blocked_by_one_failure(strategy: str) -> None:
    plan = make_plan("a", "b", "c", merge=MERGES[strategy], policy=POLICIES["all_or_nothing"])
    r = rig(plan, scripted(strategy, failing={"b"}))
    outcome = await run(r)
    assert outcome.merge.state is PolicyState.BLOCKED
    assert outcome.exit_code == 1
    assert outcome.merge.failed == ("b",)
    assert outcome.merge.error == "1 failed: b"
    assert not any(c.branch_id == "synthesizer" for c in r.executor.calls)
    # the preview shows what succeeded, never the synthesizer's work
    if strategy == "key":
        assert outcome.merge.merged == {"a": result_of("key", "a"), "c": result_of("key", "c")}
    else:
        assert outcome.merge.merged == "A\nC"


@pytest.mark.parametrize("strategy", list(MERGES))
async def test_best_effort_merges_with_flags_when_enough_succeeded(strategy: str) -> None:
    plan = make_plan("a", "b", "c", merge=MERGES[strategy], policy=POLICIES["best_effort"])
    r = rig(plan, scripted(strategy, failing={"b"}))
    outcome = await run(r)
    assert outcome.merge.state is PolicyState.MERGED
    assert outcome.exit_code == 3
    assert outcome.merge.flagged == ("b",)
    merged = outcome.merge.merged
    if strategy == "concatenate":
        lines = merged.splitlines()
        assert lines[0] == "A" and lines[2] == "C"
        assert lines[1].startswith("[missing: b")
    elif strategy == "key":
        assert merged == {"a": result_of("key", "a"), "c": result_of("key", "c")}
    else:
        assert merged == "synthesized"
        (call,) = [c for c in r.executor.calls if c.branch_id == "synthesizer"]
        assert call.stdin is not None
        document = json.loads(call.stdin)
        assert document["missing"] == ["b"]
        assert [b["id"] for b in document["branches"]] == ["a", "b", "c"]
        assert document["branches"][0]["result"] == "A"


@pytest.mark.parametrize("strategy", list(MERGES))
async def test_best_effort_is_blocked_below_min_success(strategy: str) -> None:
    plan = make_plan("a", "b", "c", merge=MERGES[strategy], policy=POLICIES["best_effort"])
    r = rig(plan, scripted(strategy, failing={"a", "b"}))
    outcome = await run(r)
    assert outcome.merge.state is PolicyState.BLOCKED
    assert outcome.exit_code == 1
    assert outcome.merge.error == "only 1 of 3 succeeded, 2 needed"


async def test_the_preview_grows_as_branches_succeed_in_declared_order() -> None:
    plan = make_plan("a", "b", "c")
    r = rig(plan, scripted("concatenate", failing=set()))
    await run(r)
    previews = [(m.merge.state, m.merge.merged, m.merge.active) for m in r.recorder.merges()]
    assert previews == [
        (PolicyState.WAITING, None, 3),
        (PolicyState.WAITING, "C", 2),
        (PolicyState.WAITING, "B\nC", 1),
        (PolicyState.MERGED, "A\nB\nC", 0),
    ]


async def test_a_key_conflict_fails_the_merge_naming_both_branches() -> None:
    plan = make_plan("a", "b", merge=MERGES["key"])
    r = rig(
        plan,
        ScriptedExecutor({"a": [ok({"doc": "x", "n": 1})], "b": [ok({"doc": "x", "n": 2})]}),
    )
    outcome = await run(r)
    assert outcome.merge.state is PolicyState.MERGE_FAILED
    assert "a" in outcome.merge.error and "b" in outcome.merge.error
    assert outcome.exit_code == 1


async def test_the_synthesizer_retries_and_its_failure_fails_the_merge() -> None:
    plan = make_plan("a", merge=MERGES["synthesis"])
    script = ScriptedExecutor({"synthesizer": [fail("exit code 4", exit_code=4)]})
    r = rig(plan, script)
    outcome = await run(r)
    synth_calls = [c for c in r.executor.calls if c.branch_id == "synthesizer"]
    assert [c.started for c in synth_calls] == [0.0, 1.0]  # its own retry policy and backoff
    assert outcome.merge.state is PolicyState.MERGE_FAILED
    assert outcome.merge.error == "the synthesizer failed: exit code 4"
    assert outcome.exit_code == 1
    # the synthesizer is not a branch: no branch events name it
    assert all(getattr(e, "branch_id", None) != "synthesizer" for e in r.recorder.events)


async def test_a_synthesizer_that_times_out_says_so_once() -> None:
    plan = make_plan("a", merge=MERGES["synthesis"])
    r = rig(plan, ScriptedExecutor({"synthesizer": [time_out(after=1)] * 2}))
    outcome = await run(r)
    assert outcome.merge.error == "the synthesizer timed out after 1s"


async def test_while_the_synthesizer_runs_the_merge_waits_on_it() -> None:
    plan = make_plan("a", merge=MERGES["synthesis"])
    script = ScriptedExecutor({"synthesizer": [ok("done", duration=5)]})
    r = rig(plan, script)
    outcome = await run(r)
    states = [(m.merge.state, m.merge.active) for m in r.recorder.merges()]
    assert states[-2:] == [(PolicyState.WAITING, 1), (PolicyState.MERGED, 0)]
    assert outcome.merge.merged == "done"
    assert r.clock.now() == 5.0


async def test_a_successful_retry_reruns_the_synthesizer() -> None:
    plan = make_plan(
        "a",
        "b",
        merge=MERGES["synthesis"],
        policy=PolicyPlan(PolicyMode.BEST_EFFORT, min_success=1),
    )
    script = ScriptedExecutor(
        {"a": [ok("A")], "b": [fail(), ok("B")], "synthesizer": [ok("first"), ok("second")]}
    )
    r = rig(plan, script)
    async with r.clock.autojump(), anyio.create_task_group() as tg:
        tg.start_soon(lambda: r.engine.run(stay_open=True))
        await r.clock.sleep(1)
        assert r.engine.outcome().merge.merged == "first"
        assert r.engine.outcome().exit_code == 3
        assert r.engine.retry("b")
        await r.clock.sleep(1)
        r.engine.shutdown()
    outcome = r.engine.outcome()
    assert outcome.merge.merged == "second"
    assert outcome.exit_code == 0
    stdins = [json.loads(c.stdin or b"") for c in r.executor.calls if c.branch_id == "synthesizer"]
    assert [d["missing"] for d in stdins] == [["b"], []]


async def test_a_retry_supersedes_a_synthesis_in_progress() -> None:
    plan = make_plan(
        "a",
        "b",
        merge=MERGES["synthesis"],
        policy=PolicyPlan(PolicyMode.BEST_EFFORT, min_success=1),
    )
    script = ScriptedExecutor(
        {
            "a": [ok("A")],
            "b": [fail(), ok("B", duration=1)],
            "synthesizer": [ok("stale", duration=10), ok("fresh", duration=1)],
        }
    )
    r = rig(plan, script)
    async with r.clock.autojump(), anyio.create_task_group() as tg:
        tg.start_soon(lambda: r.engine.run(stay_open=True))
        await r.clock.sleep(2)
        assert r.engine.retry("b")
        await r.clock.sleep(20)
        r.engine.shutdown()
    assert r.engine.outcome().merge.merged == "fresh"
    first, second = [c for c in r.executor.calls if c.branch_id == "synthesizer"]
    assert first.cancelled and not second.cancelled


async def test_a_status_reported_for_a_branch_mirrors_the_merge_view() -> None:
    plan = make_plan("a", "b", policy=PolicyPlan(PolicyMode.BEST_EFFORT, min_success=1))
    r = rig(plan, ScriptedExecutor({"b": [fail("exit code 9", exit_code=9)]}))
    outcome = await run(r)
    assert [b.status for b in outcome.branches] == [BranchStatus.SUCCEEDED, BranchStatus.FAILED]
    assert outcome.merge.describe() == "merged — 1 flagged"


async def test_previews_are_throttled_but_the_final_merge_is_immediate() -> None:
    plan = make_plan(*[f"b{i:02}" for i in range(50)])
    script = ScriptedExecutor({f"b{i:02}": [ok(duration=0.01 * (i + 1))] for i in range(50)})
    r = rig(plan, script)
    outcome = await run(r)
    merges = r.recorder.merges()
    assert len(merges) <= 8  # 50 settles over 0.5 s: a preview every 0.1 s at most
    assert merges[-1].merge.state is PolicyState.MERGED
    assert r.clock.now() == pytest.approx(0.5)  # the run ended with its last branch
    assert outcome.merge.merged.splitlines()[0] == "b00"
