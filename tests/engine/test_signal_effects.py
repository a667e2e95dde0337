"""What signals do to a run: pauses, retries, retry.on, adaptive concurrency, budgets, notes."""

from __future__ import annotations

import pytest

from fanout_tui.engine import (
    AttemptEnded,
    BranchStatus,
    OutputLines,
    ResourcePaused,
    ResourcesChanged,
    Usage,
)
from fanout_tui.engine.testing import ScriptedExecutor, fail, ok
from fanout_tui.spec._plan import Budget, ResourceLimit, RetryPolicy

from .conftest import branch, make_plan, rig

pytestmark = pytest.mark.anyio


def limited(after: float) -> str:
    return f'::fanout:: {{"rate_limited": {{"retry_after": {after}}}}}'


def usage(tokens: int, cost: float = 0.0) -> str:
    return f'::fanout:: {{"usage": {{"input_tokens": {tokens}, "cost_usd": {cost}}}}}'


def retry(attempts: int = 3, on: frozenset[str] | None = None) -> RetryPolicy:
    return RetryPolicy(attempts=attempts, backoff_s=1.0, jitter=False, on=on)


async def test_a_pause_holds_only_the_resources_the_branch_uses() -> None:
    plan = make_plan(
        branch("hit", uses=("api",), retry=retry()),
        branch("api-user", uses=("api",)),
        branch("db-user", uses=("db",)),
        resources={"api": ResourceLimit("api", concurrency=1), "db": ResourceLimit("db", 1)},
    )
    script = {"hit": [fail(duration=1, stderr=[limited(12)]), ok()], "api-user": [ok()]}
    r = rig(plan, ScriptedExecutor(script))
    async with r.clock.autojump():
        await r.engine.run()
    starts = {(c.branch_id, c.attempt): c.started for c in r.executor.calls}
    assert starts[("db-user", 1)] == 0.0  # db was never paused
    assert starts[("api-user", 1)] == pytest.approx(12.0)  # waited out the pause
    assert starts[("hit", 2)] >= 12.0  # and so did the next attempt of the branch hit
    pauses = r.recorder.of(ResourcePaused)
    assert [(p.name, p.by, p.seconds) for p in pauses] == [("api", "hit", 12.0)]
    ended = [e for e in r.recorder.of(AttemptEnded) if e.branch_id == "hit"]
    assert (ended[0].reason, ended[0].rate_limited) == ("rate limited (retry after 12s)", True)


async def test_an_absurd_retry_after_is_cut_to_the_ceiling_with_a_note() -> None:
    plan = make_plan(branch("hit", uses=("api",)), resources={"api": ResourceLimit("api", 2)})
    r = rig(plan, ScriptedExecutor({"hit": [fail(stderr=[limited(31_536_000)])]}))
    async with r.clock.autojump():
        await r.engine.run()
    (pause,) = r.recorder.of(ResourcePaused)
    assert pause.seconds == 600.0
    assert pause.note == "retry_after 3.1536e+07s cut to 600s"


@pytest.mark.parametrize(
    ("on", "attempts"),
    [(None, 3), (frozenset({"rate_limited"}), 3), (frozenset({"timed_out"}), 1)],
)
async def test_retry_on_decides_whether_a_rate_limited_attempt_retries(
    on: frozenset[str] | None, attempts: int
) -> None:
    plan = make_plan(branch("hit", retry=retry(3, on)))
    r = rig(plan, ScriptedExecutor({"hit": [fail(stderr=[limited(1)])]}))
    async with r.clock.autojump():
        await r.engine.run()
    assert len(r.executor.attempts_of("hit")) == attempts


async def test_retry_on_exit_codes_retries_only_those_codes() -> None:
    policy = RetryPolicy(
        attempts=3, backoff_s=1.0, jitter=False, on=frozenset(), on_exit_codes=frozenset({75})
    )
    plan = make_plan(branch("a", retry=policy), branch("b", retry=policy))
    script = {"a": [fail(exit_code=75), ok()], "b": [fail(exit_code=1), ok()]}
    r = rig(plan, ScriptedExecutor(script))
    async with r.clock.autojump():
        outcome = await r.engine.run()
    assert [b.status for b in outcome.branches] == [BranchStatus.SUCCEEDED, BranchStatus.FAILED]


async def test_adaptive_concurrency_shows_the_value_in_force() -> None:
    plan = make_plan(
        branch("hit", uses=("api",)),
        resources={"api": ResourceLimit("api", concurrency=8, adaptive=True)},
    )
    r = rig(plan, ScriptedExecutor({"hit": [fail(stderr=[limited(2)])]}))
    async with r.clock.autojump():
        await r.engine.run()
    shown = [e.resources[0].concurrency for e in r.recorder.of(ResourcesChanged)]
    assert 4 in shown and max(shown) == 8
    assert r.recorder.of(ResourcesChanged)[-1].resources[0].declared_concurrency == 8


async def test_a_malformed_signal_stays_log_text_and_is_noted_once() -> None:
    lines = ["::fanout:: {oops", '::fanout:: {"progress": 1}', usage(5)]
    plan = make_plan("a")
    r = rig(plan, ScriptedExecutor({"a": [ok("fine", stderr=lines)]}))
    async with r.clock.autojump():
        outcome = await r.engine.run()
    stderr = [line for e in r.recorder.of(OutputLines) if e.stream == "stderr" for line in e.lines]
    assert stderr[:3] == lines  # kept as they came
    notes = [line for line in stderr if line.startswith("[fanout-tui]")]
    assert len(notes) == 1 and "not JSON" in notes[0]
    assert outcome.branches[0].result == "fine"  # signals never reach the result
    assert outcome.branches[0].usage == Usage(input_tokens=5)


async def test_past_the_budget_no_new_attempt_starts() -> None:
    plan = make_plan(
        branch("a", retry=retry(3)),
        "b",
        "c",
        concurrency=1,
        budget=Budget(cost_usd=1.0),
    )
    script = {"a": [fail(stderr=[usage(10, 0.6)])], "b": [ok(stderr=[usage(10, 0.6)])]}
    r = rig(plan, ScriptedExecutor(script))
    async with r.clock.autojump():
        outcome = await r.engine.run()
    assert [(b.status, b.error) for b in outcome.branches] == [
        (BranchStatus.FAILED, "exit code 1; budget reached, not retried"),
        (BranchStatus.SUCCEEDED, None),
        (BranchStatus.CANCELLED, "budget reached"),
    ]
    assert outcome.usage == Usage(input_tokens=20, cost_usd=1.2)
