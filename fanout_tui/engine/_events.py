"""What the engine tells the world: branch states and small immutable events.

Every event is a frozen dataclass. The engine hands each one, in order, to every listener
registered with :meth:`fanout_tui.engine.Engine.add_listener`; listeners run synchronously
on the engine's event loop and must be cheap (append to a buffer, put on a queue).
All text in events is already masked (secret values replaced by ``***``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from fanout_tui.engine._resource_events import (
    ResourcePaused,
    ResourceResumed,
    ResourcesChanged,
    UsageReported,
)
from fanout_tui.engine._signals import Usage


class BranchStatus(StrEnum):
    """Where a branch is in its life."""

    PENDING = "pending"
    WAITING = "waiting"
    """Ready, but waiting on a named resource or the global cap."""
    RUNNING = "running"
    RETRYING = "retrying"
    """Sleeping the backoff between two automatic attempts."""
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"

    @property
    def settled(self) -> bool:
        """True once the branch has a final outcome (until an operator retries it)."""
        return self in SETTLED

    @property
    def retryable(self) -> bool:
        """True where an operator's retry acts."""
        return self in (BranchStatus.FAILED, BranchStatus.TIMED_OUT, BranchStatus.CANCELLED)

    @property
    def cancellable(self) -> bool:
        """True where an operator's cancel acts."""
        return self in ACTIVE


SETTLED = frozenset(
    {BranchStatus.SUCCEEDED, BranchStatus.FAILED, BranchStatus.TIMED_OUT, BranchStatus.CANCELLED}
)
ACTIVE = frozenset(
    {BranchStatus.PENDING, BranchStatus.WAITING, BranchStatus.RUNNING, BranchStatus.RETRYING}
)

Stream = Literal["stdout", "stderr"]


@dataclass(frozen=True, slots=True)
class ReusedResult:
    """A result that already succeeded in an earlier run with the same branch definition."""

    result: Any
    attempts: int
    duration_s: float | None
    run_id: str
    """The run that computed it (followed back through earlier resumes)."""


@dataclass(frozen=True, slots=True)
class BranchStateChanged:
    """A branch moved to ``status``.

    ``reason`` is one short human sentence for failed / timed_out / cancelled (and for
    retrying: why the last attempt failed). ``waiting_on`` names the resource (or
    ``"concurrency"`` for the global cap) while waiting, and ``waiting_on_global_cap``
    says which of the two it is (a resource may be named ``concurrency`` too).
    ``reused_from`` is the result taken from an earlier, journaled run, for as long as
    the branch holds it.
    """

    branch_id: str
    status: BranchStatus
    attempt: int
    max_attempts: int
    at: float
    reason: str | None = None
    waiting_on: str | None = None
    reused_from: ReusedResult | None = None
    waiting_on_global_cap: bool = False

    @property
    def reused(self) -> bool:
        """Whether the branch holds a result reused from an earlier run."""
        return self.reused_from is not None


@dataclass(frozen=True, slots=True)
class AttemptStarted:
    """An attempt is about to start (emitted before any process is spawned)."""

    branch_id: str
    attempt: int
    at: float
    fingerprint: str
    stdout_log: Path | None = None
    """File that receives this attempt's full stdout (decoded, masked), once it prints."""
    stderr_log: Path | None = None
    """File that receives this attempt's full stderr (decoded, masked), once it prints."""


@dataclass(frozen=True, slots=True)
class ProcessStarted:
    """A ``run`` attempt's process is alive; ``start_time`` identifies it with ``pid``.

    ``start_time`` is the process start time from ``/proc/PID/stat`` (clock ticks since
    boot), so a later run can tell the same process from a recycled pid.
    """

    branch_id: str
    attempt: int
    pid: int
    pgid: int
    start_time: int | None


@dataclass(frozen=True, slots=True)
class AttemptPlaced:
    """An attempt started on a remote worker (``tcp://…``), before its process starts.

    Only a remote executor emits it; a local attempt runs here.
    """

    branch_id: str
    attempt: int
    worker: str


@dataclass(frozen=True, slots=True)
class OutputLines:
    """New complete lines from one stream of a branch's current attempt."""

    branch_id: str
    attempt: int
    stream: Stream
    lines: tuple[str, ...]
    skipped: int = 0
    """Lines completed before ``lines`` and not carried (a flood: only a tail is shown)."""
    partial: str | None = None
    """The stream's unfinished last line so far (masked), shown after ``lines`` until the
    next event of the stream: an ``llm`` reply as it streams in. Never logged; the line,
    once ended, comes again in ``lines``."""


@dataclass(frozen=True, slots=True)
class AttemptEnded:
    """An attempt finished. ``result`` is the parsed output when it succeeded."""

    branch_id: str
    attempt: int
    status: BranchStatus
    at: float
    duration_s: float
    reason: str | None = None
    exit_code: int | None = None
    result: Any = None
    usage: Usage | None = None
    """What the attempt reported spending (``None``: it reported nothing)."""
    rate_limited: bool = False
    """True when the attempt failed after the server rate-limited it."""


