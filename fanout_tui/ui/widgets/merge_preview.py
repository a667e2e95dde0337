"""The merged result under the panels: a live preview, then the complete result."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from fanout_tui.engine import MergeState, PolicyState, printable
from fanout_tui.ui.result_text import result_head

PREVIEW_CHARS = 4000
"""The preview shows at most this much of the merged result (the m screen shows it all)."""


def merge_title(
    merge: MergeState, total: int, *, hint: str = "   m opens it", active: int | None = None
) -> Content:
    """What the merged result is now, in words, naming flagged or failed branches.

    ``active`` counts the branches not settled yet, where the caller knows it better than
    ``merge`` (whose previews arrive at a bounded rate).
    """
    succeeded = total - len(merge.missing)
    active = merge.active if active is None else active
    if merge.state is PolicyState.MERGED:
        if merge.flagged:
            return Content.assemble(
                ("Merged result — partial", "bold $warning"),
                f" · {len(merge.flagged)} flagged: ",
                (", ".join(merge.flagged), "$branch-failed"),
                (hint, "$text-muted"),
            )
        return Content.assemble(
            ("Merged result — complete", "bold $success"),
            f" · all {total} branches",
            (hint, "$text-muted"),
        )
    if merge.state is PolicyState.MERGE_FAILED:
        return Content.assemble(("Merge failed: ", "bold $error"), printable(merge.error or ""))
    if merge.state is PolicyState.BLOCKED:
        return Content.assemble(
            ("Blocked", "bold $error"),
            f" · {len(merge.failed)} failed: ",
            (", ".join(merge.failed), "$branch-failed"),
            " — r retries the focused one, R all of them",
        )
    waiting = f"waiting for {active}" if active else "merging…"
    return Content.assemble(
        ("Preview", "bold $text-muted"),
        f" · {succeeded} of {total} branches so far — {waiting}",
    )


class MergePreview(Static):
    """The merge's status line and the first lines of the merged result (or its preview)."""

    DEFAULT_CSS = """
    MergePreview {
        height: auto;
        max-height: 6;
        padding: 0 1;
        border-top: hkey $panel-lighten-2;
        background: $surface;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._shown: tuple[MergeState, int] | None = None

    def show(self, merge: MergeState, total: int, active: int) -> None:
        """Draw ``merge`` with ``active`` branches still going (skipped if already drawn)."""
        shown = self._shown
        if shown is not None and shown[0] is merge and shown[1] == active:
            return
        self._shown = (merge, active)
        title = merge_title(merge, total, active=active)
        if merge.merged is None or merge.state is PolicyState.MERGE_FAILED:
            self.update(title)
            return
        body = result_head(merge.merged, PREVIEW_CHARS, indent=None)
        lines = body.splitlines()[:4] or [""]
        self.update(Content("\n").join([title, *(Content(line) for line in lines)]))
