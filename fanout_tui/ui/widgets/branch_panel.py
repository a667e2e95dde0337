"""One branch drawn as a panel: a card of a few lines, or one dense row.

The branch grid (:mod:`fanout_tui.ui.widgets.branch_grid`) decides where each panel goes
and hands the painter its component styles; the painter turns a branch into segments of
exactly the width it is given.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style

from fanout_tui.engine import BranchStatus, printable, read_signal
from fanout_tui.ui.badges import GLYPHS, WORDS, fit, format_duration, reused_note, status_class
from fanout_tui.ui.model import BranchView
from fanout_tui.ui.output_line import OutputLine

STATUS_CLASSES = {status: status_class(status) for status in BranchStatus}
"""The component class that colours each status."""


class StyleLookup(Protocol):
    """The grid's style for one of its component classes (``partial``: colours only)."""

    def __call__(self, name: str, partial: bool = False) -> Style: ...


class PanelPainter:
    """Draws branches as cards or dense rows in the grid's component styles."""

    def __init__(self, style: StyleLookup, now: Callable[[], float]) -> None:
        """Draw with ``style`` (component class styles), reading elapsed times from ``now``."""
        self._style = style
        self._now = now

    def dense_row(self, view: BranchView, width: int, cursor: bool, base: Style) -> list[Segment]:
        """The dense row of ``view``, ``width`` cells wide (``cursor``: it is focused)."""
        status = view.status
        background = self._style("branch-grid--cursor") if cursor else base
        colour = background + self._style(STATUS_CLASSES[status], partial=True)
        muted = background + self._style("branch-grid--muted", partial=True)
        title = background + self._style("branch-grid--title", partial=True)
        label_w = max(8, min(28, width // 3))
        attempt = f"{view.attempt}/{view.max_attempts}" if view.attempt else ""
        elapsed = format_duration(view.elapsed(self._now()))
        segments = [
            Segment(fit(f" {GLYPHS[status]} ", 3), colour),
            Segment(fit(printable(view.label), label_w), title),
            Segment(" " + fit(WORDS[status], 9), colour),
            Segment(" " + fit(attempt, 5) + fit(elapsed, 7), muted),
        ]
        used = 3 + label_w + 10 + 13
        detail, style = self._detail(view, colour, background)
        segments.append(Segment(fit(detail, max(0, width - used)), style))
        return segments

    def _detail(self, view: BranchView, colour: Style, background: Style) -> tuple[str, Style]:
        if view.reason and view.status is not BranchStatus.SUCCEEDED:
            return " " + printable(view.reason), colour
        if view.waiting_on:
            return f" waits on {view.waiting_for}", colour
        if view.reused_from is not None:
            return " ♻ " + reused_note(view.reused_from), colour
        last = view.last_lines(1)
        if last:
            entry = last[0]
            return " " + printable(entry.text), self._output_style(entry, background)
        return "", background

    def _output_style(self, line: OutputLine, background: Style) -> Style:
        """Stderr in its own style; ``::fanout::`` signal lines dimmed (kept, not news)."""
        if line.stream != "stderr":
            return background
        if read_signal(line.text) is not None:
            return background + self._style("branch-grid--signal", partial=True)
        return background + self._style("branch-grid--stderr", partial=True)

    def card_line(
        self, view: BranchView, offset: int, width: int, height: int, cursor: bool, base: Style
    ) -> list[Segment]:
        """Line ``offset`` of the card of ``view``, ``width`` by ``height`` cells."""
        status = view.status
        background = self._style("branch-grid--cursor") if cursor else base
        colour = background + self._style(STATUS_CLASSES[status], partial=True)
        border = colour + Style(bold=cursor)
        box = "┏━┓┃┗┛" if cursor else "╭─╮│╰╯"
        inner = max(0, width - 4)
        last_line = height - 1
        if offset == 0:
            badge = f" {GLYPHS[status]} {WORDS[status]} "
            badge_w = cell_len(badge)
            label = fit(printable(view.label), max(0, width - 5 - badge_w)).rstrip()
            title = background + self._style("branch-grid--title", partial=True)
            fill = box[1] * max(0, width - 5 - cell_len(label) - badge_w)
            return [
                Segment(box[0] + box[1] + " ", border),
                Segment(label, title),
                Segment(" " + fill, border),
                Segment(badge, colour + Style(bold=True)),
                Segment(box[2], border),
            ]
        if offset == last_line:
            return [Segment(box[4] + box[1] * max(0, width - 2) + box[5], border)]
        text, style = self._card_body(view, offset - 1, last_line - 1, colour, background)
        return [
            Segment(box[3] + " ", border),
            Segment(fit(text, inner), style),
            Segment(" " + box[3], border),
        ]

    def _card_body(
        self, view: BranchView, line: int, lines: int, colour: Style, background: Style
    ) -> tuple[str, Style]:
        """Body line ``line`` of ``lines``: info, then reason or resource, then output."""
        muted = background + self._style("branch-grid--muted", partial=True)
        if line == 0:
            parts = []
            if view.attempt:
                parts.append(f"attempt {view.attempt} of {view.max_attempts}")
            elapsed = format_duration(view.elapsed(self._now()))
            if elapsed:
                parts.append(elapsed)
            if view.usage is not None:
                parts.append(view.usage.describe())
            if view.reused:
                parts.append("♻ reused")
            if view.current is not None and view.current.worker is not None:
                parts.append(f"on {view.current.worker}")
            if view.plan.title:
                parts.append(view.id)
            return " · ".join(parts), muted
        extra: list[tuple[str, Style]] = []
        if view.reason and view.status is not BranchStatus.SUCCEEDED:
            extra.append((printable(view.reason), colour))
        elif view.waiting_on:
            extra.append((f"waits on {view.waiting_for}", colour))
        if line <= len(extra):
            return extra[line - 1]
        output_lines = lines - 1 - len(extra)
        position = line - 1 - len(extra)
        if view.reused:  # no output in this run: show what it holds
            shown = view.reused_preview
            return (printable(shown[position]) if position < len(shown) else ""), background
        recent = view.last_lines(output_lines)
        if 0 <= position < len(recent):
            entry = recent[position]
            return printable(entry.text), self._output_style(entry, background)
        return "", background
