"""The executor seam: where attempts run, and how the scheduler asks for one.

The scheduler, the merge and the policy never touch a process. Everything that does
(starting an attempt, streaming its output, ending it when it is cancelled or times out,
cutting grace periods short, ending what a run left behind) goes through one
:class:`Executor`. :class:`LocalExecutor` runs attempts here as subprocesses (and call
workers); another implementation (a remote worker) only has to provide the same three
methods. Tests inject a scripted one (:class:`fanout_tui.engine.testing.ScriptedExecutor`).
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from fanout_tui.engine._adopted import become_subreaper, children, reap_adopted, ticks_now
from fanout_tui.engine._attempt import AttemptResult, execute_attempt
from fanout_tui.engine._attempt_result import capped_reason
from fanout_tui.engine._call import CALL_WORKERS, CallPool
from fanout_tui.engine._clock import Clock
from fanout_tui.engine._events import BranchStatus, Event
from fanout_tui.engine._lines import printable
from fanout_tui.engine._process import GRACE_CUT, GraceCut
from fanout_tui.engine._run_mark import end_marked_groups
from fanout_tui.engine.llm._client import HttpClient
from fanout_tui.spec import BranchPlan, Masker

INTERNAL_ERRORS = "fanout_tui.engine.internal_errors"
"""The :mod:`logging` logger that receives, at level ERROR, the full traceback (masked)
of every unexpected exception that failed an attempt. It has no handler of its own but a
:class:`logging.NullHandler`: an application adds one (a ``fanout-tui`` run writes them
to ``internal-errors.log`` in the run's folder, and to stderr with ``--debug``)."""

_internal_errors = logging.getLogger(INTERNAL_ERRORS)
_internal_errors.addHandler(logging.NullHandler())


class Executor(Protocol):
    """Runs a run's attempts somewhere, and ends whatever they leave behind."""

    async def run_attempt(
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
    ) -> AttemptResult:
        """Start attempt ``attempt`` of ``branch``, stream it, and return how it ended.

        Output goes to ``emit`` as masked :class:`~fanout_tui.engine._events.OutputLines`
        (and a started process as :class:`~fanout_tui.engine._events.ProcessStarted`),
        and in full to the attempt's log files in ``log_dir``. ``branch.timeout_s`` is
        measured on ``clock``; a timeout is a TIMED_OUT result. What the branch does
        never raises (a failure is a FAILED result).

        Cancellation (the scheduler cancels the attempt's scope) ends the attempt's
        whole process group, its ``kill_grace`` given, before it propagates.

        Args:
            branch: The branch to run.
            attempt: The attempt number, from 1.
            emit: Receives the attempt's events; must be cheap.
            masker: Masks every line, log byte and the result.
            clock: Measures the timeout.
            log_dir: Folder for the attempt's full logs (``None``: none).
            stdin: Bytes for the attempt's stdin (the synthesizer's results document).
            environment: The environment its processes start from (the run's mark in
                it), the branch's ``env`` on top.
        """
        ...

    def cut_grace(self) -> None:
        """From now on end processes without their grace (SIGKILL at once), including
        those waiting out their grace now: an operator asked twice to stop."""
        ...

    async def end_leftovers(self, mark: str, grace_s: float, *, escaped_only: bool) -> None:
        """End what the run's attempts left running, found by the run's ``mark``
        (processes that escaped their group, like a daemon).

        ``escaped_only``: leave alone the attempts' own groups, which their cancelled
        attempts are ending already. Called at the end of the run, shielded.
        """
        ...


class LocalExecutor:
    """Runs attempts on this machine: commands and call workers as subprocesses, each in
    its own process group (:func:`~fanout_tui.engine._attempt.execute_attempt`), and
    ``llm`` requests in-process over one pooled HTTP client.

    One per engine: :meth:`cut_grace` applies to every attempt it runs. It owns the run's
    pool of call workers (:class:`~fanout_tui.engine._call.CallPool`), closed by the last
    :meth:`end_leftovers`, and makes this process the child subreaper of what it starts,
    so orphans come back to it to be ended (:mod:`fanout_tui.engine._run_mark`).
    """

    def __init__(self) -> None:
        self._grace_cut = GraceCut()
        self._http = HttpClient()
        self._calls = CallPool()
        self._adopting = become_subreaper()
        # Orphans are told from our other children by when they started, and by not
        # being our children already now.
        self._adopted = (ticks_now(), frozenset(children()))

    async def run_attempt(
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
    ) -> AttemptResult:
        """Run the attempt as a subprocess (see :meth:`Executor.run_attempt`)."""
        token = GRACE_CUT.set(self._grace_cut)  # for the attempt and every task it starts
        workers = CALL_WORKERS.set(self._calls)
        try:
            return await execute_attempt(
                branch,
                attempt,
                emit=emit,
                masker=masker,
                clock=clock,
                log_dir=log_dir,
                stdin=stdin,
                environment=environment,
                http=self._http,
            )
        finally:
            CALL_WORKERS.reset(workers)
            GRACE_CUT.reset(token)
            if self._adopting:
                reap_adopted(*self._adopted)  # orphans that exited, so no zombie piles up

    def cut_grace(self) -> None:
        """End every grace period now, and every later one at once."""
        self._grace_cut.cut()

    async def end_leftovers(self, mark: str, grace_s: float, *, escaped_only: bool) -> None:
        """End the process groups of the processes marked ``mark`` and of the orphans
        adopted since the executor was made (see
        :func:`~fanout_tui.engine._run_mark.end_marked_groups`); at the run's very end
        (``escaped_only`` false), end the call workers first, and close the HTTP
        connections of its ``llm`` branches after."""
        token = GRACE_CUT.set(self._grace_cut)
        try:
            if not escaped_only:
                await self._calls.close(grace_s)
            await end_marked_groups(
                mark,
                grace_s,
                escaped_only=escaped_only,
                adopted=self._adopted if self._adopting else None,
            )
        finally:
            GRACE_CUT.reset(token)
        if not escaped_only:
            await self._http.aclose()


@dataclass(frozen=True, slots=True)
class AttemptRunner:
    """An executor bound to the run's masker, clock and log folder.

    An executor that raises (a bug, not a branch failure: those are results) fails the
    attempt with the error as its reason instead of ending the run, and its traceback
    goes to the :data:`INTERNAL_ERRORS` logger. Cancellation passes.
    """

    executor: Executor
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
            result = await self.executor.run_attempt(
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
        return replace(result, reason=self.reason(result.reason))

    def reason(self, text: str) -> str:
        """A failure reason as the operator may see it: masked, on one line, with no
        control characters (an exception's message could otherwise drive the terminal),
        and at most :data:`REASON_CAP` characters long (the log has the whole text)."""
        return capped_reason(printable(" ".join(self.masker.mask(text).splitlines())))
