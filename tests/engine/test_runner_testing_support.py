"""The fake clock and the scripted executor that engine, headless and UI tests build on."""

from __future__ import annotations

import anyio
import pytest

from fanout_tui.engine._events import BranchStatus
from fanout_tui.engine.testing import (
    AttemptCall,
    FakeClock,
    ScriptedExecutor,
    all_tasks_blocked,
    fail,
    ok,
)
from fanout_tui.spec._masking import Masker

from .conftest import branch

pytestmark = pytest.mark.anyio


async def test_advance_wakes_due_sleepers_in_deadline_order() -> None:
    clock = FakeClock()
    woke: list[str] = []

    async def nap(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append(name)

    async with anyio.create_task_group() as tg:
        tg.start_soon(nap, "late", 2.0)
        tg.start_soon(nap, "early", 1.0)
        await all_tasks_blocked()
        clock.advance(1.5)
        await all_tasks_blocked()
        assert woke == ["early"]
        clock.advance(0.5)
    assert woke == ["early", "late"]
    assert clock.now() == 2.0
    assert clock.wall() == 1_700_000_002.0


async def test_autojump_moves_time_only_as_far_as_the_next_deadline() -> None:
    clock = FakeClock()
    async with clock.autojump():
        await clock.sleep(5)
        assert clock.now() == 5.0
        await clock.sleep(0)
        assert clock.now() == 5.0


async def test_a_cancelled_sleeper_does_not_hold_time() -> None:
    clock = FakeClock()
    async with clock.autojump():
        with anyio.move_on_after(1):  # real time: cancels the fake 100 s sleep at once
            async with anyio.create_task_group() as tg:
                tg.start_soon(clock.sleep, 100)
                await clock.sleep(1)
                tg.cancel_scope.cancel()
        assert clock.next_deadline is None
        await clock.sleep(2)
    assert clock.now() == 3.0


async def test_the_script_plays_steps_in_order_and_repeats_the_last() -> None:
    clock = FakeClock()
    executor = ScriptedExecutor({"a": [fail("boom"), ok("fine", duration=2)]})
    results = []
    async with clock.autojump():
        for attempt in (1, 2, 3):
            results.append(
                await executor.run_attempt(
                    branch("a"),
                    attempt,
                    emit=lambda _: None,
                    masker=Masker({}),
                    clock=clock,
                    log_dir=None,
                )
            )
    assert [(r.status, r.reason, r.result) for r in results] == [
        (BranchStatus.FAILED, "boom", None),
        (BranchStatus.SUCCEEDED, None, "fine"),
        (BranchStatus.SUCCEEDED, None, "fine"),
    ]
    assert [(c.started, c.ended) for c in executor.calls] == [(0, 0), (0, 2), (2, 4)]


def test_max_overlap_counts_attempts_running_together() -> None:
    executor = ScriptedExecutor()
    executor.calls.extend(
        [
            AttemptCall("a", 1, 0.0, ("a",), ended=2.0),
            AttemptCall("b", 1, 1.0, ("a", "b"), ended=3.0),
            AttemptCall("c", 1, 2.0, ("b", "c"), ended=4.0),  # starts as a ends
        ]
    )
    assert executor.max_overlap() == 2
    assert executor.max_overlap(["a", "c"]) == 1
