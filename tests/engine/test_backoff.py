"""Backoff between automatic attempts: exact without jitter, bounded with it."""

from __future__ import annotations

import random

import pytest

from fanout_tui.engine._backoff import backoff_delay, backoff_step
from fanout_tui.engine.testing import ScriptedExecutor, fail, ok

from .conftest import branch, make_plan, retries, rig


def test_steps_double_from_the_base_and_stop_at_the_cap() -> None:
    policy = retries(10, backoff=0.5, cap=3)
    assert [backoff_step(policy, n) for n in range(1, 7)] == [0.5, 1, 2, 3, 3, 3]


def test_without_jitter_the_delay_is_the_step() -> None:
    policy = retries(5, backoff=1, cap=30)
    assert [backoff_delay(policy, n, random.random) for n in (1, 2, 3)] == [1, 2, 4]


@pytest.mark.parametrize("draw", [0.0, 0.25, 0.999999])
def test_equal_jitter_stays_in_the_upper_half_of_the_step(draw: float) -> None:
    policy = retries(5, backoff=2, cap=30, jitter=True)
    for failures in range(1, 8):
        step = backoff_step(policy, failures)
        delay = backoff_delay(policy, failures, lambda: draw)
        assert step / 2 <= delay <= step
        assert delay == pytest.approx(step / 2 + draw * step / 2)


def test_huge_failure_counts_do_not_overflow() -> None:
    assert backoff_step(retries(2000, backoff=1, cap=60), 2000) == 60


@pytest.mark.anyio
async def test_the_engine_sleeps_the_backoff_on_its_clock_exactly() -> None:
    plan = make_plan(branch("a", retry=retries(5, backoff=1.5, cap=4)))
    r = rig(plan, ScriptedExecutor({"a": [fail(), fail(), fail(), fail(), ok()]}))
    async with r.clock.autojump():
        await r.engine.run()
    assert [c.started for c in r.executor.calls] == [0.0, 1.5, 4.5, 8.5, 12.5]


@pytest.mark.anyio
async def test_the_engine_draws_jitter_from_its_random_source() -> None:
    plan = make_plan(branch("a", retry=retries(3, backoff=4, jitter=True)))
    draws = iter([0.0, 1.0])
    r = rig(plan, ScriptedExecutor({"a": [fail(), fail(), ok()]}), random=lambda: next(draws))
    async with r.clock.autojump():
        await r.engine.run()
    # first delay: 4/2 + 0 * 4/2 = 2; second: 8/2 + 1 * 8/2 = 8
    assert [c.started for c in r.executor.calls] == [0.0, 2.0, 10.0]
