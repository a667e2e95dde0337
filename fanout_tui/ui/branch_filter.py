"""The branch filter of the dashboard: which branches it lists (``f`` cycles)."""

from __future__ import annotations

from enum import StrEnum

from fanout_tui.engine import BranchStatus


class BranchFilter(StrEnum):
    """Which branches the dashboard lists (``f`` cycles through them)."""

    ALL = "all"
    FAILED = "failed"
    RUNNING = "running"

    def admits(self, status: BranchStatus) -> bool:
        """Whether a branch in ``status`` is shown under this filter."""
        if self is BranchFilter.FAILED:
            return status.retryable
        if self is BranchFilter.RUNNING:
            return status in _IN_PROGRESS
        return True

    def next(self) -> BranchFilter:
        """The filter after this one, wrapping around."""
        members = list(BranchFilter)
        return members[(members.index(self) + 1) % len(members)]


_IN_PROGRESS = frozenset({BranchStatus.WAITING, BranchStatus.RUNNING, BranchStatus.RETRYING})