@dataclass(frozen=True, slots=True)
class ResultsChanged:
    """The merge was recomputed because the set of settled branches changed."""

    merge: MergeState


@dataclass(frozen=True, slots=True)
class RunFinished:
    """Every branch settled and the merge is final (operators may still retry in the UI)."""

    outcome: RunOutcome


Event = (
    BranchStateChanged
    | AttemptStarted
    | ProcessStarted
    | AttemptPlaced
    | OutputLines
    | AttemptEnded
    | ResultsChanged
    | RunFinished
    | ResourcesChanged
    | ResourcePaused
    | ResourceResumed
    | UsageReported
)


class PolicyState(StrEnum):
    """Where the failure policy stands."""

    WAITING = "waiting"
    """Branches still active; not decided yet."""
    MERGED = "merged"
    """Satisfied; the merged result is complete (possibly with flagged branches)."""
    BLOCKED = "blocked"
    """Not satisfied with what settled; retries could still satisfy it."""
    MERGE_FAILED = "merge_failed"
    """The branches satisfied the policy but the merge itself failed (key conflict, synthesizer)."""


@dataclass(frozen=True, slots=True)
class MergeState:
    """The merge as of now: what is decided, what is missing, and the merged result.

    ``merged`` is the merged result once ``state`` is MERGED (a string for text
    concatenation and synthesis output, otherwise a JSON value); before that it is a
    preview built from the branches that succeeded so far (``None`` when nothing yet).
    """

    state: PolicyState
    merged: Any
    missing: tuple[str, ...]
    """Branch ids that did not succeed (settled or not), in declared order."""
    failed: tuple[str, ...]
    """Branch ids settled without success, in declared order."""
    active: int
    """Branches not settled yet."""
    error: str | None = None
    """Why the merge failed (MERGE_FAILED) or is blocked, in one sentence."""
    unsuccessful_counts: str = ""
    """The settled, unsuccessful branches counted by status: ``"1 failed, 2 cancelled"``."""

    @property
    def flagged(self) -> tuple[str, ...]:
        """Branches the merged result is missing (best-effort partial)."""
        return self.missing if self.state is PolicyState.MERGED else ()

    def describe(self) -> str:
        """The policy status in words, as the dashboard header and headless summary say it."""
        if self.state is PolicyState.MERGED:
            n = len(self.missing)
            return f"merged — {n} flagged" if n else "merged"
        if self.state is PolicyState.MERGE_FAILED:
            return f"merge failed: {self.error}"
        if self.state is PolicyState.BLOCKED:
            counts = self.unsuccessful_counts or f"{len(self.failed)} failed"
            return f"blocked: {counts} — r retries"
        noun = "branch" if self.active == 1 else "branches"
        return f"waiting for {self.active} {noun}"


@dataclass(frozen=True, slots=True)
class BranchReport:
    """One branch's entry in the results document."""

    id: str
    status: BranchStatus
    result: Any
    error: str | None
    attempts: int
    duration_s: float | None
    reused: bool = False
    exit_code: int | None = None
    usage: Usage | None = None
    """What the branch's attempts in this run reported spending (``None``: nothing)."""


@dataclass(frozen=True, slots=True)
class RunOutcome:
    """How a run ended: every branch's report, the merge, and the process exit code."""

    name: str
    branches: tuple[BranchReport, ...]
    merge: MergeState
    exit_code: int
    """0 satisfied and complete · 3 satisfied with flagged failures · 1 not satisfied ·
    130 interrupted before the policy was satisfied."""
    started_at: float
    """Wall-clock time (``time.time()``) the run started."""
    duration_s: float

    def results_document(self) -> dict[str, Any]:
        """The results document of DESIGN.md for this run."""
        return results_document(self.name, self.branches)

    @property
    def usage(self) -> Usage | None:
        """What the whole run reported spending (``None``: nothing was reported)."""
        return total_usage(self.branches)


def total_usage(branches: Sequence[BranchReport]) -> Usage | None:
    """The sum of the branches' usage, or ``None`` when none reported any."""
    reported = [b.usage for b in branches if b.usage is not None]
    if not reported:
        return None
    total = Usage()
    for usage in reported:
        total += usage
    return total


def results_document(name: str, branches: Sequence[BranchReport]) -> dict[str, Any]:
    """The results document of DESIGN.md: branches in declared order, and what is missing.

    This is what a synthesizer reads on stdin and the core of ``--report``.
    """
    total = total_usage(branches)
    document: dict[str, Any] = {
        "name": name,
        "branches": [_branch_entry(b, with_usage=total is not None) for b in branches],
        "missing": [b.id for b in branches if b.status is not BranchStatus.SUCCEEDED],
    }
    if total is not None:
        document["usage"] = total.as_dict()
    return document


def _branch_entry(branch: BranchReport, *, with_usage: bool) -> dict[str, Any]:
    entry = {
        "id": branch.id,
        "status": str(branch.status),
        "result": branch.result,
        "error": branch.error,
        "attempts": branch.attempts,
        "duration_s": branch.duration_s,
        "reused": branch.reused,
    }
    if with_usage:
        entry["usage"] = (branch.usage or Usage()).as_dict()
    return entry
