"""The dashboard app: runs the engine on its own event loop and draws its events.

The engine's listener only appends events to a buffer; a timer drains the buffer about
thirty times a second and redraws what changed in one batch. Keys become engine commands
(retry, cancel, ...); the app itself never starts a process.
"""

from __future__ import annotations

import asyncio
import gc
import signal
from collections.abc import Iterable, Sequence
from contextlib import suppress
from math import ceil
from pathlib import Path
from time import perf_counter
from typing import ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.driver import Driver
from textual.screen import Screen
from textual.worker import Worker, WorkerFailed, WorkerState

from fanout_tui.engine import BranchStatus, Clock, EngineControl, Event, RunOutcome, SystemClock
from fanout_tui.ui import key_feedback
from fanout_tui.ui.commands import BranchCommands, PaletteCommand, branch_entries, key_entries
from fanout_tui.ui.model import BranchFilter, BranchView, Changes, RunModel
from fanout_tui.ui.screens.confirm_quit import ConfirmQuitScreen
from fanout_tui.ui.screens.dashboard import DashboardScreen
from fanout_tui.ui.screens.help_screen import HelpScreen
from fanout_tui.ui.screens.log_screen import LogScreen
from fanout_tui.ui.screens.merged_screen import MergedScreen
from fanout_tui.ui.terminal import dashboard_driver
from fanout_tui.ui.theming import discover_themes, status_colour_defaults, theme_dirs
from fanout_tui.ui.widgets.branch_grid import BranchGrid

DEFAULT_THEME = "fanout-dark"
FRAME_SECONDS = 1 / 30
"""The dashboard redraws at most this often."""
LOG_RELOAD_FRAMES = 30
"""An open log screen reloads its files at most once per this many frames."""
LOG_RELOAD_SHARE = 0.1
"""A reload that takes long (a log of hundreds of thousands of lines) waits until it has
cost at most this share of the time, so that keys stay responsive."""
OUTPUT_ROWS_PER_FRAME = 25
"""Output alone redraws panels only after one frame per this many panels it touched (at
most :data:`MAX_OUTPUT_FRAMES`): one chatty branch shows every frame, two hundred show
about four times a second, and the frames in between are free for keys."""
MAX_OUTPUT_FRAMES = 8
GC_THRESHOLDS = (10_000, 50, 100)
"""Garbage collector thresholds while the dashboard runs (Python's default: 700, 10, 10)."""
QUIT_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)
"""Signals that end the run as cleanly as ``q`` does."""
_BRANCH_ACTIONS = frozenset({"retry_branch", "cancel_branch"})
_RUN_ACTIONS = frozenset({"retry_failed", "cancel_all"})
"""Actions a key may ask for where the footer hides it (see ``FanoutApp.action_anyway``)."""


