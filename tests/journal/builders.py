"""Plans and hand-made engine events for the journal's store tests."""

from __future__ import annotations

from pathlib import Path

from fanout_tui.engine._attempt import attempt_log_paths
from fanout_tui.engine._events import (
    AttemptEnded,
    AttemptStarted,
    BranchReport,
    BranchStateChanged,
    BranchStatus,
    MergeState,
    PolicyState,
    ProcessStarted,
    RunOutcome,
)
from fanout_tui.engine._streams import LogFile
from fanout_tui.journal import RunRecorder
from fanout_tui.spec._plan import BranchPlan, Plan


def make_plan(tmp_path: Path, commands: dict[str, str], *, secrets: tuple[str, ...] = ()) -> Plan:
    """A plan of ``run`` branches named by ``commands`` (id → shell command)."""
    branches = tuple(
        BranchPlan(id=branch_id, index=i, run=command, cwd=tmp_path)
        for i, (branch_id, command) in enumerate(commands.items())
    )
    return Plan(name="demo", branches=branches, spec_path=tmp_path / "spec.yaml", secrets=secrets)


def start_attempt(
    recorder: RunRecorder,
    plan: Plan,
    branch_id: str,
    *,
    attempt: int = 1,
    pid: int = 4242,
    start_time: int | None = 777,
) -> None:
    """Feed the start of an attempt and write its logs with the engine's own log files."""
    branch = plan.branch(branch_id)
    # Where the engine puts them; the journal records whatever paths the event names.
    stdout_log, stderr_log = attempt_log_paths(recorder.log_dir, branch.id, attempt)
    assert stdout_log is not None and stderr_log is not None
    recorder.record(BranchStateChanged(branch.id, BranchStatus.RUNNING, attempt, 1, at=1.0))
    recorder.record(
        AttemptStarted(
            branch.id,
            attempt,
            at=1.0,
            fingerprint=branch.fingerprint(frozenset(plan.secrets)),
            stdout_log=stdout_log,
            stderr_log=stderr_log,
        )
    )
    for path, text in (
        (stdout_log, f"out of {branch_id}\n"),
        (stderr_log, f"err of {branch_id}\n"),
    ):
        log = LogFile(path, cap=1 << 20)
        assert log.write(text.encode()) is None
        log.close()
    recorder.record(ProcessStarted(branch.id, attempt, pid=pid, pgid=pid, start_time=start_time))


def run_branch(
    recorder: RunRecorder,
    plan: Plan,
    branch_id: str,
    *,
    status: BranchStatus = BranchStatus.SUCCEEDED,
    result: object = None,
    attempt: int = 1,
    reason: str | None = None,
    pid: int = 4242,
    start_time: int | None = 777,
) -> None:
    """Feed the events of one whole attempt of ``branch_id`` (see :func:`start_attempt`)."""
    start_attempt(recorder, plan, branch_id, attempt=attempt, pid=pid, start_time=start_time)
    recorder.record(
        AttemptEnded(
            branch_id,
            attempt,
            status,
            at=2.0,
            duration_s=1.0,
            reason=reason,
            exit_code=0 if status is BranchStatus.SUCCEEDED else 1,
            result=result,
        )
    )
    recorder.record(BranchStateChanged(branch_id, status, attempt, 1, at=2.0, reason=reason))


def outcome_of(plan: Plan, statuses: dict[str, BranchStatus], merged: object = None) -> RunOutcome:
    """A run outcome where every branch has the status given (pending when absent)."""
    reports = tuple(
        BranchReport(
            id=b.id,
            status=statuses.get(b.id, BranchStatus.CANCELLED),
            result=None,
            error=None,
            attempts=1,
            duration_s=1.0,
        )
        for b in plan.branches
    )
    missing = tuple(r.id for r in reports if r.status is not BranchStatus.SUCCEEDED)
    complete = not missing
    merge = MergeState(
        state=PolicyState.MERGED if complete else PolicyState.BLOCKED,
        merged=merged if complete else None,
        missing=missing,
        failed=missing,
        active=0,
    )
    return RunOutcome(
        name=plan.name,
        branches=reports,
        merge=merge,
        exit_code=0 if complete else 1,
        started_at=0.0,
        duration_s=3.0,
    )
