"""One branch's full log: every attempt's stdout and stderr, the result and the reason."""

from __future__ import annotations

from collections.abc import Iterable
from functools import partial
from typing import ClassVar

from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Footer, Input, Static

from fanout_tui.ui.badges import GLYPHS, WORDS
from fanout_tui.ui.frames import Frame, FrameFeed, LogReloadPacer
from fanout_tui.ui.log_document import branch_log
from fanout_tui.ui.model import BranchView
from fanout_tui.ui.widgets.log_view import LogView


class LogScreen(Screen[None]):
    """Scroll through a branch's log; ``/`` searches, ``n`` / ``N`` go to the next hit."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="log.back"),
        # A priority binding runs before the keys queued behind it are handed on, so text
        # typed or pasted right after the slash lands in the search box.
        Binding("slash", "start_search", "Search", key_display="/", id="log.search", priority=True),
        Binding("n", "next_hit(1)", "Next", id="log.next"),
        Binding("N", "next_hit(-1)", "Previous", id="log.previous"),
    ]

    def __init__(self, view: BranchView, feed: FrameFeed) -> None:
        """Show ``view``'s log, reloading it as ``feed``'s frames change the branch."""
        super().__init__(id="log-screen")
        self.view = view
        self._feed = feed
        self._reloads = LogReloadPacer(opened_at=feed.number)

    def compose(self) -> ComposeResult:
        yield Static(self._title(), id="log-title")
        yield LogView(branch_log(self.view), id="log-view")
        yield Input(placeholder="search the log — enter finds, escape cancels", id="log-search")
        yield Static("", id="log-status")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one(Input).display = False
        self.query_one(LogView).focus()
        self._feed.subscribe(self._on_frame)
        if self._feed.number != self._reloads.opened_at:
            self._reloads.changed()  # frames were drawn before this screen followed them

    def on_unmount(self) -> None:
        self._feed.unsubscribe(self._on_frame)

    def _on_frame(self, frame: Frame) -> None:
        if self.view.id in frame.news.branches:
            self._reloads.changed()
        self._reloads.follow(frame, self.branch_changed)

    def palette_commands(self) -> Iterable[SystemCommand]:
        """This screen's keys, for the command palette."""
        yield SystemCommand(
            "Search the log", "/ · find text in every attempt", self.action_start_search
        )
        next_hit = partial(self.action_next_hit, 1)
        yield SystemCommand("Next match", "n · the next hit of the search", next_hit)
        previous_hit = partial(self.action_next_hit, -1)
        yield SystemCommand("Previous match", "N · the previous hit", previous_hit)
        yield SystemCommand("Back", "escape · back to the dashboard", self.action_back)

    def _title(self) -> str:
        view = self.view
        name = view.id if view.label == view.id else f"{view.label} ({view.id})"
        return f"{GLYPHS[view.status]} {name} — {WORDS[view.status]} · full log"

    def branch_changed(self) -> None:
        """The branch printed or moved on: reload the log (frames pace the calls)."""
        self.query_one("#log-title", Static).update(self._title())
        self.query_one(LogView).set_lines(branch_log(self.view))
        self._show_status()

    def action_back(self) -> None:
        """Close the log (or the search box, if it is open)."""
        search = self.query_one(Input)
        if search.display:
            search.display = False
            self.query_one(LogView).focus()
            return
        self.dismiss()

    def action_start_search(self) -> None:
        """Open the search box."""
        search = self.query_one(Input)
        search.display = True
        self.set_focus(search)  # at once: the keys typed behind the slash go to the box

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """A slash typed into the open search box is text, not a new search."""
        if action == "start_search":
            return not self.query_one(Input).display
        return True

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.input.display = False
        log = self.query_one(LogView)
        log.search = event.value
        log.focus()
        self._show_status()

    def action_next_hit(self, step: int) -> None:
        """Go to the next (1) or previous (-1) hit of the search."""
        self.query_one(LogView).next_hit(step)
        self._show_status()

    def _show_status(self) -> None:
        log = self.query_one(LogView)
        status = self.query_one("#log-status", Static)
        if not log.search:
            status.update("/ searches")
        elif not log.hits:
            status.update(f"no match for {log.search!r}")
        else:
            line = log.hits[log.hit] + 1
            status.update(
                f"match {log.hit + 1} of {len(log.hits)} for {log.search!r} (line {line})"
                " — n next, N previous"
            )
