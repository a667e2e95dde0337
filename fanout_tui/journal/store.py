"""The SQLite journal (placeholder until the journal lands)."""

from __future__ import annotations

from pathlib import Path
from typing import Self

from fanout_tui.engine.control import ReusedResult
from fanout_tui.engine.events import Event, RunOutcome
from fanout_tui.spec.plan import Plan


class JournalError(Exception):
    """The journal cannot do what was asked; str is one sentence for the operator."""


class RunRecorder:
    """Records one run: pass :meth:`record` to ``Engine.add_listener``."""

    run_id: str
    log_dir: Path

    def record(self, event: Event) -> None:
        """Journal one engine event (cheap: queued to the writer)."""
        raise NotImplementedError

    def finish(self, outcome: RunOutcome) -> None:
        """Record the outcome and flush everything to disk."""
        raise NotImplementedError


class Journal:
    """The journal folder: a SQLite database and spooled logs."""

    @classmethod
    def open(cls, path: Path) -> Self:
        """Open (creating, migrating) the journal at ``path``; use as a context manager."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def prepare_resume(self, plan: Plan, run_ref: str) -> tuple[str, dict[str, ReusedResult]]:
        """Find the run to resume (``"latest"``: the latest of this spec), end its leftover
        process groups, and return its id and the results that can be reused."""
        raise NotImplementedError

    def start_run(self, plan: Plan, *, resumed_from: str | None = None) -> RunRecorder:
        """Record a new run of ``plan``."""
        raise NotImplementedError
