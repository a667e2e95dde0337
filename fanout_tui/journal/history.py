"""``fanout-tui runs``: list past runs and show one (placeholder)."""

from __future__ import annotations

from pathlib import Path
from typing import TextIO


def list_runs(journal: Path, *, out: TextIO) -> int:
    """Print the journaled runs; return the exit code."""
    raise NotImplementedError


def show_run(journal: Path, run_ref: str, *, branch_id: str | None, out: TextIO) -> int:
    """Print a run's merged result, or one branch's result and log; return the exit code."""
    raise NotImplementedError
