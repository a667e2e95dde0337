"""A scripted engine and a fixed clock, so the dashboard can be driven without processes."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

from fanout_tui.engine._control import Listener
from fanout_tui.engine._events import (
    AttemptEnded,
    AttemptStarted,
    BranchReport,
    BranchStateChanged,
    BranchStatus,
    Event,
    MergeState,
    OutputLines,
    PolicyState,
    ResultsChanged,
    ReusedResult,
    RunFinished,
    RunOutcome,
)
from fanout_tui.engine._resource_events import (
    ResourcePaused,
    ResourcesChanged,
    ResourceView,
    UsageReported,
)
from fanout_tui.engine._signals import Usage
from fanout_tui.spec._plan import (
    BranchPlan,
    MergePlan,
    MergeStrategy,
    Plan,
    PolicyMode,
    PolicyPlan,
    ResourceLimit,
    RetryPolicy,
)


class FixedClock:
    """A clock that only moves when a test moves it."""

    def __init__(self, now: float = 1000.0) -> None:
        self.t = now

    def now(self) -> float:
        return self.t

    def wall(self) -> float:
        return 1_700_000_000.0 + self.t

    async def sleep(self, seconds: float) -> None:
        self.t += seconds


def make_plan(
    ids: Sequence[str],
    *,
    name: str = "summarize-docs",
    attempts: int = 3,
    mode: PolicyMode = PolicyMode.ALL_OR_NOTHING,
    min_success: int = 0,
    output: Path | None = None,
    titles: dict[str, str] | None = None,
    resources: Sequence[ResourceLimit] = (),
) -> Plan:
    """A plan of ``ids`` branches that would print and succeed (never run for real here);
    every branch uses every resource of ``resources``."""
    titles = titles or {}
    branches = tuple(
        BranchPlan(
            id=branch_id,
            index=index,
            title=titles.get(branch_id),
            run=f"echo {branch_id}",
            retry=RetryPolicy(attempts=attempts),
            uses=tuple(limit.name for limit in resources),
        )
        for index, branch_id in enumerate(ids)
    )
    return Plan(
        name=name,
        branches=branches,
        merge=MergePlan(strategy=MergeStrategy.KEY, key="doc"),
        policy=PolicyPlan(mode=mode, min_success=min_success),
        output=output,
        resources={limit.name: limit for limit in resources},
    )


@dataclass
class ScriptedEngine:
    """Implements EngineControl: emits a script of events, records every command.

    ``on_retry`` / ``on_cancel`` map a branch id to the events emitted when that command acts.
    """

    plan: Plan
    script: list[Event] = field(default_factory=list)
    on_retry: dict[str, list[Event]] = field(default_factory=dict)
    on_cancel: dict[str, list[Event]] = field(default_factory=dict)
    commands: list[tuple[str, ...]] = field(default_factory=list)
    interrupted: bool | None = None
    statuses: dict[str, BranchStatus] = field(default_factory=dict)
    reused: set[str] = field(default_factory=set)
    merge: MergeState | None = None
    _listeners: list[Listener] = field(default_factory=list)
    _stop: anyio.Event | None = None
    _stopped: bool = False

    def __post_init__(self) -> None:
        self.statuses = {b.id: BranchStatus.PENDING for b in self.plan.branches}

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def emit(self, *events: Event) -> None:
        """Publish ``events`` to every listener, as the engine would."""
        for event in events:
            if isinstance(event, BranchStateChanged):
                self.statuses[event.branch_id] = event.status
                if event.reused:
                    self.reused.add(event.branch_id)
                else:
                    self.reused.discard(event.branch_id)
            elif isinstance(event, ResultsChanged):
                self.merge = event.merge
            for listener in self._listeners:
                listener(event)

    async def run(self, *, stay_open: bool = False) -> RunOutcome:
        self._stop = anyio.Event()
        if self._stopped:
            self._stop.set()
        self.emit(*self.script)
        if stay_open:
            await self._stop.wait()
        outcome = self.outcome()
        self.emit(RunFinished(outcome))
        return outcome

    def retry(self, branch_id: str) -> bool:
        self.commands.append(("retry", branch_id))
        status = self.statuses[branch_id]
        reused = branch_id in self.reused and status is BranchStatus.SUCCEEDED
        if not (status.retryable or reused):
            return False
        self.emit(*self.on_retry.get(branch_id, ()))
        return True

    def cancel(self, branch_id: str) -> bool:
        self.commands.append(("cancel", branch_id))
        if not self.statuses[branch_id].cancellable:
            return False
        self.emit(*self.on_cancel.get(branch_id, ()))
        return True

    def retry_failed(self) -> int:
        self.commands.append(("retry_failed",))
        return sum(1 for s in self.statuses.values() if s.retryable)

    def cancel_all(self) -> int:
        self.commands.append(("cancel_all",))
        return sum(1 for s in self.statuses.values() if s.cancellable)

    def shutdown(self, *, interrupted: bool = False, kill_now: bool = False) -> None:
        self.commands.append(("shutdown",))
        if kill_now:
            self.commands.append(("kill_now",))
        self.interrupted = interrupted
        self._stopped = True
        if self._stop is not None:
            self._stop.set()

    def outcome(self) -> RunOutcome:
        merge = self.merge or MergeState(
            state=PolicyState.WAITING,
            merged=None,
            missing=tuple(self.statuses),
            failed=(),
            active=len(self.statuses),
        )
        code = {PolicyState.MERGED: 3 if merge.missing else 0}.get(merge.state, 1)
        if self.interrupted and merge.state is not PolicyState.MERGED:
            code = 130
        return RunOutcome(
            name=self.plan.name,
            branches=tuple(
                BranchReport(id=b, status=s, result=None, error=None, attempts=1, duration_s=1.0)
                for b, s in self.statuses.items()
            ),
            merge=merge,
            exit_code=code,
            started_at=1_700_000_000.0,
            duration_s=1.0,
        )


# -- event builders ------------------------------------------------------------------


def state(
    branch_id: str,
    status: BranchStatus,
    *,
    attempt: int = 1,
    of: int = 3,
    at: float = 1000.0,
    reason: str | None = None,
    waiting_on: str | None = None,
    global_cap: bool = False,
    reused: bool = False,
) -> BranchStateChanged:
    earlier = ReusedResult(f"{branch_id}'s earlier result", attempt, 1.5, "d34020ff3f7b")
    return BranchStateChanged(
        branch_id,
        status,
        attempt,
        of,
        at,
        reason=reason,
        waiting_on=waiting_on,
        reused_from=earlier if reused else None,
        waiting_on_global_cap=global_cap,
    )


def started(
    branch_id: str, attempt: int = 1, *, at: float = 1000.0, logs: Path | None = None
) -> AttemptStarted:
    return AttemptStarted(
        branch_id,
        attempt,
        at,
        fingerprint="f" * 64,
        stdout_log=logs / f"{branch_id}.{attempt}.out" if logs else None,
        stderr_log=logs / f"{branch_id}.{attempt}.err" if logs else None,
    )


def ended(
    branch_id: str,
    status: BranchStatus,
    attempt: int = 1,
    *,
    at: float = 1010.0,
    duration: float = 10.0,
    reason: str | None = None,
    exit_code: int | None = None,
    result: Any = None,
) -> AttemptEnded:
    return AttemptEnded(
        branch_id,
        attempt,
        status,
        at,
        duration,
        reason=reason,
        exit_code=exit_code,
        result=result,
        rate_limited=reason is not None and reason.startswith("rate limited"),
    )


def output(
    branch_id: str, lines: Iterable[str], *, attempt: int = 1, stream: str = "stdout"
) -> OutputLines:
    return OutputLines(branch_id, attempt, stream, tuple(lines))  # type: ignore[arg-type]


def merge_state(
    state_: PolicyState,
    *,
    merged: Any = None,
    missing: Sequence[str] = (),
    failed: Sequence[str] = (),
    active: int = 0,
    error: str | None = None,
) -> ResultsChanged:
    return ResultsChanged(
        MergeState(state_, merged, tuple(missing), tuple(failed), active, error=error)
    )


def succeed(branch_id: str, result: Any, *, at: float = 1010.0, lines: int = 2) -> list[Event]:
    """The whole life of a branch that prints a little and succeeds on attempt 1."""
    return [
        state(branch_id, BranchStatus.RUNNING, at=at - 10),
        started(branch_id, at=at - 10),
        output(branch_id, [f"{branch_id}: step {n}" for n in range(1, lines + 1)]),
        ended(branch_id, BranchStatus.SUCCEEDED, at=at, exit_code=0, result=result),
        state(branch_id, BranchStatus.SUCCEEDED, at=at),
    ]


def fail(branch_id: str, reason: str, *, attempt: int = 3, at: float = 1020.0) -> list[Event]:
    """A branch whose last attempt fails with ``reason``."""
    return [
        state(branch_id, BranchStatus.RUNNING, attempt=attempt, at=at - 5),
        started(branch_id, attempt, at=at - 5),
        output(
            branch_id,
            ["Traceback (most recent call last):", "ValueError: bad input"],
            attempt=attempt,
            stream="stderr",
        ),
        ended(
            branch_id, BranchStatus.FAILED, attempt, at=at, duration=5.0, reason=reason, exit_code=1
        ),
        state(branch_id, BranchStatus.FAILED, attempt=attempt, at=at, reason=reason),
    ]


def resource(name: str, **numbers: Any) -> ResourceView:
    """A resource snapshot: idle and unlimited but for ``numbers``."""
    fields: dict[str, Any] = {
        "held": 0,
        "concurrency": None,
        "declared_concurrency": None,
        "waiting": 0,
        "window_used": None,
        "window_limit": None,
        "tokens_left": None,
        "tokens_budget": None,
        "paused_until": None,
        "paused_by": "",
    }
    fields.update(numbers)
    return ResourceView(name=name, **fields)


def resources(*views: ResourceView, at: float = 1000.0) -> ResourcesChanged:
    return ResourcesChanged(at, views)


def paused(name: str, by: str, *, at: float, until: float) -> ResourcePaused:
    return ResourcePaused(name, at, until, by)


def usage_reported(
    branch_id: str, usage: Usage, *, branch_total: Usage | None = None, run_total: Usage
) -> UsageReported:
    return UsageReported(branch_id, 1, usage, branch_total or usage, run_total)
