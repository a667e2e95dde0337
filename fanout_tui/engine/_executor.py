"""How the scheduler calls an attempt executor, and what it asks of one.

The real executor is :func:`fanout_tui.engine._attempt.execute_attempt`; tests inject a
scripted one (:class:`fanout_tui.engine.testing.ScriptedExecutor`).
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from fanout_tui.engine._attempt import AttemptResult
from fanout_tui.engine._clock import Clock
from fanout_tui.engine._events import BranchStatus, Event
from fanout_tui.engine._lines import printable
from fanout_tui.spec import BranchPlan, Masker

INTERNAL_ERRORS = "fanout_tui.engine.internal_errors"
"""The :mod:`logging` logger that receives, at level ERROR, the full traceback (masked)
of every unexpected exception that failed an attempt. It has no handler of its own but a
:class:`logging.NullHandler`: an application adds one (a ``fanout-tui`` run writes them
to ``internal-errors.log`` in the run's folder, and to stderr with ``--debug``)."""

_internal_errors = logging.getLogger(INTERNAL_ERRORS)
_internal_errors.addHandler(logging.NullHandler())


class AttemptExecutor(Protocol):
    """Runs one attempt of a branch; the signature of ``execute_attempt``."""

    def __call__(
        self,
        branch: BranchPlan,
        attempt: int,
        *,
        emit: Callable[[Event], None],
        masker: Masker,
        clock: Clock,
        log_dir: Path | None,
        stdin: bytes | None = None,
        environment: Mapping[str, str] | None = None,
    ) -> Awaitable[AttemptResult]:
        """Run the attempt; when cancelled, end its processes and re-raise."""
        ...


@dataclass(frozen=True, slots=True)
class AttemptRunner:
    """An executor bound to the run's masker, clock and log folder.

    An executor that raises (a bug, not a branch failure: those are results) fails the
    attempt with the error as its reason instead of ending the run, and its traceback
    goes to the :data:`INTERNAL_ERRORS` logger. Cancellation passes.
    """

    executor: AttemptExecutor
    masker: Masker
    clock: Clock
    log_dir: Path | None
    environment: Mapping[str, str] | None = None
    """The environment every process of the run starts from (see ``execute_attempt``)."""

    async def __call__(
        self,
        branch: BranchPlan,
        attempt: int,
        *,
        emit: Callable[[Event], None],
        stdin: bytes | None = None,
    ) -> AttemptResult:
        """Run one attempt of ``branch``; its reason comes back masked."""
        try:
            result = await self.executor(
                branch,
                attempt,
                emit=emit,
                masker=self.masker,
                clock=self.clock,
                log_dir=self.log_dir,
                stdin=stdin,
                environment=self.environment,
            )
        except Exception as error:
            reason = self.reason(f"the attempt could not run: {error}")
            trace = self.masker.mask("".join(traceback.format_exception(error)).rstrip())
            _internal_errors.error(
                "branch %s, attempt %d: %s\n%s", branch.id, attempt, reason, trace
            )
            return AttemptResult(BranchStatus.FAILED, reason)
        if result.reason is None:
            return result
        return AttemptResult(
            result.status, self.reason(result.reason), result.exit_code, result.result
        )

    def reason(self, text: str) -> str:
        """A failure reason as the operator may see it: masked, on one line, and with no
        control characters (an exception's message could otherwise drive the terminal)."""
        return printable(" ".join(self.masker.mask(text).splitlines()))
