"""Command palette entries: every key of the dashboard and of the screen the palette was
opened on, and single branches ("Retry <branch>", "Go to <branch>", logs)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import Protocol, runtime_checkable

from textual.app import SystemCommand
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.screen import Screen

from fanout_tui.ui.badges import status_phrase
from fanout_tui.ui.branch_filter import BranchFilter
from fanout_tui.ui.screens.dashboard import DashboardScreen
from fanout_tui.ui.screens.merged_screen import MergedScreen
from fanout_tui.ui.screens.resources_screen import ResourcesScreen


@dataclass(frozen=True, slots=True)
class PaletteCommand:
    """One palette entry."""

    title: str
    help: str
    run: Callable[[], object]
    discover: bool = True
    """Whether it is listed before anything is typed (else only found by a search)."""


@runtime_checkable
class PaletteSource(Protocol):
    """What the palette asks the app for: the branch commands that apply right now."""

    def branch_commands(self, screen: Screen[object]) -> Iterable[PaletteCommand]:
        """Every per-branch command that can act now, the palette open over ``screen``."""
        ...


@runtime_checkable
class ScreenCommands(Protocol):
    """A screen whose own keys (``/`` in the log, ``s`` in the merged result) the palette
    offers while it is open over that screen."""

    def palette_commands(self) -> Iterable[SystemCommand]:
        """The screen's keys as palette entries."""
        ...


class BranchCommands(Provider):
    """Retry, cancel or open the log of one branch, by name."""

    def _commands(self) -> Iterable[PaletteCommand]:
        source = self.app
        if isinstance(source, PaletteSource):
            return source.branch_commands(self.screen)
        return ()

    async def discover(self) -> Hits:
        for command in self._commands():
            if command.discover:
                yield DiscoveryHit(command.title, command.run, help=command.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command in self._commands():
            score = matcher.match(command.title)
            if score > 0:
                yield Hit(score, matcher.highlight(command.title), command.run, help=command.help)


def key_entries(dashboard: DashboardScreen, screen: Screen[object]) -> Iterable[SystemCommand]:
    """Every key of the dashboard (and of ``screen``) as a palette entry, the quit key
    aside (it is the app's); the help line starts with the key."""
    if isinstance(screen, ScreenCommands):
        yield from screen.palette_commands()
    yield SystemCommand(
        "Retry all failed",
        "R · retry every failed, timed-out or cancelled branch",
        dashboard.action_retry_failed,
    )
    yield SystemCommand(
        "Cancel all", "C · cancel every branch still active", dashboard.action_cancel_all
    )
    yield SystemCommand(
        "Merged result", "m · show the merged result (s saves it)", dashboard.action_show_merged
    )
    if not isinstance(screen, MergedScreen):
        yield SystemCommand(
            "Save the merged result",
            "s on the merged result · to the spec's output, or a path you type",
            partial(save_merged, dashboard),
        )
    yield SystemCommand(
        "Filter branches", "f · list all / failed / running", dashboard.action_cycle_filter
    )
    if screen is dashboard and dashboard.grid.branch_filter is not BranchFilter.ALL:
        yield SystemCommand(
            "Show every branch", "escape · list every branch again", dashboard.action_clear_filter
        )
    if not isinstance(screen, ResourcesScreen):
        yield SystemCommand(
            "Resources",
            "u · held, waiting, window use, tokens left and pauses of each shared resource",
            dashboard.action_show_resources,
        )
    yield SystemCommand("Help", "? · show every key", dashboard.action_show_help)


def branch_entries(dashboard: DashboardScreen, screen: Screen[object]) -> Iterable[PaletteCommand]:
    """Per-branch palette entries that can act now (going to a branch: on the dashboard
    only, where its panel is)."""
    for view in dashboard.model.branches:
        label = view.label
        now = f"{view.id} {status_phrase(view.status)}"
        if screen is dashboard:
            yield PaletteCommand(
                f"Go to {label}",
                f"arrows or h j k l · {now}",
                partial(go_to, dashboard, view.id),
                discover=False,  # one per branch: found by typing, not listed
            )
        if view.can_retry:
            yield PaletteCommand(
                f"Retry {label}", f"r · {now}", partial(dashboard.action_retry_branch, view.id)
            )
        if view.status.cancellable:
            yield PaletteCommand(
                f"Cancel {label}", f"c · {now}", partial(dashboard.action_cancel_branch, view.id)
            )
        yield PaletteCommand(
            f"Log of {label}",
            "enter · every attempt's stdout and stderr",
            partial(dashboard.action_show_log, view.id),
        )


def save_merged(dashboard: DashboardScreen) -> None:
    """Open the merged result and save it (the palette's "Save the merged result")."""
    dashboard.open_merged().action_save()


def go_to(dashboard: DashboardScreen, branch_id: str) -> None:
    """Put the dashboard's cursor on ``branch_id`` (listing every branch if the filter
    hides it)."""
    if not dashboard.grid.select(branch_id):
        dashboard.action_clear_filter()
        dashboard.grid.select(branch_id)
