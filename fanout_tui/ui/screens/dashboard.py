"""The main screen: header, branch panels, merged-result preview and the key footer.

The screen owns the keys that act on branches: they become engine commands (retry,
cancel, ...); it never starts a process itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer

from fanout_tui.engine import BranchStatus, EngineControl
from fanout_tui.ui import key_feedback
from fanout_tui.ui.branch_filter import BranchFilter
from fanout_tui.ui.frames import Frame, FrameFeed
from fanout_tui.ui.model import BranchView, Changes
from fanout_tui.ui.screens.help_screen import HelpScreen
from fanout_tui.ui.screens.log_screen import LogScreen
from fanout_tui.ui.screens.merged_screen import MergedScreen
from fanout_tui.ui.screens.resources_screen import ResourcesScreen
from fanout_tui.ui.widgets.branch_grid import BranchGrid
from fanout_tui.ui.widgets.merge_preview import MergePreview
from fanout_tui.ui.widgets.resource_strip import ResourceStrip
from fanout_tui.ui.widgets.run_header import RunHeader

DASHBOARD_BINDINGS: list[BindingType] = [
    Binding("r", "retry_branch", "Retry", id="fanout.retry"),
    Binding("R", "retry_failed", "Retry failed", id="fanout.retry-failed"),
    Binding("c", "cancel_branch", "Cancel", id="fanout.cancel"),
    Binding("C", "cancel_all", "Cancel all", id="fanout.cancel-all"),
    Binding("enter", "show_log", "Log", id="fanout.log"),
    Binding("m", "show_merged", "Merged", id="fanout.merged"),
    Binding("f", "cycle_filter", "Filter", id="fanout.filter"),
    # Off the footer (at 80 columns every cell counts): the resource strip names the key.
    Binding("u", "show_resources", "Resources", show=False, id="fanout.resources"),
    Binding("escape", "clear_filter", "All branches", show=False, id="fanout.back"),
    Binding("question_mark", "show_help", "Help", key_display="?", id="fanout.help"),
    Binding("q", "app.request_quit", "Quit", id="fanout.quit"),
    # The footer hides r, R, c and C where they cannot act; pressed anyway, they say why
    # (or act, if the engine moved on since the last frame).
    Binding("r", "anyway('retry_branch')", show=False, id="fanout.retry.anyway"),
    Binding("R", "anyway('retry_failed')", show=False, id="fanout.retry-failed.anyway"),
    Binding("c", "anyway('cancel_branch')", show=False, id="fanout.cancel.anyway"),
    Binding("C", "anyway('cancel_all')", show=False, id="fanout.cancel-all.anyway"),
]
"""The dashboard's keys (DESIGN.md); each has an id so it can be remapped."""

PALETTE_HINT_MIN_WIDTH = 90
"""Below this width the footer drops its "^p palette" hint so that every key still shows
(``?`` help names ctrl+p)."""
_BRANCH_ACTIONS = frozenset({"retry_branch", "cancel_branch"})
_RUN_ACTIONS = frozenset({"retry_failed", "cancel_all"})
"""Actions a key may ask for where the footer hides it (see ``action_anyway``)."""


