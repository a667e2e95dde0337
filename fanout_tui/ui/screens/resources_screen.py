"""The shared resources in full: who holds them, who waits, window use, tokens left, pauses.

Opened with ``u`` from the dashboard; it follows the run's frames, and a pause counts down
on the app's clock between the engine's snapshots.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import ClassVar

from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.content import Content
from textual.screen import Screen
from textual.widgets import Footer, Static

from fanout_tui.engine import ResourceView
from fanout_tui.spec import ResourceLimit
from fanout_tui.ui.frames import Frame, FrameFeed
from fanout_tui.ui.resources import (
    ResourceBoard,
    held_words,
    pause_words,
    token_words,
    window_words,
)

NO_RESOURCES = "This spec declares no shared resources (see resources: in the spec)."


def declared_words(limit: ResourceLimit) -> str:
    """What the spec declares: ``declared: concurrency 4 · rate 30/min + 5 burst · ...``."""
    parts = []
    if limit.concurrency is not None:
        parts.append(f"concurrency {limit.concurrency}")
    if limit.rate is not None:
        parts.append(f"rate {limit.rate}" + (f" + {limit.burst} burst" if limit.burst else ""))
    if limit.tokens is not None:
        parts.append(f"tokens {limit.tokens}")
    if limit.adaptive:
        parts.append("adaptive")
    return "declared: " + " · ".join(parts)


def resource_block(view: ResourceView, limit: ResourceLimit | None, now: float) -> Content:
    """One resource: its name and state, then its numbers, then what the spec declares."""
    paused = pause_words(view, now)
    state = (paused, "bold $text-warning") if paused else ("open", "$text-success")
    head = Content.assemble((view.name, "bold"), "  ", state)
    numbers = [held_words(view), f"{view.waiting} waiting"]
    lines = [head, Content("  " + " · ".join(numbers))]
    usage = [words for words in (window_words(view), token_words(view)) if words]
    if usage:
        lines.append(Content("  " + " · ".join(usage)))
    if limit is not None:
        lines.append(Content.styled("  " + declared_words(limit), "$text-muted"))
    return Content("\n").join(lines)


def resources_content(
    board: ResourceBoard, limits: Mapping[str, ResourceLimit], now: float
) -> Content:
    """Every resource of ``board``, a blank line between them."""
    if not board:
        return Content.styled(NO_RESOURCES, "$text-muted")
    blocks = [resource_block(view, limits.get(name), now) for name, view in board.views.items()]
    return Content("\n\n").join(blocks)


class ResourcesScreen(Screen[None]):
    """Every shared resource in full; ``escape`` (or ``u`` again) goes back."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,u", "back", "Back", id="resources.back"),
    ]

    def __init__(self, feed: FrameFeed, now: Callable[[], float]) -> None:
        """Show ``feed``'s resources, counting pauses down on ``now``."""
        super().__init__(id="resources-screen")
        self._feed = feed
        self._now = now
        self._shown: Content | None = None

    def compose(self) -> ComposeResult:
        yield Static("Shared resources", id="resources-title")
        with VerticalScroll(id="resources-scroll"):
            yield Static(self._content(), id="resources-text")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()
        self._feed.subscribe(self._on_frame)

    def on_unmount(self) -> None:
        self._feed.unsubscribe(self._on_frame)

    def _content(self) -> Content:
        board = self._feed.model.resources
        content = resources_content(board, self._feed.model.plan.resources, self._now())
        self._shown = content
        return content

    def _on_frame(self, frame: Frame) -> None:
        previous = self._shown
        content = self._content()
        if content != previous:
            self.query_one("#resources-text", Static).update(content)

    def palette_commands(self) -> Iterable[SystemCommand]:
        """This screen's keys, for the command palette."""
        yield SystemCommand("Back", "escape · back to the dashboard", self.action_back)

    def action_back(self) -> None:
        """Back to the dashboard."""
        self.dismiss()
