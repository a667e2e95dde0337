"""What a key says back: why r or c does nothing for a branch, and what R and C did."""

from __future__ import annotations

from fanout_tui.engine._events import BranchStatus as S
from fanout_tui.ui import key_feedback
from fanout_tui.ui.branch_filter import BranchFilter
from fanout_tui.ui.model import BranchView, RunModel
from tests.ui.fakes import make_plan


def branch(status: S) -> BranchView:
    view = RunModel(make_plan(["a"])).by_id["a"]
    view.status = status
    return view


def test_r_on_an_active_branch_points_to_c() -> None:
    assert key_feedback.why_no_retry(branch(S.RUNNING)) == "a is running; c cancels it."


def test_r_on_a_retryable_branch_does_nothing_only_while_the_run_stops() -> None:
    assert key_feedback.why_no_retry(branch(S.FAILED)) == (
        "a failed, but the run is stopping; nothing more is retried."
    )


def test_r_on_a_succeeded_branch_has_nothing_to_retry() -> None:
    assert key_feedback.why_no_retry(branch(S.SUCCEEDED)) == (
        "a succeeded; there is nothing to retry."
    )


def test_c_on_an_active_branch_says_who_is_stopping_it() -> None:
    view = branch(S.RUNNING)
    assert key_feedback.why_no_cancel(view, stopping=False) == (
        "a is running and is already being cancelled."
    )
    assert key_feedback.why_no_cancel(view, stopping=True) == (
        "a is running; the run is stopping it."
    )


def test_c_on_a_settled_branch_points_to_r_where_it_can_act() -> None:
    assert key_feedback.why_no_cancel(branch(S.FAILED), stopping=False) == (
        "a failed; there is nothing to cancel (r retries it)."
    )
    assert key_feedback.why_no_cancel(branch(S.SUCCEEDED), stopping=False) == (
        "a succeeded; there is nothing to cancel."
    )


def test_run_wide_keys_count_branches_or_say_why_none() -> None:
    assert key_feedback.retry_failed_reply(1, stopping=False) == "Retrying 1 branch."
    assert key_feedback.retry_failed_reply(3, stopping=True) == "Retrying 3 branches."
    assert key_feedback.retry_failed_reply(0, stopping=True) == (
        "The run is stopping; nothing more is retried."
    )
    assert key_feedback.retry_failed_reply(0, stopping=False).startswith("Nothing to retry")
    assert key_feedback.cancel_all_reply(2, active=2) == "Cancelling 2 branches."
    assert key_feedback.cancel_all_reply(0, active=1) == (
        "Every active branch is already being cancelled."
    )
    assert key_feedback.cancel_all_reply(0, active=0) == (
        "Nothing to cancel: every branch has settled."
    )


def test_a_branch_key_with_no_branch_listed_names_the_filter() -> None:
    assert key_feedback.no_branch_listed(BranchFilter.FAILED) == "No failed branch is listed."
