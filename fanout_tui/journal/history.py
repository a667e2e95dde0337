"""``fanout-tui runs``: list past runs and show one."""

from __future__ import annotations

import sqlite3
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from fanout_tui.engine.events import BranchStatus
from fanout_tui.engine.merge import render_merged
from fanout_tui.journal.lookup import run_is_live, run_outcome
from fanout_tui.journal.schema import DATABASE_NAME, schema_version
from fanout_tui.journal.store import Journal, JournalError
from fanout_tui.journal.values import load_value, resolve_path

EXIT_OK = 0
EXIT_NO_RESULT = 1
EXIT_JOURNAL = 2
"""The journal cannot give what was asked (as for a usage error)."""

STATE_ORDER = [str(s) for s in BranchStatus]
COLUMNS = ("RUN", "SPEC", "STARTED", "DURATION", "OUTCOME", "BRANCHES")


def list_runs(journal: Path, *, out: TextIO) -> int:
    """Print the journaled runs, newest first, as an aligned table; return the exit code.

    Only reads: a journal in a folder the operator cannot write to is listed too.

    Raises:
        JournalError: the journal cannot be read (damaged, not a journal).
    """
    if not (journal / DATABASE_NAME).exists():
        out.write(f"No runs journaled in {journal}/ yet.\n")
        return EXIT_OK
    with _reading(journal), Journal.open_for_reading(journal) as opened:
        connection = opened.connection
        if schema_version(connection) == 0:  # an empty database: no tables yet
            runs = []
        else:
            runs = connection.execute("SELECT * FROM runs ORDER BY started_at DESC").fetchall()
        if not runs:
            out.write(f"No runs journaled in {journal}/ yet.\n")
            return EXIT_OK
        counts = _state_counts(connection)
        rows = []
        for run in runs:
            outcome = run_outcome(run)
            rows.append(
                (
                    run["id"],
                    _spec_label(run),
                    time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(run["started_at"])),
                    _duration(run["duration_s"]),
                    outcome,
                    _describe_counts(
                        counts.get(run["id"], {}),
                        total=run["branch_count"],
                        interrupted=outcome == "interrupted",
                    ),
                )
            )
    out.write(_table(COLUMNS, rows))
    return EXIT_OK


def show_run(journal: Path, run_ref: str, *, branch_id: str | None, out: TextIO) -> int:
    """Print a run's merged result, or one branch's result and log; return the exit code.

    Only reads: a journal in a folder the operator cannot write to is shown too.

    Raises:
        JournalError: no such run or branch, or the journal cannot be read (damaged, not
            a journal, the merged result's file gone).
    """
    if not (journal / DATABASE_NAME).exists():
        raise JournalError(f"no run {run_ref} in {journal}/")
    with _reading(journal), Journal.open_for_reading(journal) as opened:
        if schema_version(opened.connection) == 0:  # an empty database: no tables yet
            raise JournalError(f"no run {run_ref} in {journal}/")
        run = opened.find_run(run_ref)
        if branch_id is not None:
            return _show_branch(opened, run, branch_id, out)
        if run["merged"] is None and run["merged_file"] is None:
            state = run["merge_state"] or run_outcome(run)
            error = f": {run['merge_error']}" if run["merge_error"] else ""
            print(
                f"fanout-tui: run {run['id']} has no merged result ({state}{error})",
                file=sys.stderr,
            )
            return EXIT_NO_RESULT
        merged = _load(
            opened, run["merged"], run["merged_file"], what=f"the merged result of run {run['id']}"
        )
    out.write(render_merged(merged))
    return EXIT_OK


@contextmanager
def _reading(journal: Path) -> Iterator[None]:
    """Turn what SQLite raises while reading ``journal`` into one sentence."""
    try:
        yield
    except sqlite3.Error as error:
        raise JournalError(f"cannot read the journal {journal}/: {error}") from None


def _load(journal: Journal, inline: str | None, file: str | None, *, what: str) -> Any:
    """A value of the journal (see :func:`load_value`), or why it cannot be had.

    Raises:
        JournalError: its file is gone or damaged.
    """
    try:
        return load_value(inline, file, root=journal.root)
    except FileNotFoundError:
        raise JournalError(f"{what} is missing: its file {_shown(journal, file)} is gone") from None
    except (OSError, ValueError) as error:
        raise JournalError(f"{what} cannot be read from {_shown(journal, file)}: {error}") from None


