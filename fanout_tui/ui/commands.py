"""Command palette entries for single branches: "Retry <branch>", "Cancel <branch>", logs."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from textual.command import DiscoveryHit, Hit, Hits, Provider


@dataclass(frozen=True, slots=True)
class PaletteCommand:
    """One palette entry."""

    title: str
    help: str
    run: Callable[[], object]


@runtime_checkable
class PaletteSource(Protocol):
    """What the palette asks the app for: the branch commands that apply right now."""

    def branch_commands(self) -> Iterable[PaletteCommand]:
        """Every per-branch command that can act now."""
        ...


class BranchCommands(Provider):
    """Retry, cancel or open the log of one branch, by name."""

    def _commands(self) -> Iterable[PaletteCommand]:
        source = self.app
        if isinstance(source, PaletteSource):
            return source.branch_commands()
        return ()

    async def discover(self) -> Hits:
        for command in self._commands():
            yield DiscoveryHit(command.title, command.run, help=command.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for command in self._commands():
            score = matcher.match(command.title)
            if score > 0:
                yield Hit(score, matcher.highlight(command.title), command.run, help=command.help)
