"""The JSON report of a run: results document, outcome, policy, flags, timings, merged."""

from __future__ import annotations

import json

import pytest

from fanout_tui.engine._events import (
    BranchReport,
    BranchStatus,
    MergeState,
    PolicyState,
    RunOutcome,
)
from fanout_tui.engine._report import build_report

S = BranchStatus
STARTED = 1_700_000_000.25  # 2023-11-14T22:13:20.250Z
BRANCHES = (
    BranchReport("intro", S.SUCCEEDED, {"doc": "intro"}, None, 1, 1.42, exit_code=0),
    BranchReport("ch-3", S.FAILED, None, "exit code 7", 3, 0.3, exit_code=7),
    BranchReport("ch-4", S.SUCCEEDED, {"doc": "ch-4"}, None, 2, 2.0, reused=True, exit_code=0),
)


def outcome(merge: MergeState, exit_code: int) -> RunOutcome:
    return RunOutcome("docs", BRANCHES, merge, exit_code, STARTED, 12.3456)


PARTIAL = MergeState(PolicyState.MERGED, {"intro": {}}, ("ch-3",), ("ch-3",), 0)


def test_report_extends_the_results_document() -> None:
    report = build_report(outcome(PARTIAL, 3))
    assert report["name"] == "docs"
    assert report["missing"] == ["ch-3"]
    assert [b["id"] for b in report["branches"]] == ["intro", "ch-3", "ch-4"]
    assert report["branches"][1] == {
        "id": "ch-3",
        "status": "failed",
        "result": None,
        "error": "exit code 7",
        "attempts": 3,
        "duration_s": 0.3,
        "reused": False,
        "exit_code": 7,
        "flagged": True,
    }
    assert report["branches"][2]["reused"] is True
    assert report["branches"][2]["flagged"] is False


def test_partial_outcome_flags_the_missing_and_carries_the_merged_result() -> None:
    report = build_report(outcome(PARTIAL, 3))
    assert report["outcome"] == {"exit_code": 3, "status": "partial"}
    assert report["policy"] == {"state": "merged", "status": "merged — 1 flagged", "reason": None}
    assert report["flagged"] == ["ch-3"]
    assert report["merged"] == {"intro": {}}
    assert report["merge_error"] is None


def test_timings_are_iso_8601_and_rounded() -> None:
    report = build_report(outcome(PARTIAL, 3))
    assert report["started_at"] == "2023-11-14T22:13:20.250+00:00"
    assert report["finished_at"] == "2023-11-14T22:13:32.596+00:00"
    assert report["duration_s"] == 12.346


def test_blocked_run_has_no_merged_result_and_says_why() -> None:
    merge = MergeState(
        PolicyState.BLOCKED, {"preview": 1}, ("ch-3",), ("ch-3",), 0, "1 failed: ch-3"
    )
    report = build_report(outcome(merge, 1))
    assert report["outcome"] == {"exit_code": 1, "status": "failed"}
    assert report["policy"] == {
        "state": "blocked",
        "status": "blocked: 1 failed — r retries",
        "reason": "1 failed: ch-3",
    }
    assert report["merged"] is None
    assert report["flagged"] == []
    assert report["merge_error"] is None


def test_failed_merge_reports_its_error() -> None:
    merge = MergeState(PolicyState.MERGE_FAILED, None, (), (), 0, "branches disagree")
    report = build_report(outcome(merge, 1))
    assert report["merge_error"] == "branches disagree"
    assert report["policy"]["status"] == "merge failed: branches disagree"


@pytest.mark.parametrize(
    ("exit_code", "word"), [(0, "succeeded"), (3, "partial"), (1, "failed"), (130, "interrupted")]
)
def test_outcome_words(exit_code: int, word: str) -> None:
    waiting = MergeState(PolicyState.WAITING, None, (), (), 1)
    assert build_report(outcome(waiting, exit_code))["outcome"]["status"] == word


def test_report_is_json() -> None:
    report = build_report(outcome(PARTIAL, 3))
    assert json.loads(json.dumps(report)) == report
