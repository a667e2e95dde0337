"""The dashboard app: runs the engine on its own event loop and draws its events.

The engine's listener only appends events to a buffer; a timer draws a frame about thirty
times a second (:mod:`fanout_tui.ui.frames`), and the screens redraw what it changed.
The screens own their keys; the app wires them up, asks before quitting and ends the run.
It never starts a process.
"""

from __future__ import annotations

import asyncio
import gc
import signal
from collections.abc import Iterable, Sequence
from contextlib import suppress
from pathlib import Path
from typing import ClassVar

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.driver import Driver
from textual.screen import Screen
from textual.worker import Worker, WorkerFailed, WorkerState

from fanout_tui.engine import Clock, EngineControl, RunOutcome, SystemClock
from fanout_tui.ui.commands import BranchCommands, PaletteCommand, branch_entries, key_entries
from fanout_tui.ui.frames import FRAME_SECONDS, FrameFeed
from fanout_tui.ui.model import RunModel
from fanout_tui.ui.screens.confirm_quit import ConfirmQuitScreen
from fanout_tui.ui.screens.dashboard import DashboardScreen
from fanout_tui.ui.terminal import dashboard_driver
from fanout_tui.ui.theming import discover_themes, status_colour_defaults, theme_dirs

DEFAULT_THEME = "fanout-dark"
GC_THRESHOLDS = (10_000, 50, 100)
"""Garbage collector thresholds while the dashboard runs (Python's default: 700, 10, 10)."""
QUIT_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)
"""Signals that end the run as cleanly as ``q`` does."""


class FanoutApp(App[RunOutcome]):
    """The fanout-tui dashboard."""

    CSS_PATH = "app.tcss"
    TITLE = "fanout-tui"
    COMMANDS = App.COMMANDS | {BranchCommands}
    BINDINGS: ClassVar[list[BindingType]] = [
        # Where a terminal user expects ctrl+c to stop things, it asks like q does.
        Binding("ctrl+c", "request_quit", "Quit", show=False, id="fanout.interrupt"),
        # An attached viewer's q only detaches; stopping the run it watches is this key.
        Binding("Q", "stop_run", "Stop the run", show=False, id="fanout.stop-run"),
    ]

    def __init__(
        self,
        engine: EngineControl,
        *,
        theme: str | None = None,
        clock: Clock | None = None,
        theme_folders: tuple[Path, ...] | None = None,
        notices: Sequence[str] = (),
        attached: bool = False,
        read_only: bool = False,
    ) -> None:
        super().__init__()
        self.engine = engine
        self.attached = attached
        """Whether the run is another process's: quitting only detaches from it."""
        self._notices = tuple(notices)
        clock = clock or SystemClock()
        self._frames = FrameFeed(RunModel(engine.plan), clock)
        engine.add_listener(self._frames.add)
        self._dashboard = DashboardScreen(engine, self._frames, clock.now)
        self._dashboard.read_only = read_only
        self._outcome: RunOutcome | None = None
        self._engine_worker: Worker[None] | None = None
        self._asking = False
        self._quitting = False
        self._killing = False
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
        return self._dashboard

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
            self.engine.shutdown(interrupted=self._frames.model.active > 0, kill_now=True)

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

    def draw_frame(self) -> None:
        """Fold buffered events into the model and let the screens redraw what changed."""
        if self.screen_stack:  # else the app is closing: a last tick draws nothing
            self._frames.draw()

    def action_request_quit(self) -> None:
        """Quit, asking first while branches are still active; asked again while quitting,
        kill what still runs at once."""
        if self._quitting:
            self.quit_on_signal()
            return
        if self._asking:
            return
        if self.attached:
            self.begin_quit()
            return
        self.draw_frame()
        active = self._frames.model.active
        if active:
            self._asking = True
            self.push_screen(ConfirmQuitScreen(active), self._quit_answered)
        else:
            self.begin_quit()

    def _quit_answered(self, quit_now: bool | None) -> None:
        self._asking = False
        if quit_now:
            self.begin_quit()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """``Q`` (stop the run) acts only in a viewer attached to a run that takes commands."""
        if action == "stop_run":
            return self.attached and not self._dashboard.read_only
        return True

    def action_stop_run(self) -> None:
        """Ask first, then tell the attached run itself to stop (as SIGTERM would)."""
        if self._asking:
            return
        self._asking = True
        self.push_screen(ConfirmQuitScreen(self._frames.model.active), self._stop_answered)

    def _stop_answered(self, stop: bool | None) -> None:
        self._asking = False
        if stop:
            self.engine.shutdown(interrupted=True)
            self.notify("Asked the run to stop every branch.", timeout=10)

    async def action_quit(self) -> None:
        """Textual's own quit (ctrl+q) asks first too, as ``q`` does."""
        self.action_request_quit()

    def begin_quit(self) -> None:
        """Tell the engine to stop, wait until its processes are gone, then exit."""
        if self._quitting:
            return
        self._quitting = True
        if self.attached:  # detach: the run goes on without this viewer
            self.exit(self.engine.outcome())
            return
        self._dashboard.stopping = True
        self.draw_frame()
        # Quitting interrupts the run only if a branch still had work to do; with every
        # branch settled the outcome stands as it is (exit 1 when blocked, as headless).
        active = self._frames.model.active
        if active:
            self.notify("Stopping every branch…", timeout=30)
        self.engine.shutdown(interrupted=active > 0)
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
        yield from key_entries(self._dashboard, screen)
        yield SystemCommand(
            "Quit", "q · quit (asks first while branches run)", self.action_request_quit
        )

    def branch_commands(self, screen: Screen[object]) -> Iterable[PaletteCommand]:
        """Per-branch palette entries that can act now (see :func:`branch_entries`)."""
        return branch_entries(self._dashboard, screen)


def create_app(
    engine: EngineControl,
    *,
    theme: str | None = None,
    clock: Clock | None = None,
    theme_folders: tuple[Path, ...] | None = None,
    notices: Sequence[str] = (),
    attached: bool = False,
    read_only: bool = False,
) -> FanoutApp:
    """Build the dashboard for ``engine`` (the CLI and the tests both call this).

    Args:
        engine: The engine to run and command.
        theme: A shipped, user or built-in theme name (unknown names fall back, with a note).
        clock: Where elapsed times are read (the engine's clock; tests inject a fixed one).
        theme_folders: Where theme files are looked for (default: shipped, then the user's).
        notices: What the operator should know from before the run (what a resume
            did), as ``fanout-tui:`` messages word it; notifications when it opens.
        attached: The run is another process's (``fanout-tui attach``): ``q`` detaches
            and never stops it; ``Q`` stops it, after asking.
        read_only: Refuse every command with a notification (only watch).
    """
    return FanoutApp(
        engine,
        theme=theme,
        clock=clock,
        theme_folders=theme_folders,
        notices=notices,
        attached=attached,
        read_only=read_only,
    )


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
