"""``fanout-tui runs``: list past runs (``runs show`` is in :mod:`~fanout_tui.journal._show`)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from fanout_tui.engine import BranchStatus, ExitCode, Usage
from fanout_tui.journal._errors import reading
from fanout_tui.journal._lookup import run_outcome, shown_spec
from fanout_tui.journal._schema import DATABASE_NAME, schema_version
from fanout_tui.journal._store import Journal
from fanout_tui.journal._usage import usage_by_run

STATE_ORDER = [str(s) for s in BranchStatus]
COLUMNS = ("RUN", "STARTED", "DURATION", "OUTCOME", "BRANCHES", "SPEC")
"""The spec comes last: a long path then leaves the other columns where they are. A
``USAGE`` column comes before it when any run listed reported usage."""


def list_runs(journal: Path, *, out: TextIO) -> int:
    """Print the journaled runs, newest first, as an aligned table; return the exit code.

    When any of them reported usage, a column says what each spent itself (branches it
    reused spent theirs in the run that computed them).

    Only reads: a journal in a folder the operator cannot write to is listed too.

    Raises:
        JournalError: the journal cannot be read (damaged, not a journal).
    """
    if not (journal / DATABASE_NAME).exists():
        out.write(f"No runs journaled in {journal}/ yet.\n")
        return ExitCode.OK
    with reading(f"{journal}/"), Journal.open_for_reading(journal) as opened:
        connection = opened.connection
        if schema_version(connection) == 0:  # an empty database: no tables yet
            runs = []
        else:
            runs = connection.execute("SELECT * FROM runs ORDER BY started_at DESC").fetchall()
        if not runs:
            out.write(f"No runs journaled in {journal}/ yet.\n")
            return ExitCode.OK
        counts = _state_counts(connection)
        usage = usage_by_run(connection)
        rows = []
        for run in runs:
            outcome = run_outcome(run)
            rows.append(
                (
                    run["id"],
                    time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(run["started_at"])),
                    duration(run["duration_s"]),
                    outcome,
                    _describe_counts(
                        counts.get(run["id"], {}),
                        total=run["branch_count"],
                        interrupted=outcome == "interrupted",
                    ),
                    *_usage_cell(usage, run["id"]),
                    shown_spec(run["spec_path"], run["spec_name"]),
                )
            )
    header = COLUMNS if not usage else (*COLUMNS[:-1], "USAGE", COLUMNS[-1])
    out.write(_table(header, rows))
    return ExitCode.OK


SETTLED = {str(s) for s in BranchStatus if s.settled}


def _usage_cell(usage: dict[str, Usage], run_id: str) -> tuple[str, ...]:
    """The run's ``USAGE`` cell, or no cell when no run listed reported usage."""
    if not usage:
        return ()
    spent = usage.get(run_id)
    return (spent.describe() if spent is not None else "-",)


def _state_counts(connection: sqlite3.Connection) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for row in connection.execute(
        "SELECT run_id, status, COUNT(*), SUM(reused_from IS NOT NULL) FROM branches "
        "GROUP BY run_id, status"
    ):
        per_run = counts.setdefault(row[0], {})
        per_run[row[1]] = row[2]
        if row[3]:
            per_run["reused"] = per_run.get("reused", 0) + row[3]
    return counts


def _describe_counts(counts: dict[str, int], *, total: int, interrupted: bool) -> str:
    """``"498 succeeded, 2 failed (120 reused)"``; in a run that was killed, branches that
    had not settled count as interrupted. Branches without a row yet (a run's writer adds
    them just after it starts) count as pending."""
    counts = dict(counts)
    unwritten = total - sum(n for state, n in counts.items() if state != "reused")
    if unwritten > 0:
        counts["pending"] = counts.get("pending", 0) + unwritten
    shown = {state: counts[state] for state in STATE_ORDER if counts.get(state)}
    if interrupted:
        unsettled = [state for state in shown if state not in SETTLED]
        if unsettled:
            shown["interrupted"] = sum(shown.pop(state) for state in unsettled)
    text = ", ".join(f"{n} {state}" for state, n in shown.items())
    if counts.get("reused"):
        text += f" ({counts['reused']} reused)"
    return text


def duration(seconds: float | None) -> str:
    """A recorded duration as ``runs`` and ``runs show`` print it, coarser as it grows:
    ``4.2s``, ``3m07s``, ``2h05m``; ``-`` when none was recorded."""
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]
    return "\n".join(lines) + "\n"
