"""What the dashboard knows about the run, folded from engine events.

The model is plain Python (no widgets): the app applies a batch of events to it once a
frame and asks it what changed, so widgets redraw only what they must.
"""

from __future__ import annotations

from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path
from typing import Any

from fanout_tui.engine import (
    AttemptEnded,
    AttemptPlaced,
    AttemptStarted,
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
    Stream,
    Usage,
    UsageReported,
)
from fanout_tui.spec import BranchPlan, Plan
from fanout_tui.ui.output_line import OutputLine, decode_line_code, line_code
from fanout_tui.ui.resources import ResourceBoard, ResourceEvent
from fanout_tui.ui.result_text import preview_lines

OUTPUT_LINES_KEPT = 1000
"""Output lines kept in memory per branch; the full log screen reads the log files."""


@dataclass(slots=True)
class AttemptRecord:
    """One attempt of a branch: where its logs are and how it ended."""

    attempt: int
    started_at: float
    max_attempts: int = 1
    """The attempts its set allowed when it started ("attempt 2 of 3"): an operator's
    retry raises the branch's count for later attempts, not for this one."""
    stdout_log: Path | None = None
    stderr_log: Path | None = None
    worker: str | None = None
    """The remote worker it runs on (``tcp://…``; ``None``: this machine)."""
    status: BranchStatus | None = None
    """None while the attempt runs."""
    ended_at: float | None = None
    reason: str | None = None
    exit_code: int | None = None
    result: Any = None
    rate_limited: bool = False
    """Whether the server rate-limited it (its reason says so, with the retry-after)."""


@dataclass(slots=True, eq=False)
class BranchView:
    """The dashboard's picture of one branch."""

    plan: BranchPlan
    status: BranchStatus = BranchStatus.PENDING
    attempt: int = 0
    max_attempts: int = 1
    reason: str | None = None
    waiting_on: str | None = None
    waiting_on_global_cap: bool = False
    reused_from: ReusedResult | None = None
    """The earlier run's result the branch holds, until an operator's retry."""
    reused_preview: tuple[str, ...] = ()
    """The first lines of that result, for its panel (the run printed nothing for it)."""
    attempts: list[AttemptRecord] = field(default_factory=list)
    """Every attempt in the order it started (an operator's retry starts a fresh set)."""
    output: deque[str] = field(default_factory=lambda: deque(maxlen=OUTPUT_LINES_KEPT))
    """The last output lines, oldest first."""
    output_codes: deque[int] = field(default_factory=lambda: deque(maxlen=OUTPUT_LINES_KEPT))
    """Attempt and stream of each kept line (see :func:`~fanout_tui.ui.output_line.line_code`)."""
    lines_this_attempt: int = 0
    """Output lines printed since the latest attempt started, those a flood skipped
    (counted, not carried) included."""
    kept_this_attempt: int = 0
    """Of those, the lines carried to :attr:`output` (some may have left it since)."""
    usage: Usage | None = None
    """What the branch's attempts reported spending in this run (``None``: nothing)."""

    @property
    def id(self) -> str:
        """The branch id."""
        return self.plan.id

    @property
    def label(self) -> str:
        """The title, or the id when there is none."""
        return self.plan.label

    @property
    def reused(self) -> bool:
        """Whether the branch holds a result reused from an earlier run."""
        return self.reused_from is not None

    @property
    def waiting_for(self) -> str | None:
        """What the branch waits on, in words: a resource's name, or "the global cap"."""
        return "the global cap" if self.waiting_on_global_cap else self.waiting_on

    @property
    def can_retry(self) -> bool:
        """Whether an operator's retry acts: failed, timed out, cancelled, or reused from an
        earlier run (a fresh run of it)."""
        return self.status.retryable or (self.reused and self.status is BranchStatus.SUCCEEDED)

    @property
    def current(self) -> AttemptRecord | None:
        """The latest attempt, if one started."""
        return self.attempts[-1] if self.attempts else None

    @property
    def result(self) -> Any:
        """The result of the attempt that succeeded, or the one reused (None otherwise)."""
        if self.reused_from is not None:
            return self.reused_from.result
        current = self.current
        if self.status is BranchStatus.SUCCEEDED and current is not None:
            return current.result
        return None

    def elapsed(self, now: float) -> float | None:
        """Seconds the latest attempt ran (so far, while it runs); None before any attempt."""
        current = self.current
        if current is None:
            return None
        end = current.ended_at if current.ended_at is not None else now
        return max(0.0, end - current.started_at)

    def last_lines(self, count: int) -> list[OutputLine]:
        """The last ``count`` output lines of the latest attempt (as kept in memory)."""
        count = min(count, self.kept_this_attempt)
        if count <= 0:
            return []
        output = self.output
        start = max(0, len(output) - count)
        codes = self.output_codes
        return [
            OutputLine(*decode_line_code(codes[i]), output[i]) for i in range(start, len(output))
        ]

    def lines_of(self, attempt: int, stream: Stream) -> list[str]:
        """The kept lines of ``attempt``'s ``stream`` (for attempts without a log file)."""
        code = line_code(attempt, stream)
        return [text for text, c in zip(self.output, self.output_codes, strict=True) if c == code]


@dataclass(slots=True)
class Changes:
    """What one batch of events changed."""

    branches: set[str] = field(default_factory=set)
    """Branches whose panel content changed."""
    statuses: set[str] = field(default_factory=set)
    """Branches whose status changed (filters and bindings may change)."""
    merge: bool = False
    finished: bool = False
    resources: bool = False
    """A resource's numbers or pause changed."""
    usage: bool = False
    """The run's reported usage changed."""

    def __bool__(self) -> bool:
        return bool(
            self.branches
            or self.statuses
            or self.merge
            or self.finished
            or self.resources
            or self.usage
        )


