"""Command palette entries: single branches ("Retry <branch>", "Go to <branch>", logs) and
the keys of the screen the palette was opened on."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from textual.app import SystemCommand
from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.screen import Screen


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
