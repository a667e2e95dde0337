"""The JSON report of a run (``--report``).

The report is the results document (branches in declared order, ``missing``) with, in
addition: each branch's ``exit_code`` and whether the merged result ``flagged`` it; the
``outcome`` (exit code and one word); the ``policy`` state and its description; the
``flagged`` ids; the run's timings; the ``merged`` result (``null`` unless the policy was
satisfied and the merge succeeded) and the ``merge_error``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from fanout_tui.engine._events import PolicyState, RunOutcome
from fanout_tui.engine._exit_codes import ExitCode

OUTCOME_WORDS: dict[int, str] = {
    ExitCode.OK: "succeeded",
    ExitCode.PARTIAL: "partial",
    ExitCode.NOT_SATISFIED: "failed",
    ExitCode.INTERRUPTED: "interrupted",
}
"""The outcome of a run in one word, by exit code."""


def outcome_word(exit_code: int) -> str:
    """``"succeeded"``, ``"partial"``, ``"failed"`` or ``"interrupted"`` for ``exit_code``."""
    return OUTCOME_WORDS.get(exit_code, "failed")


def build_report(
    outcome: RunOutcome, workers: Mapping[str, Mapping[int, str]] | None = None
) -> dict[str, Any]:
    """The results document plus outcome, timings, flags and the merged result.

    ``workers`` (branch id → attempt → worker, from :class:`~fanout_tui.engine.AttemptPlaced`)
    adds each branch's ``workers`` by attempt on a remote executor.
    """
    merge = outcome.merge
    flagged = set(merge.flagged)
    report = outcome.results_document()
    for entry, branch in zip(report["branches"], outcome.branches, strict=True):
        entry["exit_code"] = branch.exit_code
        entry["flagged"] = branch.id in flagged
        if workers is not None:
            placed = workers.get(branch.id, {})
            entry["workers"] = {str(attempt): placed[attempt] for attempt in sorted(placed)}
    report["outcome"] = {"exit_code": outcome.exit_code, "status": outcome_word(outcome.exit_code)}
    report["policy"] = {
        "state": str(merge.state),
        "status": merge.describe(),
        "reason": merge.error if merge.state is PolicyState.BLOCKED else None,
    }
    report["flagged"] = list(merge.flagged)
    report["started_at"] = _iso(outcome.started_at)
    report["finished_at"] = _iso(outcome.started_at + outcome.duration_s)
    report["duration_s"] = round(outcome.duration_s, 3)
    report["merged"] = merge.merged if merge.state is PolicyState.MERGED else None
    report["merge_error"] = merge.error if merge.state is PolicyState.MERGE_FAILED else None
    return report


def _iso(epoch_s: float) -> str:
    return datetime.fromtimestamp(round(epoch_s, 3), tz=UTC).isoformat(timespec="milliseconds")
