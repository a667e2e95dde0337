"""The header and merge preview in words: counts that agree, and lines that fit."""

from __future__ import annotations

from fanout_tui.engine._events import BranchStatus as S
from fanout_tui.engine._events import PolicyState as P
from fanout_tui.ui.badges import format_duration
from fanout_tui.ui.branch_filter import BranchFilter
from fanout_tui.ui.model import RunModel
from fanout_tui.ui.widgets.merge_preview import merge_title
from fanout_tui.ui.widgets.run_header import header_content, policy_words
from tests.ui.fakes import make_plan, merge_state, state

IDS = [f"b{n}" for n in range(6)]


def test_waiting_counts_the_branches_as_the_panels_show_them() -> None:
    model = RunModel(make_plan(IDS))
    # The engine's last preview still says 6 active; four have settled since.
    model.apply([merge_state(P.WAITING, missing=IDS, active=6)])
    model.apply([state(b, S.SUCCEEDED) for b in IDS[:4]])
    assert policy_words(model) == "waiting for 2 branches"
    assert "waiting for 2" in str(merge_title(model.merge, 6, active=model.active))
    model.apply([state(b, S.SUCCEEDED) for b in IDS[4:]])
    assert policy_words(model) == "merging…"  # settled, the merge (or synthesizer) not in yet
    model.apply([merge_state(P.BLOCKED, missing=["b1"], failed=["b1"])])
    assert policy_words(model) == "blocked: 1 failed — r retries"


def test_at_80_columns_the_policy_status_stays_whole() -> None:
    plan = make_plan(IDS, name="a-rather-long-spec-name-for-a-nightly-batch")
    model = RunModel(plan)
    failed = [f"b{n}" for n in range(6)]
    model.apply([state(b, S.FAILED) for b in failed])
    model.apply([merge_state(P.BLOCKED, missing=failed, failed=failed)])
    first, second = header_content(model, 3725.0, BranchFilter.FAILED, width=78).split()
    assert first.plain.endswith("blocked: 6 failed — r retries")
    assert first.cell_length <= 78
    assert "a-rather" in first.plain and "━" in first.plain
    assert second.cell_length <= 78 and "showing failed" in second.plain


def test_durations_round_once() -> None:
    assert [format_duration(s) for s in (0.04, 9.94, 9.96, 59.9, 3725)] == [
        "0.0s",
        "9.9s",
        "10s",
        "59s",
        "1h02m",
    ]