class RunModel:
    """Every branch's view, the merge and the counts, kept up to date from events."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.branches: list[BranchView] = [
            BranchView(plan=branch, max_attempts=branch.retry.attempts) for branch in plan.branches
        ]
        self.by_id: dict[str, BranchView] = {view.id: view for view in self.branches}
        self.counts: Counter[BranchStatus] = Counter({BranchStatus.PENDING: len(self.branches)})
        self.merge = MergeState(
            state=PolicyState.WAITING,
            merged=None,
            missing=tuple(self.by_id),
            failed=(),
            active=len(self.branches),
        )
        self.outcome: RunOutcome | None = None
        self.resources = ResourceBoard(plan)
        """The shared resources as the engine last described them."""
        self.usage: Usage | None = None
        """What the run reported spending so far (``None``: nothing yet)."""

    @property
    def settled(self) -> int:
        """How many branches have a final outcome."""
        return sum(n for status, n in self.counts.items() if status.settled)

    @property
    def active(self) -> int:
        """How many branches are still pending, waiting, running or retrying."""
        return len(self.branches) - self.settled

    @property
    def any_retryable(self) -> bool:
        """Whether a branch failed, timed out or was cancelled (``R`` can act)."""
        return any(n for status, n in self.counts.items() if status.retryable)

    def apply(self, events: Iterable[Event]) -> Changes:
        """Fold ``events`` (in order) into the model; return what changed."""
        changes = Changes()
        for event in events:
            if isinstance(event, OutputLines):
                view = self.by_id.get(event.branch_id)
                if view is not None:
                    view.output.extend(event.lines)
                    view.output_codes.extend(
                        repeat(line_code(event.attempt, event.stream), len(event.lines))
                    )
                    view.lines_this_attempt += len(event.lines) + event.skipped
                    view.kept_this_attempt += len(event.lines)
                    changes.branches.add(view.id)
            elif isinstance(event, BranchStateChanged):
                self._state_changed(event, changes)
            elif isinstance(event, AttemptStarted):
                self._attempt_started(event, changes)
            elif isinstance(event, AttemptEnded):
                self._attempt_ended(event, changes)
            elif isinstance(event, AttemptPlaced):
                self._attempt_placed(event, changes)
            elif isinstance(event, ResultsChanged):
                self.merge = event.merge
                changes.merge = True
            elif isinstance(event, ResourceEvent):
                self.resources.apply(event)
                changes.resources = True
            elif isinstance(event, UsageReported):
                self._usage_reported(event, changes)
            elif isinstance(event, RunFinished):
                self._finished(event.outcome, changes)
        return changes

    def _usage_reported(self, event: UsageReported, changes: Changes) -> None:
        self.usage = event.run_total
        changes.usage = True
        view = self.by_id.get(event.branch_id)
        if view is not None:
            view.usage = event.branch_total
            changes.branches.add(view.id)

    def _finished(self, outcome: RunOutcome, changes: Changes) -> None:
        self.outcome = outcome
        self.merge = outcome.merge
        changes.merge = True
        changes.finished = True
        for report in outcome.branches:
            view = self.by_id.get(report.id)
            if view is not None and report.usage is not None and report.usage != view.usage:
                view.usage = report.usage
                changes.branches.add(view.id)
        if outcome.usage is not None:
            self.usage = outcome.usage
            changes.usage = True

    def _state_changed(self, event: BranchStateChanged, changes: Changes) -> None:
        view = self.by_id.get(event.branch_id)
        if view is None:
            return
        if view.status is not event.status:
            self.counts[view.status] -= 1
            self.counts[event.status] += 1
            changes.statuses.add(view.id)
        view.status = event.status
        view.attempt = event.attempt
        view.max_attempts = event.max_attempts
        view.reason = event.reason
        view.waiting_on = event.waiting_on
        view.waiting_on_global_cap = event.waiting_on_global_cap
        if event.reused_from is not view.reused_from:
            view.reused_from = event.reused_from
            view.reused_preview = (
                () if event.reused_from is None else preview_lines(event.reused_from.result)
            )
        changes.branches.add(view.id)

    def _attempt_started(self, event: AttemptStarted, changes: Changes) -> None:
        view = self.by_id.get(event.branch_id)
        if view is None:
            return
        view.attempts.append(
            AttemptRecord(
                attempt=event.attempt,
                started_at=event.at,
                max_attempts=max(view.max_attempts, event.attempt),
                stdout_log=event.stdout_log,
                stderr_log=event.stderr_log,
            )
        )
        view.attempt = event.attempt
        view.lines_this_attempt = view.kept_this_attempt = 0
        changes.branches.add(view.id)

    def _attempt_placed(self, event: AttemptPlaced, changes: Changes) -> None:
        view = self.by_id.get(event.branch_id)
        record = None if view is None else view.current
        if view is not None and record is not None and record.attempt == event.attempt:
            record.worker = event.worker
            changes.branches.add(view.id)

    def _attempt_ended(self, event: AttemptEnded, changes: Changes) -> None:
        view = self.by_id.get(event.branch_id)
        if view is None:
            return
        record = view.current
        if record is None or record.attempt != event.attempt or record.status is not None:
            record = AttemptRecord(
                attempt=event.attempt,
                started_at=event.at - event.duration_s,
                max_attempts=max(view.max_attempts, event.attempt),
            )
            view.attempts.append(record)
        record.status = event.status
        record.ended_at = event.at
        record.reason = event.reason
        record.exit_code = event.exit_code
        record.result = event.result
        record.rate_limited = event.rate_limited
        changes.branches.add(view.id)