class DashboardScreen(Screen[None]):
    """Every branch at a glance; keys act on the focused branch or on all of them."""

    BINDINGS: ClassVar[list[BindingType]] = DASHBOARD_BINDINGS

    def __init__(self, engine: EngineControl, feed: FrameFeed, now: Callable[[], float]) -> None:
        """Show ``feed``'s run and send the operator's commands to ``engine``.

        Args:
            engine: Where retries and cancels go.
            feed: The frames this screen redraws from (and draws one of to catch up).
            now: The clock that running branches' elapsed times are read from.
        """
        super().__init__(id="dashboard")
        self.engine = engine
        self.feed = feed
        self.model = feed.model
        self.grid = BranchGrid(self.model.branches, now, id="branches")
        self.header = RunHeader(id="run-header")
        self.preview = MergePreview(id="merge-preview")
        self.strip = ResourceStrip(id="resource-strip")
        self._now = now
        self.stopping = False
        """Whether the operator is quitting (the app sets it; keys say so)."""
        self.read_only = False
        """Whether this dashboard only watches (an attached viewer's ``--read-only``)."""
        self._binding_state: tuple[bool, ...] = ()

    def compose(self) -> ComposeResult:
        yield self.header
        self.strip.display = bool(self.model.resources)  # only plans with resources
        yield self.strip
        yield self.grid
        yield self.preview
        yield Footer(compact=True)

    def on_mount(self) -> None:
        self.grid.focus()
        self.feed.subscribe(self._on_frame)
        # The first frame may have been drawn before this screen was mounted.
        self.show(None, self.feed.elapsed())

    def on_unmount(self) -> None:
        self.feed.unsubscribe(self._on_frame)

    def on_resize(self, event: events.Resize) -> None:
        footer = self.query_one(Footer)
        wide = event.size.width >= PALETTE_HINT_MIN_WIDTH
        if footer.show_command_palette != wide:
            footer.show_command_palette = wide
            footer.refresh(recompose=True)

    def _on_frame(self, frame: Frame) -> None:
        if not (frame.shown or frame.tick or self._counting_down()):
            return
        self.show(frame.shown, frame.elapsed)
        if frame.tick and self.grid.any_visible_running():
            self.grid.refresh()

    def _counting_down(self) -> bool:
        """Whether the strip shows a pause whose countdown moves between frames."""
        return self.strip.display and bool(self.model.resources.paused(self._now()))

    def show(self, changes: Changes | None, elapsed: float) -> None:
        """Redraw what ``changes`` touched (everything when ``changes`` is None)."""
        self.header.show(self.model, elapsed, self.grid.branch_filter)
        if self.strip.display:
            self.strip.show(self.model.resources, self._now())
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

    # -- what keys may do now --------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        view = self.grid.current
        # The footer offers only what can act now (False hides a key; at 80 columns
        # every cell of the footer counts).
        if action == "retry_branch":
            return view is not None and view.can_retry
        if action == "cancel_branch":
            return view is not None and view.status.cancellable
        if action == "show_log":
            return view is not None
        if action == "retry_failed":
            return self.model.any_retryable
        if action == "cancel_all":
            return self.model.active > 0
        return True

    # -- actions ---------------------------------------------------------------------

    def _branch(self, branch_id: str | None) -> BranchView | None:
        if branch_id is None:
            return self.grid.current
        return self.model.by_id.get(branch_id)

    def _refused(self) -> bool:
        """Whether commands are refused here (read-only); says so when they are."""
        if self.read_only:
            self.notify("Read-only: this viewer sends no commands to the run.")
        return self.read_only

    def action_retry_branch(self, branch_id: str | None = None) -> None:
        """Retry the focused branch (or ``branch_id``)."""
        if self._refused():
            return
        view = self._branch(branch_id)
        if view is not None and not self.engine.retry(view.id):
            self._catch_up()
            self.notify(key_feedback.why_no_retry(view))

    def action_cancel_branch(self, branch_id: str | None = None) -> None:
        """Cancel the focused branch (or ``branch_id``)."""
        if self._refused():
            return
        view = self._branch(branch_id)
        if view is None:
            return
        if not self.engine.cancel(view.id):
            self._catch_up()
            self.notify(key_feedback.why_no_cancel(view, stopping=self.stopping))
        elif view.status is BranchStatus.RUNNING:  # it shows running until its group is gone
            self.notify(key_feedback.cancelling(view))

    def action_retry_failed(self) -> None:
        """Retry every failed, timed-out or cancelled branch."""
        if self._refused():
            return
        count = self.engine.retry_failed()
        if not count:
            self._catch_up()
        self.notify(key_feedback.retry_failed_reply(count, stopping=self.stopping))

    def action_cancel_all(self) -> None:
        """Cancel every active branch."""
        if self._refused():
            return
        count = self.engine.cancel_all()
        if not count:
            self._catch_up()
        self.notify(key_feedback.cancel_all_reply(count, active=self.model.active))

    def action_anyway(self, action: str) -> None:
        """A key the footer hides because it cannot act (``r`` on a running branch).

        The engine may have moved on since the last frame: with its news folded in, the
        key acts if it can now, and otherwise says why it does nothing.
        """
        if self._refused():
            return
        self._catch_up()
        if action in _BRANCH_ACTIONS:
            view = self.grid.current
            if view is None:
                self.notify(key_feedback.no_branch_listed(self.grid.branch_filter))
            elif self.check_action(action, ()):
                getattr(self, f"action_{action}")()
            elif action == "retry_branch":
                self.notify(key_feedback.why_no_retry(view))
            else:
                self.notify(key_feedback.why_no_cancel(view, stopping=self.stopping))
        elif action in _RUN_ACTIONS:
            getattr(self, f"action_{action}")()

    def _catch_up(self) -> None:
        """Fold the engine's buffered events in now, so that what a key says reflects the
        branch as it is, not as the last frame drew it (``r r r`` faster than a frame)."""
        self.feed.draw()

    def action_show_log(self, branch_id: str | None = None) -> None:
        """Open the full log of the focused branch (or ``branch_id``)."""
        view = self._branch(branch_id)
        if view is not None:
            self.app.push_screen(LogScreen(view, self.feed))

    def action_show_merged(self) -> None:
        """Open the merged result."""
        self.open_merged()

    def open_merged(self) -> MergedScreen:
        """Open the merged result and return its screen."""
        screen = MergedScreen(self.feed)
        self.app.push_screen(screen)
        return screen

    def action_cycle_filter(self) -> None:
        """List all branches, then the failed ones, then the running ones."""
        self.grid.branch_filter = self.grid.branch_filter.next()
        self.show(None, self.feed.elapsed())

    def action_clear_filter(self) -> None:
        """List every branch again."""
        self.grid.branch_filter = BranchFilter.ALL
        self.show(None, self.feed.elapsed())

    def action_show_resources(self) -> None:
        """Open the shared resources in full."""
        self.app.push_screen(ResourcesScreen(self.feed, self._now))

    def action_show_help(self) -> None:
        """Open the help screen."""
        self.app.push_screen(HelpScreen())
