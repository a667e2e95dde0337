"""The dashboard's model: events folded into branch views, counts, filters, bounded output."""

from __future__ import annotations

from fanout_tui.engine._events import BranchStatus as S
from fanout_tui.engine._events import PolicyState as P
from fanout_tui.ui.branch_filter import BranchFilter
from fanout_tui.ui.model import OUTPUT_LINES_KEPT, RunModel
from tests.ui.fakes import ended, make_plan, merge_state, output, started, state


def test_counts_attempts_and_elapsed_follow_the_events() -> None:
    model = RunModel(make_plan(["a", "b"]))
    assert model.counts[S.PENDING] == 2 and model.active == 2
    changes = model.apply([state("a", S.RUNNING, at=10), started("a", at=10)])
    assert changes.statuses == {"a"} and changes.branches == {"a"}
    view = model.by_id["a"]
    assert view.elapsed(now=14.5) == 4.5
    model.apply(
        [
            ended("a", S.FAILED, at=12, duration=2, reason="exit code 1"),
            state("a", S.RETRYING, reason="exit code 1"),
            state("a", S.RUNNING, attempt=2),
            started("a", 2, at=20),
        ]
    )
    assert [r.attempt for r in view.attempts] == [1, 2]
    assert view.attempts[0].status is S.FAILED and view.attempts[0].reason == "exit code 1"
    assert view.elapsed(now=21) == 1
    model.apply(
        [
            ended("a", S.SUCCEEDED, 2, at=23, duration=3, result={"ok": 1}),
            state("a", S.SUCCEEDED, attempt=2),
        ]
    )
    assert view.result == {"ok": 1} and view.elapsed(now=99) == 3
    assert model.settled == 1 and model.counts[S.SUCCEEDED] == 1 and model.counts[S.PENDING] == 1


def test_a_retry_after_settling_starts_a_fresh_set_and_keeps_the_old_attempts() -> None:
    model = RunModel(make_plan(["a"]))
    model.apply([started("a"), ended("a", S.FAILED, reason="boom"), state("a", S.FAILED)])
    model.apply([state("a", S.RUNNING), started("a"), ended("a", S.SUCCEEDED, result=1)])
    view = model.by_id["a"]
    assert [(r.attempt, r.status) for r in view.attempts] == [(1, S.FAILED), (1, S.SUCCEEDED)]


def test_output_is_bounded_and_panels_show_only_the_current_attempt() -> None:
    model = RunModel(make_plan(["a"]))
    model.apply([started("a"), output("a", [f"old {n}" for n in range(OUTPUT_LINES_KEPT + 50)])])
    view = model.by_id["a"]
    assert len(view.output) == OUTPUT_LINES_KEPT
    assert view.output[0] == "old 50"
    model.apply([started("a", 2), output("a", ["new 1"], attempt=2, stream="stderr")])
    last = view.last_lines(3)
    assert [(line.attempt, line.stream, line.text) for line in last] == [(2, "stderr", "new 1")]
    assert view.lines_of(2, "stderr") == ["new 1"]
    assert view.lines_of(2, "stdout") == []


def test_merge_events_replace_the_merge_and_unknown_branches_are_ignored() -> None:
    model = RunModel(make_plan(["a"]))
    assert model.merge.describe() == "waiting for 1 branch"
    changes = model.apply(
        [merge_state(P.MERGED, merged={"a": 1}), state("ghost", S.RUNNING), output("ghost", ["x"])]
    )
    assert changes.merge and model.merge.describe() == "merged"
    assert "ghost" not in changes.branches


def test_filters_cycle_and_admit_the_right_states() -> None:
    assert [BranchFilter.ALL.next(), BranchFilter.FAILED.next(), BranchFilter.RUNNING.next()] == [
        BranchFilter.FAILED,
        BranchFilter.RUNNING,
        BranchFilter.ALL,
    ]
    assert {s for s in S if BranchFilter.FAILED.admits(s)} == {S.FAILED, S.TIMED_OUT, S.CANCELLED}
    assert {s for s in S if BranchFilter.RUNNING.admits(s)} == {S.WAITING, S.RUNNING, S.RETRYING}


def test_lines_a_flood_skipped_count_in_the_attempt_without_showing_earlier_ones() -> None:
    from fanout_tui.engine import OutputLines

    model = RunModel(make_plan(["a"]))
    model.apply([started("a", at=1), OutputLines("a", 1, "stdout", ("old",))])
    model.apply([started("a", 2, at=2), OutputLines("a", 2, "stdout", ("x", "y"), skipped=5000)])
    view = model.by_id["a"]
    assert view.lines_this_attempt == 5002
    assert [line.text for line in view.last_lines(10)] == ["x", "y"]
