"""The header line: spec name, progress, counts per state, elapsed time, policy status."""

from __future__ import annotations

from textual.content import Content
from textual.widgets import Static

from fanout_tui.engine.events import BranchStatus, PolicyState
from fanout_tui.ui.badges import GLYPHS, format_duration, status_variable
from fanout_tui.ui.model import BranchFilter, RunModel

PROGRESS_WIDTH = 20

POLICY_STYLES: dict[PolicyState, str] = {
    PolicyState.WAITING: "$text-muted",
    PolicyState.MERGED: "bold $success",
    PolicyState.BLOCKED: "bold $error",
    PolicyState.MERGE_FAILED: "bold $error",
}


def progress_bar(done: int, total: int, width: int = PROGRESS_WIDTH) -> Content:
    """A bar of ``width`` cells, filled in proportion to ``done`` of ``total``."""
    filled = round(width * done / total) if total else width
    return Content.assemble(
        ("━" * filled, "$branch-succeeded"), ("━" * (width - filled), "$text-disabled")
    )


def header_content(model: RunModel, elapsed: float, branch_filter: BranchFilter) -> Content:
    """Two lines: name, progress, elapsed and filter; then counts and the policy status."""
    total = len(model.branches)
    settled = model.settled
    merge = model.merge
    first = Content.assemble(
        (model.plan.name, "bold"),
        "  ",
        progress_bar(settled, total),
        f" {settled}/{total}",
        ("  elapsed ", "$text-muted"),
        format_duration(elapsed),
        "  ",
        (merge.describe(), POLICY_STYLES[merge.state]),
    )
    parts: list[Content | str | tuple[str, str]] = []
    for status in BranchStatus:
        count = model.counts.get(status, 0)
        if count:
            word = status.value.replace("_", " ")
            parts.append((f"{GLYPHS[status]} {count} {word}", f"${status_variable(status)}"))
            parts.append("  ")
    if branch_filter is not BranchFilter.ALL:
        parts.append((f" showing {branch_filter.value} — f changes, esc shows all ", "reverse"))
    second = Content.assemble(*parts)
    return Content("\n").join([first, second])


class RunHeader(Static):
    """The run at a glance, redrawn by the dashboard once a frame when something changed."""

    DEFAULT_CSS = """
    RunHeader {
        height: 2;
        padding: 0 1;
        background: $panel;
        color: $foreground;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    """

    _shown: Content | None = None

    def show(self, model: RunModel, elapsed: float, branch_filter: BranchFilter) -> None:
        """Draw the header for ``model`` as of ``elapsed`` seconds (skipped if unchanged)."""
        content = header_content(model, elapsed, branch_filter)
        if content != self._shown:
            self._shown = content
            self.update(content)
