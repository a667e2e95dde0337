"""Ask before quitting while branches still run."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static


class ConfirmQuitScreen(ModalScreen[bool]):
    """``y`` quits (cancelling what runs), ``n`` or ``escape`` stays."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Quit", id="quit.yes"),
        Binding("n,escape", "answer(False)", "Stay", id="quit.no"),
    ]

    def __init__(self, active: int) -> None:
        super().__init__(id="confirm-quit")
        self.active = active

    def compose(self) -> ComposeResult:
        noun = "branch is" if self.active == 1 else "branches are"
        with Vertical(id="quit-dialog"):
            yield Static(f"{self.active} {noun} still active.", id="quit-question")
            yield Static("Quit and cancel them?  [b]y[/b] quit · [b]n[/b] stay", id="quit-keys")

    def action_answer(self, quit_now: bool) -> None:
        """Close with the answer."""
        self.dismiss(quit_now)
