"""The main screen: header, branch panels, merged-result preview and the key footer."""

from __future__ import annotations

from typing import ClassVar

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer

from fanout_tui.ui.model import BranchFilter, Changes, RunModel
from fanout_tui.ui.widgets.branch_grid import BranchGrid
from fanout_tui.ui.widgets.merge_preview import MergePreview
from fanout_tui.ui.widgets.run_header import RunHeader

DASHBOARD_BINDINGS: list[BindingType] = [
    Binding("r", "app.retry_branch", "Retry", id="fanout.retry"),
    Binding("R", "app.retry_failed", "Retry failed", id="fanout.retry-failed"),
    Binding("c", "app.cancel_branch", "Cancel", id="fanout.cancel"),
    Binding("C", "app.cancel_all", "Cancel all", id="fanout.cancel-all"),
    Binding("enter", "app.show_log", "Log", id="fanout.log"),
    Binding("m", "app.show_merged", "Merged", id="fanout.merged"),
    Binding("f", "app.cycle_filter", "Filter", id="fanout.filter"),
    Binding("escape", "app.clear_filter", "All branches", show=False, id="fanout.back"),
    Binding("question_mark", "app.show_help", "Help", key_display="?", id="fanout.help"),
    Binding("q", "app.request_quit", "Quit", id="fanout.quit"),
    # The footer hides r, R, c and C where they cannot act; pressed anyway, they say why
    # (or act, if the engine moved on since the last frame).
    Binding("r", "app.anyway('retry_branch')", show=False, id="fanout.retry.anyway"),
    Binding("R", "app.anyway('retry_failed')", show=False, id="fanout.retry-failed.anyway"),
    Binding("c", "app.anyway('cancel_branch')", show=False, id="fanout.cancel.anyway"),
    Binding("C", "app.anyway('cancel_all')", show=False, id="fanout.cancel-all.anyway"),
]
"""The dashboard's keys (DESIGN.md); each has an id so it can be remapped."""

PALETTE_HINT_MIN_WIDTH = 90
"""Below this width the footer drops its "^p palette" hint so that every key still shows
(``?`` help names ctrl+p)."""


class DashboardScreen(Screen[None]):
    """Every branch at a glance; keys act on the focused branch or on all of them."""

    BINDINGS: ClassVar[list[BindingType]] = DASHBOARD_BINDINGS

    def __init__(self, model: RunModel, grid: BranchGrid) -> None:
        super().__init__(id="dashboard")
        self.model = model
        self.grid = grid
        self.header = RunHeader(id="run-header")
        self.preview = MergePreview(id="merge-preview")
        self._binding_state: tuple[bool, ...] = ()

    def compose(self) -> ComposeResult:
        yield self.header
        yield self.grid
        yield self.preview
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.grid.focus()

    def on_resize(self, event: events.Resize) -> None:
        footer = self.query_one(Footer)
        wide = event.size.width >= PALETTE_HINT_MIN_WIDTH
        if footer.show_command_palette != wide:
            footer.show_command_palette = wide
            footer.refresh(recompose=True)

    def show(self, changes: Changes | None, elapsed: float) -> None:
        """Redraw what ``changes`` touched (everything when ``changes`` is None)."""
        self.header.show(self.model, elapsed, self.grid.branch_filter)
        self.preview.show(self.model.merge, len(self.model.branches), self.model.active)
        if changes is None:
            self.grid.refresh()
            return
        if changes.statuses:
            if self.grid.branch_filter is not BranchFilter.ALL:
                self.grid.refilter()
            self.sync_bindings()
        self.grid.branches_changed(changes.branches)

    def on_branch_grid_cursor_moved(self, message: BranchGrid.CursorMoved) -> None:
        self.sync_bindings()

    def sync_bindings(self) -> None:
        """Refresh the footer if what the keys can do changed (redrawing it is not free)."""
        view = self.grid.current
        state = (
            view is not None and view.can_retry,
            view is not None and view.status.cancellable,
            view is not None,
            self.model.active > 0,
            self.model.any_retryable,
        )
        if state != self._binding_state:
            self._binding_state = state
            self.refresh_bindings()
