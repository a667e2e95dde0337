"""Builders for engine tests: plans, a fake clock, a scripted executor, an event recorder.

The fake clock and the scripted executor live in :mod:`fanout_tui.engine.testing` so that
every layer's tests can use them; this file adds small plan builders and fixtures.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest

from fanout_tui.engine._events import BranchStateChanged, BranchStatus, Event, ResultsChanged
from fanout_tui.engine._runner import Engine
from fanout_tui.engine.testing import FakeClock, ScriptedExecutor
from fanout_tui.spec._plan import BranchPlan, Plan, RetryPolicy

E = TypeVar("E")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def branch(branch_id: str, **fields: Any) -> BranchPlan:
    """A branch (``run: true`` unless given); ``index`` is set by :func:`make_plan`."""
    fields.setdefault("run", "true")
    return BranchPlan(id=branch_id, index=0, **fields)


def make_plan(*branches: BranchPlan | str, **fields: Any) -> Plan:
    """A plan of ``branches`` (a plain id makes a default branch) in declared order."""
    made = [branch(b) if isinstance(b, str) else b for b in branches]
    indexed = tuple(dataclasses.replace(b, index=i) for i, b in enumerate(made))
    fields.setdefault("name", "test")
    return Plan(branches=indexed, **fields)


def retries(
    attempts: int, backoff: float = 1.0, cap: float = 30.0, jitter: bool = False
) -> RetryPolicy:
    """A retry policy (jitter off by default, so delays are exact)."""
    return RetryPolicy(attempts=attempts, backoff_s=backoff, max_backoff_s=cap, jitter=jitter)


@dataclass
class Recorder:
    """Records every event an engine publishes."""

    events: list[Event] = field(default_factory=list)

    def __call__(self, event: Event) -> None:
        self.events.append(event)

    def of(self, kind: type[E]) -> list[E]:
        """The events of one kind, in order."""
        return [e for e in self.events if isinstance(e, kind)]

    def states(self, branch_id: str) -> list[BranchStatus]:
        """The statuses one branch went through, in order."""
        return [e.status for e in self.of(BranchStateChanged) if e.branch_id == branch_id]

    def changes(self, branch_id: str) -> list[BranchStateChanged]:
        """The state changes of one branch, in order."""
        return [e for e in self.of(BranchStateChanged) if e.branch_id == branch_id]

    def merges(self) -> list[ResultsChanged]:
        """Every published merge state, in order."""
        return self.of(ResultsChanged)


@dataclass
class Rig:
    """An engine wired to a fake clock, a scripted executor and a recorder."""

    engine: Engine
    clock: FakeClock
    executor: ScriptedExecutor
    recorder: Recorder


def rig(plan: Plan, executor: ScriptedExecutor | None = None, **engine_args: Any) -> Rig:
    """Build an engine for ``plan`` on a fake clock with a scripted executor."""
    clock = FakeClock()
    executor = executor or ScriptedExecutor()
    engine_args.setdefault("random", lambda: 0.5)
    engine = Engine(plan, clock=clock, executor=executor, **engine_args)
    recorder = Recorder()
    engine.add_listener(recorder)
    return Rig(engine, clock, executor, recorder)


def ids(values: Iterable[Any]) -> list[str]:
    """The branch ids of reports or calls."""
    return [getattr(v, "branch_id", None) or v.id for v in values]
