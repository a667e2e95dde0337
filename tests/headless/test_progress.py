"""Progress lines and the summary of a headless run, from scripted events."""

from __future__ import annotations

import io

import pytest

from fanout_tui.engine._events import (
    AttemptEnded,
    BranchReport,
    BranchStateChanged,
    BranchStatus,
    MergeState,
    PolicyState,
    ReusedResult,
    RunOutcome,
)
from fanout_tui.headless import ProgressPrinter
from fanout_tui.spec._plan import BranchPlan, Plan

S = BranchStatus


class FakeTime:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def printer(*, colour: bool = False) -> tuple[ProgressPrinter, io.StringIO, FakeTime]:
    stream, clock = io.StringIO(), FakeTime()
    return ProgressPrinter(stream, id_width=8, colour=colour, now=clock), stream, clock


def change(
    branch: str, status: BranchStatus, attempt: int = 1, at: float = 0.0, **kw: object
) -> BranchStateChanged:
    return BranchStateChanged(branch, status, attempt, 3, at, **kw)  # type: ignore[arg-type]


def test_one_line_per_state_change_with_attempt_duration_and_reason() -> None:
    progress, stream, clock = printer()
    progress.on_event(change("intro", S.PENDING, 0))
    progress.on_event(change("intro", S.RUNNING, at=5.0))
    clock.t = 101.25
    progress.on_event(AttemptEnded("intro", 1, S.SUCCEEDED, 5.84, 0.84))
    progress.on_event(change("intro", S.SUCCEEDED, at=5.84))
    progress.on_event(change("ch-3", S.RUNNING, 3, at=6.0))
    clock.t = 102.0
    progress.on_event(change("ch-3", S.FAILED, 3, at=6.31, reason="exit code 7"))
    assert stream.getvalue().splitlines() == [
        "[   0.0s] intro     running    attempt 1/3",
        "[   1.2s] intro     succeeded  attempt 1/3  0.84s",
        "[   1.2s] ch-3      running    attempt 3/3",
        "[   2.0s] ch-3      failed     attempt 3/3  0.31s  exit code 7",
    ]


def test_waiting_names_what_it_waits_on_and_repeats_are_not_printed() -> None:
    progress, stream, _ = printer()
    progress.on_event(change("api-2", S.WAITING, waiting_on="llm-api"))
    progress.on_event(change("api-2", S.WAITING, waiting_on="llm-api"))
    progress.on_event(change("api-2", S.WAITING, waiting_on="concurrency"))
    assert stream.getvalue().splitlines() == [
        "[   0.0s] api-2     waiting    attempt 1/3  on llm-api",
        "[   0.0s] api-2     waiting    attempt 1/3  on concurrency",
    ]


def test_retrying_and_reused_and_cancel_before_start() -> None:
    progress, stream, _ = printer()
    progress.on_event(change("a", S.RUNNING, at=1.0))
    progress.on_event(change("a", S.RETRYING, at=1.5, reason="exit code 1"))
    earlier = ReusedResult("b's result", attempts=2, duration_s=1.5, run_id="d34020ff3f7b")
    progress.on_event(change("b", S.SUCCEEDED, 2, reused_from=earlier))
    progress.on_event(change("c", S.CANCELLED, 0, reason="cancelled by the operator"))
    assert stream.getvalue().splitlines()[1:] == [
        "[   0.0s] a         retrying   attempt 1/3  0.50s  exit code 1",
        "[   0.0s] b         succeeded  reused from run d34020ff3f7b",
        "[   0.0s] c         cancelled  cancelled by the operator",
    ]


def test_colour_only_when_asked() -> None:
    progress, stream, _ = printer(colour=True)
    progress.on_event(change("a", S.FAILED))
    assert "\x1b[31mfailed" in stream.getvalue()
    plain, plain_stream, _ = printer()
    plain.on_event(change("a", S.FAILED))
    assert "\x1b" not in plain_stream.getvalue()


def test_for_stream_uses_no_colour_off_a_terminal_and_sizes_ids() -> None:
    plan = Plan("p", (BranchPlan("short", 0, run="true"), BranchPlan("x" * 40, 1, run="true")))
    stream = io.StringIO()
    progress = ProgressPrinter.for_stream(stream, plan)
    progress.on_event(change("short", S.RUNNING))
    assert stream.getvalue() == "[   0.0s] " + "short".ljust(24) + "  running    attempt 1/3\n"


