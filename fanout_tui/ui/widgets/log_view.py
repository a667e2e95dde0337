"""A scrollable, searchable view of many log lines (Line API: draws only what is visible)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.reactive import var
from textual.scroll_view import ScrollView
from textual.strip import Strip

from fanout_tui.ui.log_document import LineKind, LogLine

_KIND_CLASSES = {kind: f"log-view--{kind.value}" for kind in LineKind}


class LogView(ScrollView, can_focus=True):
    """Lines of a log with a case-insensitive search; ``n`` / ``N`` move between hits."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        *_KIND_CLASSES.values(),
        "log-view--match",
        "log-view--current",
    }

    DEFAULT_CSS = """
    LogView {
        background: $surface;
        & > .log-view--heading { color: $accent; text-style: bold; }
        & > .log-view--stdout { color: $foreground; }
        & > .log-view--stderr { color: $text-warning; }
        & > .log-view--signal { color: $text-muted; text-style: dim; }
        & > .log-view--note { color: $text-muted; }
        & > .log-view--result { color: $text-success; }
        & > .log-view--reason { color: $text-error; text-style: bold; }
        & > .log-view--match { background: $warning 40%; }
        & > .log-view--current { background: $accent; color: $text; text-style: bold; }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "scroll_up", "Up", show=False, id="log.up"),
        Binding("down,j", "scroll_down", "Down", show=False, id="log.down"),
        Binding("left,h", "scroll_left", "Left", show=False, id="log.left"),
        Binding("right,l", "scroll_right", "Right", show=False, id="log.right"),
        Binding("home,g", "scroll_home", "Top", show=False, id="log.top"),
        Binding("end,G", "scroll_end", "Bottom", show=False, id="log.bottom"),
        Binding("pageup", "page_up", "Page up", show=False, id="log.page-up"),
        Binding("pagedown,space", "page_down", "Page down", show=False, id="log.page-down"),
    ]

    search: var[str] = var("")
    """The text searched for ('' for none)."""

    def __init__(self, lines: Sequence[LogLine], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._lines: Sequence[LogLine] = lines
        self._hits: list[int] = []
        self._hit = -1
        self._update_size()

    @property
    def hits(self) -> list[int]:
        """Indices of the lines that contain the search text."""
        return self._hits

    @property
    def hit(self) -> int:
        """Which hit is current (-1: none)."""
        return self._hit

    def set_lines(self, lines: Sequence[LogLine]) -> None:
        """Show ``lines`` instead, keeping the search."""
        self._lines = lines
        self._update_size()
        self._find()
        self.refresh()

    def _update_size(self) -> None:
        width = max((len(text) for text, _ in self._lines), default=0)
        self.virtual_size = Size(width + 1, len(self._lines))

    def watch_search(self) -> None:
        self._find()
        self._hit = -1
        self.next_hit(1)
        self.refresh()

    def _find(self) -> None:
        needle = self.search.lower()
        self._hits = (
            [i for i, (text, _) in enumerate(self._lines) if needle in text.lower()]
            if needle
            else []
        )

    def next_hit(self, step: int) -> None:
        """Move to the next (``step`` 1) or previous (-1) hit, wrapping around."""
        if not self._hits:
            self._hit = -1
            return
        if self._hit < 0:
            top = int(self.scroll_y)
            after = [n for n, line in enumerate(self._hits) if line >= top]
            self._hit = after[0] if after and step > 0 else (0 if step > 0 else len(self._hits) - 1)
        else:
            self._hit = (self._hit + step) % len(self._hits)
        line = self._hits[self._hit]
        self.scroll_to_region(
            Region(0, line, 1, 1), animate=False, immediate=True, center=True, x_axis=False
        )
        self.scroll_to(x=self._column_showing(line), animate=False, immediate=True)
        self.refresh()

    def _column_showing(self, line: int) -> int:
        """The horizontal scroll that shows the first match on ``line``: none when the
        match shows from the left edge, else the match a third of the way across."""
        text = self._lines[line][0]
        found = text.lower().find(self.search.lower())
        start = cell_len(text[:found])
        end = start + cell_len(text[found : found + len(self.search)])
        width = self.scrollable_content_region.width
        if end <= width:
            return 0
        lead = width // 3 if end - start <= width - width // 3 else 0
        return max(0, start - lead)

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        index = y + scroll_y
        width = self.size.width
        base = self.rich_style
        if index >= len(self._lines):
            return Strip.blank(width, base)
        text, kind = self._lines[index]
        style = self.get_component_rich_style(_KIND_CLASSES[kind])
        segments = self._highlighted(text, style, index)
        strip = Strip(segments).extend_cell_length(scroll_x + width, base)
        return strip.crop(scroll_x, scroll_x + width)

    def _highlighted(self, text: str, style: Style, index: int) -> list[Segment]:
        needle = self.search
        if not needle or needle.lower() not in text.lower():
            return [Segment(text, style)]
        current = self._hit >= 0 and self._hits[self._hit] == index
        mark = style + self.get_component_rich_style(
            "log-view--current" if current else "log-view--match", partial=True
        )
        folded, size = text.lower(), len(needle)
        segments: list[Segment] = []
        start = 0
        while (found := folded.find(needle.lower(), start)) >= 0:
            segments.append(Segment(text[start:found], style))
            segments.append(Segment(text[found : found + size], mark))
            start = found + size
        segments.append(Segment(text[start:], style))
        return segments
