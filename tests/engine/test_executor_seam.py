"""The executor seam: the scheduler starts, streams, cancels and ends attempts only through
an :class:`~fanout_tui.engine.Executor`, so another implementation can run them elsewhere.

The executor here is written against the public protocol alone (not the package's
scripted one), the way a remote worker's would be.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import anyio
import pytest

from fanout_tui.engine import (
    AttemptEnded,
    AttemptResult,
    BranchStatus,
    Clock,
    Engine,
    Event,
    Executor,
    OutputLines,
)
from fanout_tui.engine.testing import FakeClock
from fanout_tui.spec import BranchPlan, Masker

from .conftest import Recorder, branch, make_plan, retries

pytestmark = pytest.mark.anyio

S = BranchStatus


@dataclass
class RemoteLike:
    """Plays each branch's attempts as ``outcomes[branch]`` says, in order: a status to
    end with after a second, or ``"hang"`` (until cancelled; a timeout if it has one)."""

    outcomes: dict[str, list[str]]
    log: list[str] = field(default_factory=list)
    started: dict[str, anyio.Event] = field(default_factory=dict)

    async def run_attempt(
        self,
        branch: BranchPlan,
        attempt: int,
        *,
        emit: Callable[[Event], None],
        masker: Masker,
        clock: Clock,
        log_dir: Path | None,
        stdin: bytes | None = None,
        environment: Mapping[str, str] | None = None,
    ) -> AttemptResult:
        outcome = self.outcomes[branch.id][attempt - 1]
        self.log.append(f"start {branch.id} {attempt}")
        self.started.setdefault(branch.id, anyio.Event()).set()
        emit(OutputLines(branch.id, attempt, "stdout", (masker.mask(f"remote {attempt}"),)))
        try:
            if outcome == "hang":
                if branch.timeout_s is None:
                    await anyio.sleep_forever()
                await clock.sleep(branch.timeout_s)
                return AttemptResult(S.TIMED_OUT, f"timed out after {branch.timeout_s:g}s")
            await clock.sleep(1)
        except anyio.get_cancelled_exc_class():
            self.log.append(f"end group {branch.id} {attempt}")
            raise
        if outcome == "succeeded":
            return AttemptResult(S.SUCCEEDED, result=f"{branch.id} done")
        return AttemptResult(S.FAILED, "remote exit 1", exit_code=1)

    def cut_grace(self) -> None:
        self.log.append("cut grace")

    async def end_leftovers(self, mark: str, grace_s: float, *, escaped_only: bool) -> None:
        self.log.append(f"end leftovers escaped_only={escaped_only}")


def engine_with(executor: Executor, *branches: BranchPlan) -> tuple[Engine, Recorder, FakeClock]:
    clock = FakeClock()
    engine = Engine(make_plan(*branches), clock=clock, executor=executor, random=lambda: 0.5)
    recorder = Recorder()
    engine.add_listener(recorder)
    return engine, recorder, clock


async def test_retries_run_through_the_executor_and_its_output_is_published() -> None:
    executor = RemoteLike({"a": ["failed", "succeeded"]})
    engine, recorder, clock = engine_with(executor, branch("a", retry=retries(2)))
    async with clock.autojump():
        outcome = await engine.run()
    assert executor.log == ["start a 1", "start a 2", "end leftovers escaped_only=False"]
    assert recorder.states("a") == [S.PENDING, S.RUNNING, S.RETRYING, S.RUNNING, S.SUCCEEDED]
    assert [e.lines for e in recorder.of(OutputLines)] == [("remote 1",), ("remote 2",)]
    assert outcome.branches[0].result == "a done"
    assert outcome.branches[0].attempts == 2


async def test_a_cancel_reaches_the_attempt_through_the_executor() -> None:
    executor = RemoteLike({"a": ["hang"], "b": ["succeeded"]})
    engine, recorder, clock = engine_with(executor, "a", "b")
    async with clock.autojump(), anyio.create_task_group() as tg:
        tg.start_soon(engine.run)
        await executor.started.setdefault("a", anyio.Event()).wait()
        assert engine.cancel("a")
    assert "end group a 1" in executor.log
    assert recorder.states("a")[-1] is S.CANCELLED
    (ended,) = [e for e in recorder.of(AttemptEnded) if e.branch_id == "a"]
    assert (ended.status, ended.reason) == (S.CANCELLED, "cancelled")


async def test_a_timeout_the_executor_reports_times_the_branch_out() -> None:
    executor = RemoteLike({"a": ["hang"]})
    engine, recorder, clock = engine_with(executor, branch("a", timeout_s=3.0))
    async with clock.autojump():
        outcome = await engine.run()
    assert recorder.states("a") == [S.PENDING, S.RUNNING, S.TIMED_OUT]
    assert outcome.branches[0].error == "timed out after 3s"
    assert outcome.duration_s == 3.0


async def test_a_second_interrupt_cuts_grace_through_the_executor() -> None:
    executor = RemoteLike({"a": ["hang"]})
    engine, _, clock = engine_with(executor, "a")
    async with clock.autojump(), anyio.create_task_group() as tg:
        tg.start_soon(engine.run)
        await executor.started.setdefault("a", anyio.Event()).wait()
        engine.shutdown(interrupted=True)
        engine.shutdown(interrupted=True, kill_now=True)
    assert executor.log[:2] == ["start a 1", "cut grace"]
    assert set(executor.log[2:4]) == {"end group a 1", "end leftovers escaped_only=True"}
    assert executor.log[4:] == ["end leftovers escaped_only=False"]
