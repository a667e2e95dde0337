"""How a branch status looks: a glyph, a word and a theme variable (never colour alone)."""

from __future__ import annotations

from rich.cells import cell_len, set_cell_size

from fanout_tui.engine import BranchStatus, ReusedResult

GLYPHS: dict[BranchStatus, str] = {
    BranchStatus.PENDING: "·",
    BranchStatus.WAITING: "…",
    BranchStatus.RUNNING: "▶",
    BranchStatus.RETRYING: "↻",
    BranchStatus.SUCCEEDED: "✓",
    BranchStatus.FAILED: "✗",
    BranchStatus.TIMED_OUT: "⏱",
    BranchStatus.CANCELLED: "⊘",
}

WORDS: dict[BranchStatus, str] = {
    BranchStatus.PENDING: "pending",
    BranchStatus.WAITING: "waiting",
    BranchStatus.RUNNING: "running",
    BranchStatus.RETRYING: "retrying",
    BranchStatus.SUCCEEDED: "succeeded",
    BranchStatus.FAILED: "failed",
    BranchStatus.TIMED_OUT: "timed out",
    BranchStatus.CANCELLED: "cancelled",
}


def status_phrase(status: BranchStatus) -> str:
    """What a branch in ``status`` is, after its name, in the badges' words:
    ``is running``, ``failed``, ``timed out``, ``was cancelled``."""
    if status is BranchStatus.CANCELLED:
        return "was cancelled"
    if status.settled:
        return WORDS[status]
    return f"is {WORDS[status]}"


def status_variable(status: BranchStatus) -> str:
    """The theme variable naming ``status``'s colour, e.g. ``branch-timed-out``."""
    return "branch-" + status.value.replace("_", "-")


def status_class(status: BranchStatus) -> str:
    """The component class a Line API widget styles ``status`` with."""
    return "status--" + status.value.replace("_", "-")


def badge(status: BranchStatus) -> str:
    """Glyph and word, e.g. ``✗ failed``."""
    return f"{GLYPHS[status]} {WORDS[status]}"


def format_duration(seconds: float | None) -> str:
    """A short duration: ``0.4s``, ``12s``, ``3m05s``, ``1h02m``; empty for None."""
    if seconds is None:
        return ""
    tenths = round(seconds, 1)  # so that 9.96 reads "10s", not "10.0s"
    if tenths < 10:
        return f"{tenths:.1f}s"
    whole = int(tenths)
    if whole < 60:
        return f"{whole}s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def fit(text: str, width: int) -> str:
    """``text`` padded or cut (with an ellipsis) to exactly ``width`` cells."""
    if width <= 0:
        return ""
    if cell_len(text) <= width:
        return set_cell_size(text, width)
    return set_cell_size(text, width - 1) + "…"


def reused_note(reused: ReusedResult) -> str:
    """Where a reused result comes from: ``reused from run d34020ff3f7b · 1 attempt · 1.7s``."""
    parts = [f"reused from run {reused.run_id}"]
    parts.append("1 attempt" if reused.attempts == 1 else f"{reused.attempts} attempts")
    if reused.duration_s is not None:
        parts.append(format_duration(reused.duration_s))
    return " · ".join(parts)
