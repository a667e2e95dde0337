"""One attempt of one branch, for real: start it, stream its output, end it, judge it.

:func:`execute_attempt` is what the scheduler calls for every attempt. It never raises for
anything the branch does (a start failure, a crash, a broken output contract are
:class:`AttemptResult` values); only cancellation from outside propagates, after the
attempt's whole process group has been ended.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fanout_tui.engine.clock import Clock
from fanout_tui.engine.events import BranchStatus, Event
from fanout_tui.engine.masking import Masker
from fanout_tui.spec.plan import BranchPlan


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


def attempt_log_paths(
    log_dir: Path | None, branch_id: str, attempt: int
) -> tuple[Path | None, Path | None]:
    """Where an attempt's full stdout and stderr are written (``None`` without a log folder)."""
    if log_dir is None:
        return None, None
    folder = log_dir / branch_id
    return folder / f"attempt-{attempt}.stdout", folder / f"attempt-{attempt}.stderr"


async def execute_attempt(
    branch: BranchPlan,
    attempt: int,
    *,
    emit: Callable[[Event], None],
    masker: Masker,
    clock: Clock,
    log_dir: Path | None,
    stdin: bytes | None = None,
) -> AttemptResult:
    """Run one attempt of ``branch`` and return how it ended.

    Emits :class:`~fanout_tui.engine.events.ProcessStarted` once a process is alive and
    :class:`~fanout_tui.engine.events.OutputLines` (masked) as output arrives. Writes the
    full masked stdout and stderr to :func:`attempt_log_paths`.

    Args:
        branch: The branch to run (``run`` or ``call``).
        attempt: The attempt number, from 1.
        emit: Receives the events; must be cheap.
        masker: Masks every line, log byte and the result.
        clock: Measures ``branch.timeout_s``.
        log_dir: Folder for the log files, or ``None`` for none.
        stdin: Bytes fed to the process's stdin (the synthesizer's results document).

    Raises:
        anyio.get_cancelled_exc_class(): when cancelled from outside, after the attempt's
            whole process group has been ended.
    """
    raise NotImplementedError
