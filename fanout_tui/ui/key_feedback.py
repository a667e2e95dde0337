"""What the dashboard says when an operator's key acts on the run, or why it does nothing.

Each function returns the sentence the app shows as a notification; the app decides when.
"""

from __future__ import annotations

from fanout_tui.ui.badges import status_phrase
from fanout_tui.ui.branch_filter import BranchFilter
from fanout_tui.ui.model import BranchView


def _branches(count: int) -> str:
    return f"{count} branch{'es' if count != 1 else ''}"


def why_no_retry(view: BranchView) -> str:
    """Why ``r`` does not retry ``view``: it is still active, the run is stopping, or there
    is nothing to retry."""
    status = view.status
    where = f"{view.label} {status_phrase(status)}"
    if status.cancellable:
        return f"{where}; c cancels it."
    if view.can_retry:
        return f"{where}, but the run is stopping; nothing more is retried."
    return f"{where}; there is nothing to retry."


def why_no_cancel(view: BranchView, *, stopping: bool) -> str:
    """Why ``c`` does not cancel ``view`` (``stopping``: the operator is quitting)."""
    status = view.status
    where = f"{view.label} {status_phrase(status)}"
    if status.cancellable:
        if stopping:
            return f"{where}; the run is stopping it."
        return f"{where} and is already being cancelled."
    if view.can_retry:
        return f"{where}; there is nothing to cancel (r retries it)."
    return f"{where}; there is nothing to cancel."


def cancelling(view: BranchView) -> str:
    """What ``c`` on a running branch sets off."""
    return f"Cancelling {view.id}: SIGTERM now, SIGKILL after its grace period."


def retry_failed_reply(count: int, *, stopping: bool) -> str:
    """What ``R`` did: retried ``count`` branches, or why none (``stopping``: the operator
    is quitting)."""
    if count:
        return f"Retrying {_branches(count)}."
    if stopping:
        return "The run is stopping; nothing more is retried."
    return "Nothing to retry: no branch failed, timed out or was cancelled."


def cancel_all_reply(count: int, *, active: int) -> str:
    """What ``C`` did: cancelled ``count`` branches, or why none (``active``: how many
    branches have not settled yet)."""
    if count:
        return f"Cancelling {_branches(count)}."
    if active:
        return "Every active branch is already being cancelled."
    return "Nothing to cancel: every branch has settled."


def no_branch_listed(branch_filter: BranchFilter) -> str:
    """Why a branch key does nothing when ``branch_filter`` lists no branch."""
    return f"No {branch_filter.value} branch is listed."
