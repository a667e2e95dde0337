"""The shared resources as the dashboard shows them: the latest snapshot, and its words.

The engine sends a :class:`ResourcesChanged` snapshot whenever a number moves, and
:class:`ResourcePaused` / :class:`ResourceResumed` as pauses begin and end; the board keeps
the latest state of each resource. The countdown of a pause reads the app's clock, so it
moves between snapshots.
"""

from __future__ import annotations

from dataclasses import replace
from math import ceil

from fanout_tui.engine import ResourcePaused, ResourceResumed, ResourcesChanged, ResourceView
from fanout_tui.spec import Plan, ResourceLimit
from fanout_tui.ui.badges import format_duration

ResourceEvent = ResourcesChanged | ResourcePaused | ResourceResumed
"""The events a :class:`ResourceBoard` folds in."""


class ResourceBoard:
    """Each declared resource as the engine last described it."""

    def __init__(self, plan: Plan) -> None:
        self.views: dict[str, ResourceView] = {
            name: _at_rest(limit) for name, limit in plan.resources.items() if limit.limits_anything
        }
        """Every resource that limits something, by name, in the order the spec declares
        them (as declared, until the engine's first snapshot)."""

    def __bool__(self) -> bool:
        return bool(self.views)

    def apply(self, event: ResourceEvent) -> None:
        """Fold one resource event in."""
        if isinstance(event, ResourcesChanged):
            self.views.update((view.name, view) for view in event.resources)
            return
        current = self.views.get(event.name)
        if current is None:
            return
        if isinstance(event, ResourcePaused):
            self.views[event.name] = replace(current, paused_until=event.until, paused_by=event.by)
        else:
            self.views[event.name] = replace(current, paused_until=None, paused_by="")

    def paused(self, now: float) -> list[ResourceView]:
        """The resources paused at ``now``."""
        return [view for view in self.views.values() if pause_left(view, now) is not None]


def _at_rest(limit: ResourceLimit) -> ResourceView:
    """``limit`` before anything used it."""
    rate, tokens = limit.rate, limit.tokens
    return ResourceView(
        name=limit.name,
        held=0,
        concurrency=limit.concurrency,
        declared_concurrency=limit.concurrency,
        waiting=0,
        window_used=None if rate is None else 0,
        window_limit=None if rate is None else int(rate.count) + limit.burst,
        tokens_left=None if tokens is None else tokens.count,
        tokens_budget=None if tokens is None else tokens.count,
        paused_until=None,
        paused_by="",
    )


def pause_left(view: ResourceView, now: float) -> float | None:
    """Seconds ``view`` stays paused from ``now`` (``None``: not paused)."""
    if view.paused_until is None or view.paused_until <= now:
        return None
    return view.paused_until - now


def pause_words(view: ResourceView, now: float) -> str | None:
    """``paused 12s (429 from doc07)``, or ``None`` when it is not paused."""
    left = pause_left(view, now)
    if left is None:
        return None
    seconds = ceil(left)  # a countdown in whole seconds, never "0s" while it holds
    text = f"paused {seconds}s" if seconds < 60 else f"paused {format_duration(seconds)}"
    return f"{text} (429 from {view.paused_by})" if view.paused_by else text


def held_words(view: ResourceView) -> str:
    """``held 1 of 2``, ``held 1 of 2 (2 of 4, adaptive)`` or ``held 3 (no limit)``."""
    if view.concurrency is None:
        return f"held {view.held} (no limit)"
    text = f"held {view.held} of {view.concurrency}"
    declared = view.declared_concurrency
    if declared is not None and view.concurrency < declared:
        text += f" ({view.concurrency} of {declared}, adaptive)"
    return text


def window_words(view: ResourceView) -> str | None:
    """``window 12/30`` (``None``: the resource has no rate)."""
    if view.window_used is None:
        return None
    limit = "?" if view.window_limit is None else str(view.window_limit)
    return f"window {view.window_used}/{limit}"


def token_words(view: ResourceView) -> str | None:
    """``31,000 of 40,000 tokens left`` (``None``: no token budget)."""
    if view.tokens_left is None or view.tokens_budget is None:
        return None
    return f"{max(0, int(view.tokens_left)):,} of {int(view.tokens_budget):,} tokens left"


def compact_words(view: ResourceView, now: float) -> str:
    """One resource in a few words, for the dashboard's strip: ``llm-api 1/2 ↓4 · 3 waiting``."""
    held = str(view.held) if view.concurrency is None else f"{view.held}/{view.concurrency}"
    declared = view.declared_concurrency
    if view.concurrency is not None and declared is not None and view.concurrency < declared:
        held += f" (of {declared})"
    parts = [f"{view.name} {held}"]
    if view.waiting:
        parts.append(f"{view.waiting} waiting")
    paused = pause_words(view, now)
    if paused:
        parts.append(paused)
    return " · ".join(parts)
