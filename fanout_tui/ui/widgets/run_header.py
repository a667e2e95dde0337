"""The header line: spec name, progress, counts per state, elapsed time, policy status."""

from __future__ import annotations

from rich.cells import cell_len
from textual import events
from textual.content import Content
from textual.widgets import Static

from fanout_tui.engine import BranchStatus, PolicyState, printable
from fanout_tui.ui.badges import GLYPHS, fit, format_duration, status_variable
from fanout_tui.ui.branch_filter import BranchFilter
from fanout_tui.ui.model import RunModel

PROGRESS_WIDTH = 20
"""The progress bar's width where there is room; narrow terminals get a shorter one."""
PROGRESS_MIN_WIDTH = 6
NAME_MIN_WIDTH = 8
"""A long spec name is cut to leave room for the policy status, but not below this."""

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


def policy_words(model: RunModel) -> str:
    """The policy status in words, counting active branches as the panels show them.

    The engine sends merge previews at a bounded rate, so while the policy waits its own
    count can lag behind the branches' states; the model's count never does.
    """
    merge = model.merge
    if merge.state is not PolicyState.WAITING:
        return merge.describe()
    active = model.active
    if not active:
        return "merging…"  # every branch settled: the merge (or synthesizer) is on its way
    return f"waiting for {active} {'branch' if active == 1 else 'branches'}"


def _counts(model: RunModel, words: bool) -> list[Content | str | tuple[str, str]]:
    parts: list[Content | str | tuple[str, str]] = []
    for status in BranchStatus:
        count = model.counts.get(status, 0)
        if count:
            text = f"{GLYPHS[status]} {count}"
            if words:
                text += " " + status.value.replace("_", " ")
            parts += [(text, f"${status_variable(status)}"), "  "]
    return parts


def header_content(
    model: RunModel, elapsed: float, branch_filter: BranchFilter, width: int = 1000
) -> Content:
    """Two lines of at most ``width`` cells where they can be: name, progress, elapsed and
    policy status; then counts per state, the filter and what the run spent."""
    total = len(model.branches)
    settled = model.settled
    words = policy_words(model)
    tail = f" {settled}/{total}  elapsed {format_duration(elapsed)}  {words}"
    name = printable(model.plan.name)
    room = width - cell_len(tail) - 2
    bar = max(PROGRESS_MIN_WIDTH, min(PROGRESS_WIDTH, room - cell_len(name)))
    if cell_len(name) > room - bar:
        name = fit(name, max(NAME_MIN_WIDTH, room - bar))
    first = Content.assemble(
        (name, "bold"),
        "  ",
        progress_bar(settled, total, bar),
        f" {settled}/{total}",
        ("  elapsed ", "$text-muted"),
        format_duration(elapsed),
        "  ",
        (words, POLICY_STYLES[model.merge.state]),
    )
    filter_note: list[Content | str | tuple[str, str]] = []
    if branch_filter is not BranchFilter.ALL:
        filter_note = [(f" showing {branch_filter.value} — f changes, esc shows all ", "reverse")]
    if model.usage is not None:  # once any branch reported what it spent
        filter_note.append(("  spent " if filter_note else "spent ", "$text-muted"))
        filter_note.append(model.usage.describe())
    second = Content.assemble(*_counts(model, words=True), *filter_note)
    if second.cell_length > width:  # glyphs and numbers alone when the words do not fit
        second = Content.assemble(*_counts(model, words=False), *filter_note)
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
    _state: tuple[RunModel, float, BranchFilter] | None = None

    def show(self, model: RunModel, elapsed: float, branch_filter: BranchFilter) -> None:
        """Draw the header for ``model`` as of ``elapsed`` seconds (skipped if unchanged)."""
        self._state = (model, elapsed, branch_filter)
        width = self.content_size.width or 1000
        content = header_content(model, elapsed, branch_filter, width)
        if content != self._shown:
            self._shown = content
            self.update(content)

    def on_resize(self, event: events.Resize) -> None:
        if self._state is not None:
            self.show(*self._state)
