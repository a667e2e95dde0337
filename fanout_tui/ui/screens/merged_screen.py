"""The merged result in full: pretty-printed and highlighted, flagged branches, save with s."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.content import Content
from textual.highlight import highlight
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Input, Label, Static

from fanout_tui.engine import MergeState, PolicyState, printable, render_merged
from fanout_tui.ui.frames import Frame, FrameFeed
from fanout_tui.ui.result_text import result_text
from fanout_tui.ui.widgets.merge_preview import merge_title

SAVE_HINT = "   s saves it"
_NOT_SAVED = {
    PolicyState.WAITING: "The merge is not complete yet (branches still run); nothing saved.",
    PolicyState.BLOCKED: "The policy is not satisfied, so there is no merged result to save.",
    PolicyState.MERGE_FAILED: "The merge failed, so there is no merged result to save.",
}


def merged_body(merge: MergeState) -> Content:
    """The merged result (or its preview) as highlighted content."""
    if merge.state is PolicyState.MERGE_FAILED:
        return Content.styled(printable(merge.error or "the merge failed"), "$text-error")
    if merge.merged is None:
        return Content.styled("nothing merged yet", "$text-muted")
    if isinstance(merge.merged, str):
        return Content(result_text(merge.merged))
    return highlight(result_text(merge.merged), language="json")


class SavePathScreen(ModalScreen[Path | None]):
    """Ask where to save the merged result."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="save.cancel")
    ]

    def compose(self) -> ComposeResult:
        with Vertical(id="save-dialog"):
            yield Label("Save the merged result to:")
            yield Input(placeholder="path, e.g. merged.json", id="save-path")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        self.dismiss(Path(text).expanduser() if text else None)

    def action_cancel(self) -> None:
        """Close without saving."""
        self.dismiss(None)


class MergedScreen(Screen[None]):
    """The merged result; ``s`` saves it (to the spec's ``output``, or a path you type)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "back", "Back", id="merged.back"),
        Binding("s", "save", "Save", id="merged.save"),
        # While the footer hides s (nothing complete to save), s still says why.
        Binding("s", "anyway('save')", show=False, id="merged.save.anyway"),
    ]

    def __init__(self, feed: FrameFeed) -> None:
        """Show the merge of ``feed``'s run, following it frame by frame."""
        super().__init__(id="merged-screen")
        self._feed = feed
        model = feed.model
        self.merge = model.merge
        self.total = len(model.branches)
        self.default_path = model.plan.output

    def compose(self) -> ComposeResult:
        yield Static(merge_title(self.merge, self.total, hint=SAVE_HINT), id="merged-title")
        with VerticalScroll(id="merged-scroll"):
            yield Static(merged_body(self.merge), id="merged-body")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#merged-scroll").focus()
        self._feed.subscribe(self._on_frame)
        if self._feed.model.merge is not self.merge:  # a frame came before this screen followed
            self.merge_changed(self._feed.model.merge)

    def on_unmount(self) -> None:
        self._feed.unsubscribe(self._on_frame)

    def _on_frame(self, frame: Frame) -> None:
        if frame.news.merge:
            self.merge_changed(self._feed.model.merge)

    def merge_changed(self, merge: MergeState) -> None:
        """Show the newer merge."""
        self.merge = merge
        title = merge_title(merge, self.total, hint=SAVE_HINT)
        self.query_one("#merged-title", Static).update(title)
        self.query_one("#merged-body", Static).update(merged_body(merge))
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "save":  # hidden from the footer until there is a result to save
            return self.merge.state is PolicyState.MERGED
        return True

    def palette_commands(self) -> Iterable[SystemCommand]:
        """This screen's keys, for the command palette."""
        yield SystemCommand(
            "Save the merged result",
            "s · to the spec's output, or a path you type",
            self.action_save,
        )
        yield SystemCommand("Back", "escape · back to the dashboard", self.action_back)

    def action_anyway(self, action: str) -> None:
        """``s`` while the footer hides it: say why nothing is saved."""
        if action == "save":
            self.action_save()

    def action_back(self) -> None:
        """Back to the dashboard."""
        self.dismiss()

    def action_save(self) -> None:
        """Save to the default path, or ask for one."""
        if self.merge.state is not PolicyState.MERGED:
            self.notify(_NOT_SAVED[self.merge.state], severity="warning")
        elif self.default_path is not None:
            self.save(self.default_path)
        else:
            self.app.push_screen(SavePathScreen(), self._save_chosen)

    def _save_chosen(self, path: Path | None) -> None:
        if path is not None:
            self.save(path)

    def save(self, path: Path) -> None:
        """Write the merged result to ``path`` and say so."""
        if self.merge.state is not PolicyState.MERGED:
            self.notify(_NOT_SAVED[self.merge.state], severity="warning")
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(render_merged(self.merge.merged), encoding="utf-8")
        except OSError as error:
            self.notify(f"Cannot save to {path}: {error.strerror}.", severity="error")
            return
        self.notify(f"Saved the merged result to {path}.")
