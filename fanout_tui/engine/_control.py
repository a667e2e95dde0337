"""The engine's public surface, as a protocol: what a front end (headless or dashboard) uses.

:class:`fanout_tui.engine.Engine` implements it; the dashboard's tests drive a scripted
fake with the same surface.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from fanout_tui.engine._events import Event, RunOutcome
from fanout_tui.spec import Plan

Listener = Callable[[Event], None]


class EngineControl(Protocol):
    """Run a plan, publish events, take operator commands.

    Commands are safe in every state and idempotent; they act on the running engine at
    once and never run a branch twice at the same time. They return whether they acted.
    """

    plan: Plan

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(event)`` for every event from now on, in order."""
        ...

    async def run(self, *, stay_open: bool = False) -> RunOutcome:
        """Run the plan.

        Returns once every branch has settled and the merge is final, or, with
        ``stay_open`` (the dashboard), only after :meth:`shutdown`, so that operators
        can keep retrying settled branches. Emits :class:`RunFinished` just before it
        returns. Process groups are ended on the way out, whatever happens.
        """
        ...

    def retry(self, branch_id: str) -> bool:
        """Start a fresh set of attempts for a failed, timed-out or cancelled branch."""
        ...

    def cancel(self, branch_id: str) -> bool:
        """Cancel a pending, waiting, retrying or running branch (ends its process group)."""
        ...

    def retry_failed(self) -> int:
        """Retry every retryable branch; return how many."""
        ...

    def cancel_all(self) -> int:
        """Cancel every active branch; return how many."""
        ...

    def shutdown(self, *, interrupted: bool = False, kill_now: bool = False) -> None:
        """Cancel everything and make :meth:`run` return.

        ``interrupted`` (SIGINT, SIGTERM, operator quit) makes the exit code 130 unless
        the policy was already satisfied. ``kill_now`` (a second signal) cuts every grace
        period short: what is still running gets SIGKILL at once. Calls may repeat.
        """
        ...

    def outcome(self) -> RunOutcome:
        """The run as of now (every branch's report, the merge, the exit code so far)."""
        ...
