"""A branch's full log as lines: every attempt's stdout and stderr, the result, the reason.

Logs come from the files the engine names in ``AttemptStarted`` (reading files is all the
dashboard does; it never starts a process). Where an attempt has no file, the lines kept
in memory stand in.
"""

from __future__ import annotations

from collections.abc import Iterator
from enum import StrEnum
from itertools import repeat
from pathlib import Path

from fanout_tui.engine import BranchStatus, Stream, printable, read_signal
from fanout_tui.ui.badges import WORDS, format_duration, reused_note
from fanout_tui.ui.model import AttemptRecord, BranchView
from fanout_tui.ui.result_text import result_text

MAX_LINES_PER_STREAM = 200_000
"""Beyond this many lines a stream shows only its tail (the file keeps everything)."""


class LineKind(StrEnum):
    """What a log line is, which decides how it is drawn."""

    HEADING = "heading"
    STDOUT = "stdout"
    STDERR = "stderr"
    SIGNAL = "signal"
    """A ``::fanout::`` line on stderr: a message to fanout-tui, kept in the log, dimmed."""
    NOTE = "note"
    RESULT = "result"
    REASON = "reason"


LogLine = tuple[str, LineKind]
"""One line of the full log: its text and kind. A plain tuple, because a log can hold
hundreds of thousands of lines and building an object per line would stall the screen."""


def read_stream(path: Path | None, fallback: list[str]) -> tuple[list[str], str | None]:
    """The lines of ``path``, or ``fallback`` when there is no file; and a note, if any."""
    if path is None:
        return fallback, None
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            lines = handle.read().splitlines()
    except FileNotFoundError:
        return fallback, None
    except OSError as error:
        return fallback, f"(cannot read {path}: {error.strerror})"
    if len(lines) > MAX_LINES_PER_STREAM:
        dropped = len(lines) - MAX_LINES_PER_STREAM
        return lines[-MAX_LINES_PER_STREAM:], f"({dropped} earlier lines are only in {path})"
    return lines, None


def _attempt_heading(record: AttemptRecord, previous: AttemptRecord | None) -> str:
    """``── attempt 3 of 4 · retried by the operator · failed · exit 1 · 2.0s ──``.

    Each attempt keeps the count it ran under: an operator's retry adds a fresh set of
    attempts (numbered on, with a higher count) without renumbering the earlier ones.
    """
    parts = [f"attempt {record.attempt} of {record.max_attempts}"]
    if previous is not None and record.max_attempts > previous.max_attempts:
        parts.append("retried by the operator")
    if record.status is None:
        parts.append("running")
    else:
        parts.append(WORDS[record.status])
    if record.rate_limited:
        parts.append("rate limited")
    if record.exit_code is not None:
        parts.append(f"exit {record.exit_code}")
    if record.ended_at is not None:
        parts.append(format_duration(record.ended_at - record.started_at))
    return "── " + " · ".join(parts) + " ──"


def _in_memory(view: BranchView, record: AttemptRecord, stream: Stream) -> list[str]:
    if record is not view.current:
        return []  # only the latest attempt's lines are told apart in memory
    return view.lines_of(record.attempt, stream)


def _attempt_lines(
    view: BranchView, record: AttemptRecord, previous: AttemptRecord | None
) -> Iterator[LogLine]:
    yield (_attempt_heading(record, previous), LineKind.HEADING)
    streams: tuple[tuple[Stream, Path | None, LineKind], ...] = (
        ("stdout", record.stdout_log, LineKind.STDOUT),
        ("stderr", record.stderr_log, LineKind.STDERR),
    )
    for stream, path, kind in streams:
        lines, note = read_stream(path, _in_memory(view, record, stream))
        yield (f"{stream}: {len(lines)} lines", LineKind.NOTE)
        if note:
            yield (note, LineKind.NOTE)
        if kind is LineKind.STDERR:
            yield from _stderr_lines(lines)
        else:
            yield from zip(map(printable, lines), repeat(kind))
    if record.reason:
        yield (f"reason: {record.reason}", LineKind.REASON)


def _stderr_lines(lines: list[str]) -> Iterator[LogLine]:
    for line in lines:
        kind = LineKind.STDERR if read_signal(line) is None else LineKind.SIGNAL
        yield (printable(line), kind)


def branch_log(view: BranchView) -> list[LogLine]:
    """Everything the full-log screen shows for ``view``, top to bottom."""
    lines: list[LogLine] = []
    if view.reused_from is not None:
        lines.append((f"({reused_note(view.reused_from)})", LineKind.NOTE))
    elif not view.attempts:
        lines.append(("(no attempt has started yet)", LineKind.NOTE))
    previous: AttemptRecord | None = None
    for record in view.attempts:
        lines.extend(_attempt_lines(view, record, previous))
        previous = record
        lines.append(("", LineKind.NOTE))
    if view.status is BranchStatus.SUCCEEDED and (view.reused or view.attempts):
        lines.append(("── result ──", LineKind.HEADING))
        text = result_text(view.result)
        if text:
            lines.extend(zip(map(printable, text.splitlines()), repeat(LineKind.RESULT)))
        else:
            lines.append(("(empty)", LineKind.NOTE))
    if view.reason and view.status is not BranchStatus.SUCCEEDED:
        lines.append(("── failure reason ──", LineKind.HEADING))
        lines.append((view.reason, LineKind.REASON))
    return lines