class TerminalStream(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_no_color_turns_colour_off_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    plan = Plan("p", (BranchPlan("a", 0, run="true"),))
    monkeypatch.delenv("NO_COLOR", raising=False)
    coloured = TerminalStream()
    ProgressPrinter.for_stream(coloured, plan).on_event(change("a", S.RUNNING))
    assert "\x1b[" in coloured.getvalue()
    monkeypatch.setenv("NO_COLOR", "1")
    plain = TerminalStream()
    ProgressPrinter.for_stream(plain, plan).on_event(change("a", S.RUNNING))
    assert "\x1b[" not in plain.getvalue()


def outcome(merge: MergeState, exit_code: int) -> RunOutcome:
    branches = (
        BranchReport("a", S.SUCCEEDED, "A", None, 1, 1.0),
        BranchReport("b", S.SUCCEEDED, "B", None, 2, 1.0),
        BranchReport("ch-3", S.FAILED, None, "exit code 7", 3, 1.0),
        BranchReport("d", S.TIMED_OUT, None, "timed out after 2s", 1, 2.0),
    )
    return RunOutcome("docs", branches, merge, exit_code, 0.0, 12.34)


def test_summary_of_a_partial_run() -> None:
    progress, stream, _ = printer()
    merge = MergeState(PolicyState.MERGED, "A\nB", ("ch-3", "d"), ("ch-3", "d"), 0)
    progress.summary(outcome(merge, 3))
    assert stream.getvalue().splitlines() == [
        "── docs: partial (exit 3) in 12.3s",
        "   2 succeeded · 1 failed · 1 timed out",
        "   policy: merged — 2 flagged",
        "   flagged:",
        "     ch-3  failed: exit code 7",
        "     d     timed out after 2s",
    ]


def test_summary_of_a_blocked_run_says_why_without_dashboard_keys() -> None:
    progress, stream, _ = printer()
    reason = "1 failed: ch-3; 1 timed out: d"
    merge = MergeState(PolicyState.BLOCKED, None, ("ch-3", "d"), ("ch-3", "d"), 0, reason)
    progress.summary(outcome(merge, 1))
    lines = stream.getvalue().splitlines()
    assert lines[0] == "── docs: failed (exit 1) in 12.3s"
    assert lines[2] == f"   policy: blocked: {reason}"
    assert lines[3:] == [
        "   did not succeed:",
        "     ch-3  failed: exit code 7",
        "     d     timed out after 2s",
    ]


def test_summary_lists_at_most_twenty_unsuccessful_branches() -> None:
    progress, stream, _ = printer()
    reports = tuple(
        BranchReport(f"b{i:02}", S.FAILED, None, "exit code 1", 1, 0.1) for i in range(25)
    )
    ids = tuple(r.id for r in reports)
    merge = MergeState(PolicyState.MERGED, "", ids, ids, 0)
    progress.summary(RunOutcome("many", reports, merge, 3, 0.0, 1.0))
    lines = stream.getvalue().splitlines()
    assert lines[4] == "     b00  failed: exit code 1"
    assert lines[-2] == "     b19  failed: exit code 1"
    assert lines[-1] == "     … and 5 more (see --report)"


def test_interrupt_notes() -> None:
    progress, stream, _ = printer()
    progress.note_interrupt("SIGINT", first=True)
    progress.note_interrupt("SIGINT", first=False)
    first, second = stream.getvalue().splitlines()
    assert first.startswith("[   0.0s] SIGINT: ending every branch")
    assert second.startswith("[   0.0s] SIGINT again: SIGKILL to every process still running")


class ClosedStream(io.StringIO):
    def write(self, text: str) -> int:
        raise BrokenPipeError


def test_a_closed_stderr_does_not_stop_the_run() -> None:
    progress = ProgressPrinter(ClosedStream(), id_width=4, colour=False)
    progress.on_event(change("a", S.RUNNING))
    progress.on_event(change("a", S.SUCCEEDED))


def test_a_reason_does_not_repeat_the_status() -> None:
    progress, stream, _ = printer()
    progress.on_event(
        change("a", S.CANCELLED, 0, reason="cancelled: b failed and fail_fast is set")
    )
    assert stream.getvalue() == "[   0.0s] a         cancelled  b failed and fail_fast is set\n"
