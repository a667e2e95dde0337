"""Progress lines and the closing summary of a headless run, written to stderr.

One line per state change of a branch::

    [   1.2s] intro   succeeded  attempt 1/3  0.84s
    [   2.0s] ch-3    failed     attempt 3/3  0.31s  exit code 7
    [   0.0s] api-2   waiting    on llm-api

and one when a shared resource pauses after a rate-limit signal, and when it resumes::

    [   3.2s] llm-api  paused     12s (429 from doc07)
    [  15.2s] llm-api  resumed

Everything printed comes from events and reports, whose text the engine has already
masked, so no secret value can reach stderr through here. Colour is used only on a
terminal and never when ``NO_COLOR`` is set (https://no-color.org).
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable
from typing import TextIO

from fanout_tui.engine import (
    BUDGET_REACHED,
    AttemptEnded,
    AttemptPlaced,
    BranchStateChanged,
    BranchStatus,
    Event,
    PolicyState,
    ResourcePaused,
    ResourceResumed,
    RunOutcome,
    Usage,
    outcome_word,
    status_words,
    why_missing,
)
from fanout_tui.spec import Plan

MAX_ID_WIDTH = 24
"""Longer branch ids are printed whole; shorter ones are padded to the longest, up to this."""

MAX_LISTED = 20
"""The summary names at most this many unsuccessful branches."""

_STATUS_WIDTH = max(len(status) for status in BranchStatus)

_COLOURS = {
    BranchStatus.PENDING: "2",
    BranchStatus.WAITING: "2",
    BranchStatus.RUNNING: "36",
    BranchStatus.RETRYING: "33",
    BranchStatus.SUCCEEDED: "32",
    BranchStatus.FAILED: "31",
    BranchStatus.TIMED_OUT: "31",
    BranchStatus.CANCELLED: "33",
}
_OUTCOME_COLOURS = {0: "32", 3: "33", 1: "31", 130: "33"}
_DIM = "2"
_PAUSED = "33"


class ProgressPrinter:
    """Turns engine events into progress lines, and a run outcome into a summary.

    Register :meth:`on_event` as an engine listener; call :meth:`summary` at the end.
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        id_width: int,
        colour: bool,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream
        self._id_width = id_width
        self._colour = colour
        self._now = now
        self._started = now()
        self._shown: dict[str, tuple[BranchStatus, int, str | None]] = {}
        self._running_since: dict[str, float] = {}
        self._durations: dict[tuple[str, int], float] = {}
        self._spent: dict[tuple[str, int], Usage] = {}
        self._workers: dict[tuple[str, int], str] = {}
        """The remote worker of each attempt placed on one, until its line is printed."""
        self._closed = False

    @classmethod
    def for_stream(cls, stream: TextIO, plan: Plan) -> ProgressPrinter:
        """A printer for ``stream`` sized for ``plan``'s ids, coloured on a terminal."""
        longest = max((len(branch.id) for branch in plan.branches), default=0)
        colour = stream.isatty() and not os.environ.get("NO_COLOR")
        return cls(stream, id_width=min(longest, MAX_ID_WIDTH), colour=colour)

    def on_event(self, event: Event) -> None:
        """Print a line for a branch's state change or a resource's pause (an engine
        listener)."""
        if isinstance(event, AttemptEnded):
            self._durations[(event.branch_id, event.attempt)] = event.duration_s
            if event.usage is not None:
                self._spent[(event.branch_id, event.attempt)] = event.usage
        elif isinstance(event, AttemptPlaced):
            self._workers[(event.branch_id, event.attempt)] = event.worker
        elif isinstance(event, BranchStateChanged):
            self._state_changed(event)
        elif isinstance(event, ResourcePaused):
            why = f"{seconds(event.seconds)} (429 from {event.by})"
            if event.note:
                why += f"; {event.note}"
            self._resource_line(event.name, "paused", why)
        elif isinstance(event, ResourceResumed):
            self._resource_line(event.name, "resumed")

    def note_interrupt(self, signal_name: str, *, first: bool) -> None:
        """Say that a signal arrived and every branch is being ended."""
        if first:
            text = f"{signal_name}: ending every branch (process groups get SIGTERM, then SIGKILL)"
        else:
            text = f"{signal_name} again: SIGKILL to every process still running"
        self._write(f"{self._stamp()} {self._paint(text, _OUTCOME_COLOURS[130])}")

    def summary(self, outcome: RunOutcome) -> None:
        """Print the closing summary: outcome, counts per state, policy status, flags, time."""
        counts = Counter(branch.status for branch in outcome.branches)
        word = outcome_word(outcome.exit_code)
        headline = self._paint(word, _OUTCOME_COLOURS.get(outcome.exit_code, "31"))
        self._write(
            f"── {outcome.name}: {headline} (exit {outcome.exit_code}) in {outcome.duration_s:.1f}s"
        )
        reused = sum(1 for branch in outcome.branches if branch.reused)
        self._write(
            "   "
            + " · ".join(
                f"{n} {self._paint(status_words(status), _COLOURS[status])}"
                + (f" ({reused} reused)" if reused and status is BranchStatus.SUCCEEDED else "")
                for status in BranchStatus
                if (n := counts[status])
            )
        )
        merge = outcome.merge
        policy = f"blocked: {merge.error}" if merge.state is PolicyState.BLOCKED else None
        self._write(f"   policy: {policy or merge.describe()}")
        usage = outcome.usage
        stopped = sum(1 for b in outcome.branches if b.error and BUDGET_REACHED in b.error)
        if usage is not None or stopped:
            text = f"   usage: {(usage or Usage()).describe()}"
            if stopped:
                branches = "branch" if stopped == 1 else "branches"
                text += f" ({self._paint(BUDGET_REACHED, _PAUSED)}: {stopped} {branches} stopped)"
            self._write(text)
        missing = set(merge.missing)
        unsuccessful = [b for b in outcome.branches if b.status.settled and b.id in missing]
        if unsuccessful:
            self._write(f"   {'flagged' if merge.flagged else 'did not succeed'}:")
            width = min(max(len(b.id) for b in unsuccessful), MAX_ID_WIDTH)
            for branch in unsuccessful[:MAX_LISTED]:
                self._write(f"     {branch.id.ljust(width)}  {why_missing(branch)}")
            if len(unsuccessful) > MAX_LISTED:
                self._write(f"     … and {len(unsuccessful) - MAX_LISTED} more (see --report)")

    def _state_changed(self, event: BranchStateChanged) -> None:
        branch_id, status = event.branch_id, event.status
        seen = self._shown.get(branch_id)
        shown = (status, event.attempt, event.waiting_on)
        self._shown[branch_id] = shown
        if status is BranchStatus.RUNNING:
            self._running_since[branch_id] = event.at
        # The initial "pending" of every branch is not a change; repeats say nothing new.
        if seen == shown or (seen is None and status is BranchStatus.PENDING):
            return
        self._write(self._line(event))

    def _line(self, event: BranchStateChanged) -> str:
        branch_id, status = event.branch_id, event.status
        parts: list[str] = []
        if event.reused_from is not None:
            parts.append(f"reused from run {event.reused_from.run_id}")
        elif event.attempt >= 1 and status is not BranchStatus.PENDING:
            parts.append(f"attempt {event.attempt}/{event.max_attempts}")
        if status.settled or status is BranchStatus.RETRYING:
            duration = self._duration(event)
            if duration is not None:
                parts.append(f"{duration:.2f}s")
            spent = self._spent.pop((branch_id, event.attempt), None)
            if spent is not None:
                parts.append(spent.describe())
            worker = self._workers.pop((branch_id, event.attempt), None)
            if worker is not None:
                parts.append(f"on worker {worker}")
        if event.waiting_on:
            parts.append(f"on {event.waiting_on}")
        if event.reason:
            # "cancelled  …  cancelled: x failed" says its status once: "… x failed".
            parts.append(event.reason.removeprefix(f"{status_words(status)}: "))
        status_text = self._paint(str(status).ljust(_STATUS_WIDTH), _COLOURS[status])
        line = f"{self._stamp()} {branch_id.ljust(self._id_width)}  {status_text}"
        return "  ".join([line, *parts]).rstrip()

    def _duration(self, event: BranchStateChanged) -> float | None:
        """The duration of the attempt that just ended, if one ran."""
        ended = self._durations.pop((event.branch_id, event.attempt), None)
        if ended is not None:
            return ended
        since = self._running_since.pop(event.branch_id, None)
        return None if since is None else max(0.0, event.at - since)

    def _resource_line(self, name: str, word: str, why: str = "") -> None:
        word_text = self._paint(word.ljust(_STATUS_WIDTH), _PAUSED if why else _DIM)
        line = f"{self._stamp()} {name.ljust(self._id_width)}  {word_text}  {why}"
        self._write(line.rstrip())

    def _stamp(self) -> str:
        return self._paint(f"[{self._now() - self._started:6.1f}s]", _DIM)

    def _paint(self, text: str, sgr: str) -> str:
        return f"\x1b[{sgr}m{text}\x1b[0m" if self._colour else text

    def _write(self, line: str) -> None:
        if self._closed:
            return
        try:
            self._stream.write(line + "\n")
            self._stream.flush()
        except (OSError, ValueError):
            # stderr went away (a closed pipe or terminal): progress is a courtesy, the
            # run itself must go on and end its branches.
            self._closed = True


def seconds(value: float) -> str:
    """A pause's length for a progress line: ``12s``, ``2.5s``, ``0.3s``."""
    return f"{value:.0f}s" if value >= 10 else f"{value:.1f}".removesuffix(".0") + "s"
