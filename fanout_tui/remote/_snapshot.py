"""What a run keeps for viewers that join later: its events so far, output trimmed.

Every event but output is kept in order (a few per attempt); of each branch's output only
the last :data:`LINES_KEPT` lines stay (:data:`SETTLED_LINES_KEPT` once it has settled: its
full log is in its files), and of the merge only its latest state.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from fanout_tui.engine import (
    BranchStateChanged,
    Event,
    OutputLines,
    ResultsChanged,
    RunFinished,
    Stream,
)

LINES_KEPT = 1000
"""Output lines kept per branch (what a panel and its preview can show)."""
SETTLED_LINES_KEPT = 50
"""Output lines kept per settled branch (more than its panel shows)."""


@dataclass
class _Lines:
    """A run of output lines of one branch's attempt and stream, trimmed from the front."""

    branch_id: str
    attempt: int
    stream: Stream
    lines: deque[str] = field(default_factory=deque)


class SnapshotKeeper:
    """A listener that keeps what :meth:`events` gives a joining viewer."""

    def __init__(self, lines_kept: int = LINES_KEPT) -> None:
        self._lines_kept = lines_kept
        self._entries: list[Event | _Lines] = []
        self._runs: dict[str, deque[_Lines]] = {}
        self._counts: dict[str, int] = {}
        self._current: dict[str, _Lines] = {}
        self._results: ResultsChanged | None = None
        self.finished = False
        """Whether the run's last event (``RunFinished``) was seen."""

    def add(self, event: Event) -> None:
        """Keep ``event`` (pass this to ``Engine.add_listener``)."""
        if isinstance(event, OutputLines):
            self._add_lines(event)
            return
        if isinstance(event, ResultsChanged):
            self._results = event
            return
        branch_id = getattr(event, "branch_id", None)
        if branch_id is not None:
            self._current.pop(branch_id, None)  # its next lines follow this event
        if isinstance(event, RunFinished):
            self.finished = True
        elif isinstance(event, BranchStateChanged) and event.status.settled:
            self._trim(event.branch_id, min(self._lines_kept, SETTLED_LINES_KEPT))
        self._entries.append(event)

    def _add_lines(self, event: OutputLines) -> None:
        branch = event.branch_id
        current = self._current.get(branch)
        if current is None or current.attempt != event.attempt or current.stream != event.stream:
            current = self._current[branch] = _Lines(branch, event.attempt, event.stream)
            self._entries.append(current)
            self._runs.setdefault(branch, deque()).append(current)
        current.lines.extend(event.lines)
        self._counts[branch] = self._counts.get(branch, 0) + len(event.lines)
        self._trim(branch, self._lines_kept)

    def _trim(self, branch: str, keep: int) -> None:
        """Drop ``branch``'s oldest kept lines until at most ``keep`` remain."""
        count = self._counts.get(branch, 0)
        runs = self._runs.get(branch)
        while runs and count > keep:
            oldest = runs[0]
            oldest.lines.popleft()
            count -= 1
            if not oldest.lines:
                runs.popleft()
        self._counts[branch] = count

    def events(self) -> tuple[Event, ...]:
        """The events a joining viewer replays, in order (the latest merge state just
        before the run's end, or last)."""
        replay: list[Event] = []
        for entry in self._entries:
            if isinstance(entry, _Lines):
                if entry.lines:
                    replay.append(
                        OutputLines(
                            entry.branch_id, entry.attempt, entry.stream, tuple(entry.lines)
                        )
                    )
            elif isinstance(entry, RunFinished):
                if self._results is not None:
                    replay.append(self._results)
                replay.append(entry)
            else:
                replay.append(entry)
        if self._results is not None and not self.finished:
            replay.append(self._results)
        return tuple(replay)