class FanoutApp(App[RunOutcome]):
    """The fanout-tui dashboard."""

    CSS_PATH = "app.tcss"
    TITLE = "fanout-tui"
    COMMANDS = App.COMMANDS | {BranchCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        # Where a terminal user expects ctrl+c to stop things, it asks like q does.
        Binding("ctrl+c", "request_quit", "Quit", show=False, id="fanout.interrupt"),
    ]

    def __init__(
        self,
        engine: EngineControl,
        *,
        theme: str | None = None,
        clock: Clock | None = None,
        theme_folders: tuple[Path, ...] | None = None,
        notices: Sequence[str] = (),
    ) -> None:
        super().__init__()
        self.engine = engine
        self._notices = tuple(notices)
        self.model = RunModel(engine.plan)
        self.clock: Clock = clock or SystemClock()
        self._pending: list[Event] = []
        engine.add_listener(self._pending.append)
        self._started_at = self.clock.now()
        self._settled_at: float | None = None
        self._last_second = -1
        self._frames = 0
        self._unshown_output: set[str] = set()
        self._output_shown_at = 0
        self._log_stale = False
        self._log_reloaded_at = 0
        self._log_reload_frames = LOG_RELOAD_FRAMES
        self._outcome: RunOutcome | None = None
        self._engine_worker: Worker[None] | None = None
        self._quitting = False
        self._killing = False
        self.grid = BranchGrid(self.model.branches, self.clock.now, id="branches")
        self._notes = self._load_themes(theme, theme_folders or theme_dirs())

    # -- themes ----------------------------------------------------------------------

    def _load_themes(self, requested: str | None, folders: tuple[Path, ...]) -> list[str]:
        catalogue = discover_themes(folders)
        for theme in catalogue.themes:
            self.register_theme(theme)
        notes = list(catalogue.problems)
        name = requested or DEFAULT_THEME
        if name not in self.available_themes:
            notes.append(f"There is no theme {name!r}; using {DEFAULT_THEME}.")
            name = DEFAULT_THEME
        if name not in self.available_themes:
            name = "textual-dark"
        self.theme = name
        return notes

    def get_css_variables(self) -> dict[str, str]:
        """Theme variables, plus status colours derived from the theme where it sets none."""
        variables = super().get_css_variables()
        combined = {**status_colour_defaults(variables), **variables}
        self.theme_variables = combined
        return combined

    # -- life of the app -------------------------------------------------------------

    def get_default_screen(self) -> Screen[None]:
        return DashboardScreen(self.model, self.grid)

    @property
    def dashboard(self) -> DashboardScreen:
        """The main screen."""
        screen = self.screen_stack[0]
        assert isinstance(screen, DashboardScreen)
        return screen

    def on_mount(self) -> None:
        for note in self._notes:
            self.notify(note, title="Theme", severity="warning", timeout=8)
        for notice in self._notices:
            self.notify(notice[:1].upper() + notice[1:] + ".", timeout=12)
        self.set_interval(FRAME_SECONDS, self.draw_frame)
        self.draw_frame()
        if not self.is_headless:
            self._handle_signals(asyncio.get_running_loop())
        # The branches start once the first frame is on the screen: hundreds of busy
        # processes would otherwise leave the operator looking at a blank terminal.
        self.call_after_refresh(self._start_engine)

    def _start_engine(self) -> None:
        self._engine_worker = self.run_worker(
            self._run_engine(), name="engine", exit_on_error=False
        )

    def _handle_signals(self, loop: asyncio.AbstractEventLoop) -> None:
        """SIGTERM, SIGHUP (terminal gone) and a SIGINT from outside quit cleanly too."""
        for signum in QUIT_SIGNALS:
            with suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(signum, self.quit_on_signal)

    def quit_on_signal(self) -> None:
        """Quit as ``q`` does; a second signal while quitting kills what still runs at once."""
        if not self._quitting:
            self.begin_quit()
        elif not self._killing:
            self._killing = True
            self.notify("Killing every process still running (SIGKILL).", timeout=30)
            self.engine.shutdown(interrupted=self.model.active > 0, kill_now=True)

    def get_driver_class(self) -> type[Driver]:
        """Textual's driver for this platform, made safe against a terminal that hangs up."""
        return dashboard_driver(super().get_driver_class())

    def on_unmount(self) -> None:
        if self.is_headless:
            return
        with suppress(RuntimeError):
            loop = asyncio.get_running_loop()
            for signum in QUIT_SIGNALS:
                loop.remove_signal_handler(signum)

    async def _run_engine(self) -> None:
        self._outcome = await self.engine.run(stay_open=True)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker is self._engine_worker and event.state is WorkerState.ERROR:
            error = event.worker.error
            self.notify(f"The engine stopped: {error}", severity="error", timeout=30)

    def elapsed(self) -> float:
        """Seconds since the run started (frozen while every branch has settled)."""
        end = self._settled_at if self._settled_at is not None else self.clock.now()
        return max(0.0, end - self._started_at)

    def draw_frame(self) -> None:
        """Fold buffered events into the model and redraw what changed."""
        if not self.screen_stack:
            return  # the app is closing: a last tick of the frame timer draws nothing
        changes: Changes | None = None
        if self._pending:
            events = self._pending.copy()
            self._pending.clear()
            changes = self.model.apply(events)
        self._frames += 1
        if self.model.active == 0:
            if self._settled_at is None:
                self._settled_at = self.clock.now()
        else:
            self._settled_at = None
        second = int(self.elapsed())
        tick = second != self._last_second
        self._last_second = second
        if changes:
            self._note_changes_for_open_screen(changes)
        if changes or self._unshown_output:
            changes = self._paced(changes or Changes())
        self._reload_open_log()
        if not (changes or tick):
            return
        self.dashboard.show(changes or Changes(), self.elapsed())
        if tick and self.grid.any_visible_running():
            self.grid.refresh()

    def _paced(self, changes: Changes) -> Changes:
        """``changes``, with panels whose only news is output held back while it is due
        (see :data:`OUTPUT_ROWS_PER_FRAME`); anything else shows at once, with them."""
        self._unshown_output |= changes.branches
        wait = min(MAX_OUTPUT_FRAMES, len(self._unshown_output) // OUTPUT_ROWS_PER_FRAME)
        due = self._frames - self._output_shown_at >= wait
        if due or changes.statuses or changes.merge or changes.finished:
            changes.branches, self._unshown_output = self._unshown_output, set()
            self._output_shown_at = self._frames
        else:
            changes.branches = set()
        return changes

    def _note_changes_for_open_screen(self, changes: Changes) -> None:
        screen = self.screen
        if isinstance(screen, MergedScreen) and changes.merge:
            screen.merge_changed(self.model.merge)
        elif isinstance(screen, LogScreen) and screen.view.id in changes.branches:
            self._log_stale = True

    def _reload_open_log(self) -> None:
        """Reload an open log that changed; reading files is not free, so at most once
        per LOG_RELOAD_FRAMES frames, and less often when a reload takes long."""
        screen = self.screen
        if (
            self._log_stale
            and isinstance(screen, LogScreen)
            and self._frames - self._log_reloaded_at >= self._log_reload_frames
        ):
            self._log_stale = False
            self._log_reloaded_at = self._frames
            began = perf_counter()
            screen.branch_changed()
            cost = (perf_counter() - began) / FRAME_SECONDS / LOG_RELOAD_SHARE
            self._log_reload_frames = max(LOG_RELOAD_FRAMES, ceil(cost))

    # -- what keys may do now --------------------------------------------------------

    @property
    def focused_branch(self) -> BranchView | None:
        """The branch the dashboard's cursor is on."""
        return self.grid.current

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        view = self.focused_branch
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
            return self.focused_branch
        return self.model.by_id.get(branch_id)

    def action_retry_branch(self, branch_id: str | None = None) -> None:
        """Retry the focused branch (or ``branch_id``)."""
        view = self._branch(branch_id)
        if view is not None and not self.engine.retry(view.id):
            self._catch_up()
            self.notify(key_feedback.why_no_retry(view))

    def action_cancel_branch(self, branch_id: str | None = None) -> None:
        """Cancel the focused branch (or ``branch_id``)."""
        view = self._branch(branch_id)
        if view is None:
            return
        if not self.engine.cancel(view.id):
            self._catch_up()
            self.notify(key_feedback.why_no_cancel(view, stopping=self._quitting))
        elif view.status is BranchStatus.RUNNING:  # it shows running until its group is gone
            self.notify(key_feedback.cancelling(view))

    def action_retry_failed(self) -> None:
        """Retry every failed, timed-out or cancelled branch."""
        count = self.engine.retry_failed()
        if not count:
            self._catch_up()
        self.notify(key_feedback.retry_failed_reply(count, stopping=self._quitting))

    def action_cancel_all(self) -> None:
        """Cancel every active branch."""
        count = self.engine.cancel_all()
        if not count:
            self._catch_up()
        self.notify(key_feedback.cancel_all_reply(count, active=self.model.active))

    def action_anyway(self, action: str) -> None:
        """A key the footer hides because it cannot act (``r`` on a running branch).

        The engine may have moved on since the last frame: with its news folded in, the
        key acts if it can now, and otherwise says why it does nothing.
        """
        self._catch_up()
        if action in _BRANCH_ACTIONS:
            view = self.focused_branch
            if view is None:
                self.notify(key_feedback.no_branch_listed(self.grid.branch_filter))
            elif self.check_action(action, ()):
                getattr(self, f"action_{action}")()
            elif action == "retry_branch":
                self.notify(key_feedback.why_no_retry(view))
            else:
                self.notify(key_feedback.why_no_cancel(view, stopping=self._quitting))
        elif action in _RUN_ACTIONS:
            getattr(self, f"action_{action}")()

    def _catch_up(self) -> None:
        """Fold the engine's buffered events in now, so that what a key says reflects the
        branch as it is, not as the last frame drew it (``r r r`` faster than a frame)."""
        if self.screen_stack:
            self.draw_frame()

    def action_show_log(self, branch_id: str | None = None) -> None:
        """Open the full log of the focused branch (or ``branch_id``)."""
        view = self._branch(branch_id)
        if view is not None:
            self._log_stale = False
            self._log_reloaded_at = self._frames
            self.push_screen(LogScreen(view))

    def action_show_merged(self) -> None:
        """Open the merged result."""
        self.push_screen(
            MergedScreen(self.model.merge, len(self.model.branches), self.model.plan.output)
        )

    def action_cycle_filter(self) -> None:
        """List all branches, then the failed ones, then the running ones."""
        self.grid.branch_filter = self.grid.branch_filter.next()
        self.dashboard.show(None, self.elapsed())

    def action_clear_filter(self) -> None:
        """List every branch again."""
        self.grid.branch_filter = BranchFilter.ALL
        self.dashboard.show(None, self.elapsed())

    def action_show_help(self) -> None:
        """Open the help screen."""
        self.push_screen(HelpScreen())

    def action_request_quit(self) -> None:
        """Quit, asking first while branches are still active; asked again while quitting,
        kill what still runs at once."""
        if self._quitting:
            self.quit_on_signal()
            return
        if isinstance(self.screen, ConfirmQuitScreen):
            return
        self.draw_frame()
        if self.model.active:
            self.push_screen(ConfirmQuitScreen(self.model.active), self._quit_answered)
        else:
            self.begin_quit()

    def _quit_answered(self, quit_now: bool | None) -> None:
        if quit_now:
            self.begin_quit()

    async def action_quit(self) -> None:
        """Textual's own quit (ctrl+q) asks first too, as ``q`` does."""
        self.action_request_quit()

    def begin_quit(self) -> None:
        """Tell the engine to stop, wait until its processes are gone, then exit."""
        if self._quitting:
            return
        self._quitting = True
        self.draw_frame()
        # Quitting interrupts the run only if a branch still had work to do; with every
        # branch settled the outcome stands as it is (exit 1 when blocked, as headless).
        if self.model.active:
            self.notify("Stopping every branch…", timeout=30)
        self.engine.shutdown(interrupted=self.model.active > 0)
        self.run_worker(self._exit_when_stopped(), name="quit")

    async def _exit_when_stopped(self) -> None:
        if self._engine_worker is not None:
            # A failed engine was already reported; exit with the outcome as it stands.
            with suppress(WorkerFailed):
                await self._engine_worker.wait()
        self.exit(self._outcome or self.engine.outcome())

    # -- the command palette ---------------------------------------------------------

    def get_system_commands(self, screen: Screen[object]) -> Iterable[SystemCommand]:
        """Textual's palette entries, then every key of the dashboard (and of ``screen``)."""
        for command in super().get_system_commands(screen):
            if command.callback != self.action_quit:  # the dashboard's "Quit" asks first
                yield command
        yield from key_entries(self, screen)

    def branch_commands(self, screen: Screen[object]) -> Iterable[PaletteCommand]:
        """Per-branch palette entries that can act now (see :func:`branch_entries`)."""
        return branch_entries(self, screen)


def create_app(
    engine: EngineControl,
    *,
    theme: str | None = None,
    clock: Clock | None = None,
    theme_folders: tuple[Path, ...] | None = None,
    notices: Sequence[str] = (),
) -> FanoutApp:
    """Build the dashboard for ``engine`` (the CLI and the tests both call this).

    Args:
        engine: The engine to run and command.
        theme: A shipped, user or built-in theme name (unknown names fall back, with a note).
        clock: Where elapsed times are read (the engine's clock; tests inject a fixed one).
        theme_folders: Where theme files are looked for (default: shipped, then the user's).
        notices: What the operator should know from before the run (what a resume
            did), as ``fanout-tui:`` messages word it; notifications when it opens.
    """
    return FanoutApp(engine, theme=theme, clock=clock, theme_folders=theme_folders, notices=notices)


def run_dashboard(
    engine: EngineControl, *, theme: str | None = None, notices: Sequence[str] = ()
) -> RunOutcome:
    """Run the dashboard until the operator quits; return the run's outcome.

    The garbage collector runs less often meanwhile: with hundreds of branches printing,
    the dashboard allocates so fast that its default pace made pauses of 50 ms and more
    land on keypresses (worst keypress latency under load: about 110 ms, 60 ms with
    this; ``tests/benchmarks/bench_dashboard.py``).
    """
    app = create_app(engine, theme=theme, notices=notices)
    thresholds = gc.get_threshold()
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        outcome = app.run()
    finally:
        gc.set_threshold(*thresholds)
    return outcome if outcome is not None else engine.outcome()
