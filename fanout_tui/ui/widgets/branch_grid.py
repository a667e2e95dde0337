"""The branch panels: one card per branch while they fit, one dense row per branch when not.

A Line API widget: it draws only the rows on screen, so a thousand branches cost what the
visible few cost. The cursor marks the focused branch; arrows and h j k l move it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from math import ceil
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import var
from textual.scroll_view import ScrollView
from textual.strip import Strip

from fanout_tui.engine import BranchStatus
from fanout_tui.ui.badges import fit
from fanout_tui.ui.branch_filter import BranchFilter
from fanout_tui.ui.model import BranchView
from fanout_tui.ui.widgets.branch_panel import STATUS_CLASSES, PanelPainter

CARD_MIN_WIDTH = 34
"""Narrowest card; the grid puts as many columns of cards side by side as fit."""
DENSE_MIN_WIDTH = 60
"""Narrowest dense row; wide terminals get several columns of rows."""
CARD_BODY_LINES = (5, 4, 3, 2)
"""Card body heights tried, tallest first (info line, reason, last output lines)."""


@dataclass(frozen=True, slots=True)
class GridLayout:
    """How the visible branches are laid out: ``cols`` cells across, ``cell_h`` rows each."""

    dense: bool
    cols: int
    cell_w: int
    cell_h: int
    width: int

    def cell_width(self, col: int) -> int:
        """Width of column ``col`` (the last one takes the remainder)."""
        if col == self.cols - 1:
            return self.width - self.cell_w * (self.cols - 1)
        return self.cell_w


def choose_layout(count: int, width: int, height: int, scrollbar: int) -> GridLayout:
    """Cards if every visible branch fits on screen as a card, dense rows otherwise."""
    width = max(width, 1)
    cols = max(1, width // CARD_MIN_WIDTH)
    rows = ceil(count / cols) if count else 1
    for body in CARD_BODY_LINES:
        if rows * (body + 2) <= height:
            return GridLayout(False, cols, width // cols, body + 2, width)
    usable = max(1, width - scrollbar)
    cols = max(1, usable // DENSE_MIN_WIDTH)
    return GridLayout(True, cols, usable // cols, 1, usable)


class BranchGrid(ScrollView, can_focus=True):
    """Every visible branch as a panel, with a cursor on the focused one."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        *STATUS_CLASSES.values(),
        "branch-grid--cursor",
        "branch-grid--muted",
        "branch-grid--stderr",
        "branch-grid--signal",
        "branch-grid--title",
    }

    DEFAULT_CSS = """
    BranchGrid {
        background: $surface;
        color: $foreground;
        scrollbar-size-vertical: 1;
        overflow-x: hidden;
        & > .status--pending { color: $branch-pending; }
        & > .status--waiting { color: $branch-waiting; }
        & > .status--running { color: $branch-running; }
        & > .status--retrying { color: $branch-retrying; }
        & > .status--succeeded { color: $branch-succeeded; }
        & > .status--failed { color: $branch-failed; }
        & > .status--timed-out { color: $branch-timed-out; }
        & > .status--cancelled { color: $branch-cancelled; }
        & > .branch-grid--cursor { background: $surface-lighten-1; }
        & > .branch-grid--muted { color: $foreground-muted; }
        & > .branch-grid--stderr { color: $foreground-muted; text-style: italic; }
        & > .branch-grid--signal { color: $text-muted; text-style: dim; }
        & > .branch-grid--title { text-style: bold; }
        &:focus > .branch-grid--cursor { background: $accent 15%; }
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up,k", "move(0, -1)", "Up", show=False, id="branch.up"),
        Binding("down,j", "move(0, 1)", "Down", show=False, id="branch.down"),
        Binding("left,h", "move(-1, 0)", "Left", show=False, id="branch.left"),
        Binding("right,l", "move(1, 0)", "Right", show=False, id="branch.right"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="branch.page-up"),
        Binding("pagedown", "page(1)", "Page down", show=False, id="branch.page-down"),
        Binding("home", "jump(0)", "First", show=False, id="branch.first"),
        Binding("end", "jump(-1)", "Last", show=False, id="branch.last"),
    ]

    class CursorMoved(Message):
        """The focused branch changed (``branch_id`` is None when nothing is listed)."""

        def __init__(self, branch_id: str | None) -> None:
            self.branch_id = branch_id
            super().__init__()

    branch_filter: var[BranchFilter] = var(BranchFilter.ALL)

    def __init__(
        self,
        branches: Sequence[BranchView],
        now: Callable[[], float],
        *,
        name: str | None = None,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._branches = branches
        self._now = now
        self._visible: list[BranchView] = list(branches)
        self._index: dict[str, int] = {}
        self._cursor = 0
        self._layout = GridLayout(False, 1, 1, 1, 1)
        self._styles: dict[tuple[str, bool], Style] = {}
        self._panels = PanelPainter(self._style, now)
        self._reindex()

    # -- what is shown ---------------------------------------------------------------

    @property
    def current(self) -> BranchView | None:
        """The focused branch, if any branch is listed."""
        return self._visible[self._cursor] if self._visible else None

    @property
    def layout_mode(self) -> str:
        """``"cards"`` or ``"dense"``: the form the branches are drawn in now."""
        return "dense" if self._layout.dense else "cards"

    @property
    def visible_ids(self) -> list[str]:
        """Ids of the branches listed under the current filter, in declared order."""
        return [view.id for view in self._visible]

    def watch_branch_filter(self) -> None:
        self.refilter()

    def refilter(self) -> None:
        """Recompute which branches the filter admits, keeping the cursor on its branch."""
        current = self.current
        admits = self.branch_filter.admits
        visible = [view for view in self._branches if admits(view.status)]
        if [v.id for v in visible] == [v.id for v in self._visible]:
            return
        self._visible = visible
        self._reindex()
        if current is not None and current.id in self._index:
            self._cursor = self._index[current.id]
        else:
            self._cursor = min(self._cursor, max(0, len(visible) - 1))
        self._relayout()
        self._cursor_changed(current)

    def branches_changed(self, branch_ids: set[str]) -> None:
        """Redraw if any of ``branch_ids`` is on screen."""
        if any(self._on_screen(self._index.get(b)) for b in branch_ids):
            self.refresh()

    def any_visible_running(self) -> bool:
        """True if a visible branch shows a ticking elapsed time."""
        first, last = self._visible_range()
        return any(self._visible[i].status is BranchStatus.RUNNING for i in range(first, last))

    def select(self, branch_id: str) -> bool:
        """Put the cursor on ``branch_id`` if it is listed."""
        index = self._index.get(branch_id)
        if index is None:
            return False
        self._set_cursor(index)
        return True

    def _reindex(self) -> None:
        self._index = {view.id: i for i, view in enumerate(self._visible)}

    # -- layout ----------------------------------------------------------------------

    def on_resize(self, event: events.Resize) -> None:
        self._relayout()

    def _relayout(self) -> None:
        width, height = self.size
        if not width or not height:
            return
        layout = choose_layout(
            len(self._visible), width, height, self.styles.scrollbar_size_vertical
        )
        self._layout = layout
        rows = ceil(len(self._visible) / layout.cols) if self._visible else 1
        self.virtual_size = Size(layout.width, rows * layout.cell_h)
        self.refresh()
        self._scroll_to_cursor()

    def _visible_range(self) -> tuple[int, int]:
        layout = self._layout
        top = int(self.scroll_y) // layout.cell_h
        bottom = (int(self.scroll_y) + self.size.height) // layout.cell_h + 1
        return min(top * layout.cols, len(self._visible)), min(
            bottom * layout.cols, len(self._visible)
        )

    def _on_screen(self, index: int | None) -> bool:
        if index is None:
            return False
        first, last = self._visible_range()
        return first <= index < last

    # -- the cursor ------------------------------------------------------------------

    def action_move(self, dx: int, dy: int) -> None:
        """Move the cursor by ``dx`` cells across and ``dy`` cells down."""
        if not self._visible:
            return
        cols = self._layout.cols
        target = self._cursor + dx + dy * cols
        if dy and not 0 <= target < len(self._visible):
            return
        self._set_cursor(max(0, min(target, len(self._visible) - 1)))

    def action_page(self, pages: int) -> None:
        """Move the cursor a screenful up or down."""
        rows = max(1, self.size.height // self._layout.cell_h)
        target = self._cursor + pages * rows * self._layout.cols
        self._set_cursor(max(0, min(target, len(self._visible) - 1)))

    def action_jump(self, index: int) -> None:
        """Put the cursor on the first (0) or last (-1) listed branch."""
        if self._visible:
            self._set_cursor(index % len(self._visible))

    def on_click(self, event: events.Click) -> None:
        layout = self._layout
        row = (event.y + int(self.scroll_y)) // layout.cell_h
        col = min(event.x // max(1, layout.cell_w), layout.cols - 1)
        index = row * layout.cols + col
        if 0 <= index < len(self._visible):
            self._set_cursor(index)

    def _set_cursor(self, index: int) -> None:
        previous = self.current
        self._cursor = index
        self.refresh()
        self._scroll_to_cursor()
        self._cursor_changed(previous)

    def _cursor_changed(self, previous: BranchView | None) -> None:
        current = self.current
        if current is not previous:
            self.post_message(self.CursorMoved(current.id if current else None))

    def _scroll_to_cursor(self) -> None:
        if not self._visible:
            return
        layout = self._layout
        row, col = divmod(self._cursor, layout.cols)
        region = Region(col * layout.cell_w, row * layout.cell_h, layout.cell_w, layout.cell_h)
        self.scroll_to_region(region, animate=False, immediate=True, x_axis=False)

    # -- drawing ---------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        layout = self._layout
        width = self.size.width
        base = self._base
        if not self._visible:
            if y == 0:
                text = f" no {self.branch_filter.value} branches — f changes the filter"
                return Strip([Segment(fit(text, width), self._style("branch-grid--muted"))])
            return Strip.blank(width, base)
        line = y + int(self.scroll_y)
        row, offset = divmod(line, layout.cell_h)
        # One Strip per line (Strips are not cheap): every cell yields segments of its
        # exact width, and the line is adjusted only if something did not fit.
        segments: list[Segment] = []
        for col in range(layout.cols):
            index = row * layout.cols + col
            cell_width = layout.cell_width(col)
            if index >= len(self._visible):
                segments.append(Segment(" " * cell_width, base))
                continue
            view = self._visible[index]
            cursor = index == self._cursor
            if layout.dense:
                segments += self._panels.dense_row(view, cell_width, cursor, base)
            else:
                segments += self._panels.card_line(
                    view, offset, cell_width, layout.cell_h, cursor, base
                )
        strip = Strip(segments)
        if strip.cell_length != width:
            strip = strip.adjust_cell_length(width, base)
        return strip

    def _style(self, name: str, partial: bool = False) -> Style:
        """A component style, cached until the styles or the theme change."""
        key = (name, partial)
        style = self._styles.get(key)
        if style is None:
            style = self._styles[key] = self.get_component_rich_style(name, partial=partial)
        return style

    @property
    def _base(self) -> Style:
        style = self._styles.get(("", False))
        if style is None:
            style = self._styles[("", False)] = self.rich_style
        return style

    def notify_style_update(self) -> None:
        self._styles.clear()
        super().notify_style_update()
