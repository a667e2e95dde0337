"""One line under the header: every shared resource in a few words (plans with resources).

Paused resources come first, in the warning colour, with their countdown and who caused
the pause; ``u`` opens the full view (:mod:`fanout_tui.ui.screens.resources_screen`).
"""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from fanout_tui.ui.resources import ResourceBoard, compact_words, pause_left


def strip_content(board: ResourceBoard, now: float) -> Content:
    """``u resources  llm-api 0/2 (of 4) · paused 12s (429 from doc07)  db 1/1`` (paused
    resources first, the key that opens the full view in front)."""
    views = sorted(board.views.values(), key=lambda view: pause_left(view, now) is None)
    parts: list[Content | str | tuple[str, str]] = [("u", "bold"), (" resources  ", "$text-muted")]
    for index, view in enumerate(views):
        if index:
            parts.append(("  ", ""))
        style = "bold $text-warning" if pause_left(view, now) is not None else ""
        parts.append((compact_words(view, now), style))
    return Content.assemble(*parts)


class ResourceStrip(Static):
    """The resources at a glance; the dashboard redraws it when they change and as a
    pause counts down."""

    DEFAULT_CSS = """
    ResourceStrip {
        height: 1;
        padding: 0 1;
        background: $panel;
        color: $foreground;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    _shown: Content | None = None

    def show(self, board: ResourceBoard, now: float) -> None:
        """Draw ``board`` as of ``now`` (skipped if unchanged)."""
        content = strip_content(board, now)
        if content != self._shown:
            self._shown = content
            self.update(content)
