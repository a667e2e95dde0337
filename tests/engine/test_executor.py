"""The attempt runner: whatever an executor reports, the reason is fit to be shown."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from fanout_tui.engine._attempt import AttemptResult
from fanout_tui.engine._events import BranchStatus
from fanout_tui.engine._executor import AttemptRunner
from fanout_tui.engine.testing import FakeClock, ScriptedExecutor
from fanout_tui.spec._masking import Masker
from fanout_tui.spec._plan import BranchPlan

pytestmark = pytest.mark.anyio

SECRET = "tok-12345"


class Reporting(ScriptedExecutor):
    """Plays whatever ``attempt`` does."""

    def __init__(self, attempt: Callable[[], Awaitable[AttemptResult]]) -> None:
        super().__init__()
        self.attempt = attempt

    async def run_attempt(self, *_: Any, **__: Any) -> AttemptResult:
        return await self.attempt()


def runner_reporting(reason: str) -> AttemptRunner:
    async def report() -> AttemptResult:
        return AttemptResult(BranchStatus.FAILED, reason, 1)

    return AttemptRunner(Reporting(report), Masker({"TOKEN": SECRET}), FakeClock(), None)


async def test_a_reason_is_masked_on_one_line_and_cannot_drive_the_terminal() -> None:
    runner = runner_reporting(f"\x1b]0;pwned\x07\x1b[2Jbad {SECRET}\nsecond\tline")
    result = await runner(BranchPlan("b", 0, run="true"), 1, emit=lambda _: None)
    assert result.reason == "bad *** second    line"


async def test_an_executor_that_raises_fails_the_attempt_with_a_clean_reason() -> None:
    async def broken() -> AttemptResult:
        raise RuntimeError(f"no {SECRET}\x1b[31m here")

    runner = AttemptRunner(Reporting(broken), Masker({"TOKEN": SECRET}), FakeClock(), None)
    result = await runner(BranchPlan("b", 0, run="true"), 1, emit=lambda _: None)
    assert result == AttemptResult(BranchStatus.FAILED, "the attempt could not run: no *** here")
