"""Which run an attaching viewer means: one named by id, or the latest still going."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from fanout_tui.journal._errors import JournalError
from fanout_tui.journal._lookup import run_is_live, run_outcome
from fanout_tui.journal._store import Journal


@dataclass(frozen=True)
class LocatedRun:
    """A journaled run, as a viewer finds it."""

    run_id: str
    run_dir: Path
    """The run's folder (its control socket and final state live there)."""
    live: bool
    """Whether the process that runs it is still going."""
    outcome: str
    """Its outcome in one word (``running``, ``interrupted``, ``merged``, …)."""


def locate_run(journal: Path, run_ref: str | None) -> LocatedRun:
    """The run ``run_ref`` names (an id or a unique prefix), or without one the latest
    run still going in the journal at ``journal``.

    Raises:
        JournalError: no journal, no such run, or no run going.
    """
    with Journal.open_for_reading(journal) as opened:
        if run_ref is not None:
            row = opened.find_run(run_ref)
        else:
            rows = opened.connection.execute(
                "SELECT * FROM runs WHERE ended_at IS NULL ORDER BY started_at DESC"
            ).fetchall()
            live = [candidate for candidate in rows if run_is_live(candidate)]
            if not live:
                raise JournalError(f"no run is going in {opened.label}")
            row = live[0]
        return LocatedRun(
            run_id=row["id"],
            run_dir=journal.resolve() / "runs" / row["id"],
            live=run_is_live(row),
            outcome=run_outcome(row),
        )
