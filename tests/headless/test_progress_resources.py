"""Progress lines of shared resources (pauses, resumes) and usage in the summary."""

from __future__ import annotations

import io

from fanout_tui.engine import BUDGET_REACHED, ResourcePaused, ResourceResumed, Usage
from fanout_tui.engine._events import (
    AttemptEnded,
    BranchReport,
    BranchStateChanged,
    BranchStatus,
    MergeState,
    PolicyState,
    RunOutcome,
)
from fanout_tui.headless import ProgressPrinter
from fanout_tui.headless.progress import seconds

S = BranchStatus


class FakeTime:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def printer() -> tuple[ProgressPrinter, io.StringIO, FakeTime]:
    stream, clock = io.StringIO(), FakeTime()
    return ProgressPrinter(stream, id_width=7, colour=False, now=clock), stream, clock


def test_a_pause_and_its_end_get_a_line_each() -> None:
    progress, stream, clock = printer()
    clock.t = 103.2
    progress.on_event(ResourcePaused("llm-api", 50.0, 62.0, "doc07"))
    clock.t = 115.2
    progress.on_event(ResourceResumed("llm-api", 62.0))
    assert stream.getvalue().splitlines() == [
        "[   3.2s] llm-api  paused     12s (429 from doc07)",
        "[  15.2s] llm-api  resumed",
    ]


def test_a_clamped_pause_says_why() -> None:
    progress, stream, _ = printer()
    note = "retry_after 31536000s is more than 1h: waiting 1h"
    progress.on_event(ResourcePaused("api", 0.0, 3600.0, "b1", note=note))
    assert stream.getvalue() == f"[   0.0s] api      paused     3600s (429 from b1); {note}\n"


def test_short_pauses_keep_their_tenths() -> None:
    assert [seconds(s) for s in (0.25, 2.5, 3.0, 12.4, 42)] == ["0.2s", "2.5s", "3s", "12s", "42s"]


def test_an_attempt_that_reported_usage_says_what_it_spent() -> None:
    progress, stream, _ = printer()
    progress.on_event(BranchStateChanged("doc1", S.RUNNING, 1, 1, 0.0))
    progress.on_event(
        AttemptEnded("doc1", 1, S.SUCCEEDED, 0.5, 0.5, usage=Usage(1000, 120, 0.0021))
    )
    progress.on_event(BranchStateChanged("doc1", S.SUCCEEDED, 1, 1, 0.5))
    assert stream.getvalue().splitlines()[-1] == (
        "[   0.0s] doc1     succeeded  attempt 1/1  0.50s  1,120 tokens · $0.0021"
    )


def outcome(*branches: BranchReport) -> RunOutcome:
    ids = tuple(b.id for b in branches if b.status is not S.SUCCEEDED)
    merge = MergeState(PolicyState.MERGED, "A", ids, ids, 0)
    return RunOutcome("docs", branches, merge, 3 if ids else 0, 0.0, 2.0)


def test_the_summary_says_what_the_run_spent() -> None:
    progress, stream, _ = printer()
    progress.summary(
        outcome(
            BranchReport("a", S.SUCCEEDED, "A", None, 1, 1.0, usage=Usage(10_000, 2_000, 0.02)),
            BranchReport("b", S.SUCCEEDED, "B", None, 1, 1.0, usage=Usage(300, 100, 0.0014)),
        )
    )
    assert "   usage: 12,400 tokens · $0.0214" in stream.getvalue().splitlines()


def test_no_usage_line_when_nothing_was_reported() -> None:
    progress, stream, _ = printer()
    progress.summary(outcome(BranchReport("a", S.SUCCEEDED, "A", None, 1, 1.0)))
    assert "usage" not in stream.getvalue()


def test_branches_stopped_by_the_budget_read_clearly() -> None:
    progress, stream, _ = printer()
    progress.summary(
        outcome(
            BranchReport("a", S.SUCCEEDED, "A", None, 1, 1.0, usage=Usage(5_000, 1_200)),
            BranchReport("b", S.CANCELLED, None, BUDGET_REACHED, 0, None),
            BranchReport("c", S.CANCELLED, None, BUDGET_REACHED, 0, None),
        )
    )
    lines = stream.getvalue().splitlines()
    assert "   usage: 6,200 tokens (budget reached: 2 branches stopped)" in lines
    assert lines[-2:] == ["     b  cancelled: budget reached", "     c  cancelled: budget reached"]