def _shown(journal: Journal, stored: Path | str | None) -> str:
    """A path of the journal (absolute, or as stored: relative to its folder) as the
    operator named the folder (``.fanout/runs/…``)."""
    path = journal.root / (stored or "")
    try:
        return journal.label + path.relative_to(journal.root).as_posix()
    except ValueError:
        return str(path)  # outside the journal's folder


def _show_branch(journal: Journal, run: sqlite3.Row, branch_id: str, out: TextIO) -> int:
    connection = journal.connection
    branch = connection.execute(
        "SELECT * FROM branches WHERE run_id = ? AND id = ?", (run["id"], branch_id)
    ).fetchone()
    if branch is None:
        (recorded,) = connection.execute(
            "SELECT COUNT(*) FROM branches WHERE run_id = ?", (run["id"],)
        ).fetchone()
        if recorded < run["branch_count"]:
            # Its writer adds them just after the run starts.
            raise JournalError(
                f"run {run['id']} has no record of branch {branch_id}: it holds {recorded} "
                f"of its {run['branch_count']} branches (killed just after it started, "
                "or starting now)"
            )
        raise JournalError(f"run {run['id']} has no branch {branch_id}")
    status = branch["status"]
    if run["ended_at"] is None and not run_is_live(run) and status not in _SETTLED:
        status = "interrupted"
    # A reused branch ran in an earlier run: its attempts and logs are there.
    origin = branch["reused_from"] or run["id"]
    header = f"branch {branch_id}: {status}"
    if branch["reused_from"]:
        header += f" (reused from run {origin})"
    if branch["attempts"]:
        header += f", {branch['attempts']} attempt{'s' if branch['attempts'] != 1 else ''}"
    if branch["duration_s"] is not None:
        header += f", {_duration(branch['duration_s'])}"
    out.write(header + "\n")
    if branch["reason"]:
        out.write(f"reason: {branch['reason']}\n")
    if branch["command"]:
        out.write(f"command: {branch['command']}\n")
    problem = None
    if branch["result"] is not None or branch["result_file"] is not None:
        try:
            result = _load(
                journal,
                branch["result"],
                branch["result_file"],
                what=f"the result of branch {branch_id} in run {run['id']}",
            )
        except JournalError as error:
            problem = error
            out.write(f"result: missing ({error})\n")
        else:
            out.write("result:\n" + render_merged(result))
    attempts = connection.execute(
        "SELECT * FROM attempts WHERE run_id = ? AND branch_id = ? ORDER BY id",
        (origin, branch_id),
    ).fetchall()
    for attempt in attempts:
        for stream in ("stdout", "stderr"):
            path = resolve_path(attempt[f"{stream}_log"], journal.root)
            text = _read_log(path, journal)
            label = f"attempt {attempt['attempt']} {stream}"
            out.write(f"--- {label} ---\n{text}" if text else f"--- {label}: nothing ---\n")
    if problem is not None:
        out.flush()
        print(f"fanout-tui: {problem}", file=sys.stderr)
        return EXIT_JOURNAL
    return EXIT_OK


_SETTLED = {str(s) for s in BranchStatus if s.settled}


def _read_log(path: Path | None, journal: Journal) -> str:
    if path is None:
        return "(not recorded)\n"
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        if not path.parent.is_dir():  # the run's folder, made with the run, was removed
            return f"(missing: its folder {_shown(journal, path.parent)} is gone)\n"
        return ""  # the engine makes a log file only when the stream prints something
    except OSError as error:
        return f"(cannot be read: {error})\n"
    if text and not text.endswith("\n"):
        text += "\n"
    return text


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
        unsettled = [state for state in shown if state not in _SETTLED]
        if unsettled:
            shown["interrupted"] = sum(shown.pop(state) for state in unsettled)
    text = ", ".join(f"{n} {state}" for state, n in shown.items())
    if counts.get("reused"):
        text += f" ({counts['reused']} reused)"
    return text


def _spec_label(run: sqlite3.Row) -> str:
    if run["spec_path"]:
        return Path(run["spec_path"]).name
    return str(run["spec_name"])


def _duration(seconds: float | None) -> str:
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
