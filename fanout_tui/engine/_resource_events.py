"""Events about shared resources and what attempts spent: pauses, snapshots, usage.

Like every engine event, these are small frozen dataclasses, published in order to every
listener (see :mod:`fanout_tui.engine._events`, whose ``Event`` union includes them).
"""

from __future__ import annotations

from dataclasses import dataclass

from fanout_tui.engine._signals import Usage


@dataclass(frozen=True, slots=True)
class ResourceView:
    """One resource as it stands at one moment, for the dashboard and the progress lines."""

    name: str
    held: int
    """Attempts holding it now."""
    concurrency: int | None
    """The concurrency in force (below the declared one while an adaptive resource backs
    off; ``None``: unlimited)."""
    declared_concurrency: int | None
    waiting: int
    """Branches waiting for it (on it or on something else they need with it)."""
    window_used: int | None
    """Starts in the current window of the rate's period (``None``: no rate)."""
    window_limit: int | None
    """Starts a window allows, burst included."""
    tokens_left: float | None
    """Tokens left in the current window (``None``: no token budget)."""
    tokens_budget: float | None
    paused_until: float | None
    """Clock time the resource is paused until (``None``: not paused)."""
    paused_by: str
    """The branch whose rate-limit signal paused it (empty when not paused)."""


@dataclass(frozen=True, slots=True)
class ResourcesChanged:
    """The resources of the run as they stand now (after a start, an end, a pause...)."""

    at: float
    resources: tuple[ResourceView, ...]


@dataclass(frozen=True, slots=True)
class ResourcePaused:
    """A branch's rate-limit signal paused a resource for every branch that uses it."""

    name: str
    at: float
    until: float
    """Clock time the pause ends."""
    by: str
    """The branch that was rate-limited."""
    note: str | None = None
    """Why the asked-for wait was changed (an absurd retry-after), if it was."""

    @property
    def seconds(self) -> float:
        """How long the pause lasts from ``at``."""
        return self.until - self.at


@dataclass(frozen=True, slots=True)
class ResourceResumed:
    """A paused resource's pause is over."""

    name: str
    at: float


@dataclass(frozen=True, slots=True)
class UsageReported:
    """An attempt reported what it spent; the totals include it."""

    branch_id: str
    attempt: int
    usage: Usage
    """What this report adds."""
    branch_total: Usage
    """Everything the branch spent in this run so far."""
    run_total: Usage
    """Everything the run spent so far."""
