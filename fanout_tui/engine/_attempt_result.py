"""How one attempt ended, and the reasons a failed or timed-out attempt gives."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fanout_tui.engine._events import BranchStatus
from fanout_tui.spec import BranchPlan, format_duration


@dataclass(frozen=True, slots=True)
class AttemptResult:
    """How one attempt ended.

    ``status`` is SUCCEEDED, FAILED or TIMED_OUT (never CANCELLED: cancellation
    propagates as an exception). ``reason`` is one short sentence when it did not succeed.
    """

    status: BranchStatus
    reason: str | None = None
    exit_code: int | None = None
    result: Any = None
    """The parsed (and masked) output when SUCCEEDED."""
    contract: bool = False
    """True when it failed because its output broke the output contract."""
    permanent: bool = False
    """True when trying again cannot help (a 400 from an API, an exhausted quota): it is
    never retried automatically."""

    @property
    def kind(self) -> str:
        """How it failed, as ``retry.on`` names it: ``timed_out``, ``contract`` or ``failed``."""
        if self.status is BranchStatus.TIMED_OUT:
            return "timed_out"
        return "contract" if self.contract else "failed"


def failed(reason: str, *, exit_code: int | None = None, permanent: bool = False) -> AttemptResult:
    """A failed attempt with its one-sentence ``reason`` (``permanent``: never retried)."""
    return AttemptResult(
        BranchStatus.FAILED, reason=reason, exit_code=exit_code, permanent=permanent
    )


def contract_broken(reason: str, *, exit_code: int | None = None) -> AttemptResult:
    """A failed attempt whose output broke its contract (unparseable, schema mismatch)."""
    return AttemptResult(BranchStatus.FAILED, reason=reason, exit_code=exit_code, contract=True)


def timed_out(branch: BranchPlan) -> AttemptResult:
    """An attempt ended by ``branch.timeout_s``: "timed out after 30s"."""
    seconds = branch.timeout_s or 0.0
    return AttemptResult(
        BranchStatus.TIMED_OUT, reason=f"timed out after {format_duration(seconds)}"
    )
