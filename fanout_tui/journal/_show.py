"""``fanout-tui runs show``: a past run's merged result, or one branch's result and logs.

The exit code is the run's own, as the run itself exited: 0 a complete merged result,
3 a best-effort partial one (the missing branches are named on stderr), 1 no merged
result (the policy was not satisfied, the merge failed, or the run is still going),
130 the run was interrupted before its policy was satisfied; 2 when the journal cannot
say (no such run, a damaged journal, a result's file gone).

What the run spent, when its branches reported usage, follows on stderr (stdout is the
merged result alone): the run's own total, then each branch's (a reused branch spent its
usage in the run that computed it). ``--branch`` gives the branch's usage and each
attempt's in its own output.
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path
from typing import Any, TextIO

from fanout_tui.engine import BranchStatus, ExitCode, render_merged, status_and_reason, status_words
from fanout_tui.journal._errors import JournalError, reading
from fanout_tui.journal._history import SETTLED, duration
from fanout_tui.journal._lookup import run_is_live
from fanout_tui.journal._schema import DATABASE_NAME, schema_version
from fanout_tui.journal._store import Journal
from fanout_tui.journal._usage import attempt_usage, usage_by_branch, usage_by_run
from fanout_tui.journal._values import load_value, resolve_path


def show_run(journal: Path, run_ref: str, *, branch_id: str | None, out: TextIO) -> int:
    """Print a run's merged result, or one branch's result and log; return the exit code
    (see the module's docstring).

    Only reads: a journal in a folder the operator cannot write to is shown too.

    Raises:
        JournalError: no such run or branch, or the journal cannot be read (damaged, not
            a journal, the merged result's file gone).
    """
    if not (journal / DATABASE_NAME).exists():
        raise JournalError(f"no run {run_ref} in {journal}/")
    with reading(f"{journal}/"), Journal.open_for_reading(journal) as opened:
        if schema_version(opened.connection) == 0:  # an empty database: no tables yet
            raise JournalError(f"no run {run_ref} in {journal}/")
        run = _RunView(opened, opened.find_run(run_ref))
        if branch_id is not None:
            return _show_branch(run, branch_id, out)
        spent = run.usage_lines()
        if run.row["merged"] is None and run.row["merged_file"] is None:
            message, code = run.why_no_result()
            print(f"fanout-tui: run {run.id} {message}", *spent, sep="\n", file=sys.stderr)
            return code
        merged = run.load(
            run.row["merged"], run.row["merged_file"], what=f"the merged result of run {run.id}"
        )
        missing = run.missing()
    out.write(render_merged(merged))
    out.flush()  # the result first, then the notes, as a run prints them
    if missing:
        print(f"fanout-tui: partial: missing {missing}", file=sys.stderr)
    if spent:
        print(*spent, sep="\n", file=sys.stderr)
    return ExitCode.PARTIAL if missing else ExitCode.OK


class _RunView:
    """One run of the journal, as the operator reads it."""

    def __init__(self, journal: Journal, row: sqlite3.Row) -> None:
        self.journal = journal
        self.row = row
        self.id: str = row["id"]
        self.live = run_is_live(row)
        self.killed = row["ended_at"] is None and not self.live
        """Killed before it could record its end: what had not settled was interrupted."""

    def status(self, recorded: str | None) -> str:
        """A branch's or an attempt's status in words (``timed out``, ``interrupted``)."""
        if recorded is None or (self.killed and recorded not in SETTLED):
            return "running" if self.live else "interrupted"
        try:
            return status_words(BranchStatus(recorded))
        except ValueError:  # an attempt ended by a restart: "interrupted", already words
            return recorded

    def missing(self) -> str:
        """The branches without success, with why: ``"b (failed: exit code 7), c (…)"``."""
        rows = self.journal.connection.execute(
            "SELECT id, status, reason FROM branches WHERE run_id = ? AND status != ? ORDER BY idx",
            (self.id, "succeeded"),
        ).fetchall()
        return ", ".join(
            f"{row['id']} ({status_and_reason(self.status(row['status']), row['reason'])})"
            for row in rows
        )

    def usage_lines(self) -> list[str]:
        """What the run and each of its branches spent, in lines (none: nothing reported)::

        fanout-tui: run 3f2a1c spent 12,400 tokens · $0.0214
          doc1  6,200 tokens · $0.0107
          doc2  6,200 tokens · $0.0107 (reused: spent in run 9e8d7c)
        """
        connection = self.journal.connection
        branches = usage_by_branch(connection, self.id)
        if not branches:
            return []
        own = usage_by_run(connection).get(self.id)
        total = own.describe() if own is not None else "nothing itself"
        reused = dict(
            connection.execute(
                "SELECT id, reused_from FROM branches WHERE run_id = ? AND reused_from IS NOT NULL",
                (self.id,),
            ).fetchall()
        )
        width = max(len(branch_id) for branch_id in branches)
        lines = [f"fanout-tui: run {self.id} spent {total}"]
        for branch_id, usage in branches.items():
            line = f"  {branch_id.ljust(width)}  {usage.describe()}"
            if branch_id in reused:
                line += f" (reused: spent in run {reused[branch_id]})"
            lines.append(line)
        return lines

    def why_no_result(self) -> tuple[str, int]:
        """Why the run has no merged result, after ``run <id> ``, and the exit code."""
        state, error = self.row["merge_state"], self.row["merge_error"]
        if self.live:
            return "is still running: no merged result yet", ExitCode.NOT_SATISFIED
        if self.killed or self.row["exit_code"] == ExitCode.INTERRUPTED:
            missing = self.missing()
            unsettled = f"; missing {missing}" if missing else ""
            return (
                f"was interrupted before its policy was satisfied: no merged result{unsettled}",
                ExitCode.INTERRUPTED,
            )
        if state == "merge_failed":
            return f"has no merged result: the merge failed: {error}", ExitCode.NOT_SATISFIED
        because = f": {error}" if error else ""
        missing = self.missing()
        without = f"; missing {missing}" if missing else ""
        return (
            f"has no merged result: its policy was not satisfied{because}{without}",
            ExitCode.NOT_SATISFIED,
        )

    def load(self, inline: str | None, file: str | None, *, what: str) -> Any:
        """A value of the journal (see :func:`load_value`), or why it cannot be had.

        Raises:
            JournalError: its file is gone or damaged.
        """
        try:
            return load_value(inline, file, root=self.journal.root)
        except FileNotFoundError:
            raise JournalError(f"{what} is missing: its file {self.shown(file)} is gone") from None
        except (OSError, ValueError) as error:
            raise JournalError(f"{what} cannot be read from {self.shown(file)}: {error}") from None

    def shown(self, stored: Path | str | None) -> str:
        """A path of the journal (absolute, or as stored: relative to its folder) as the
        operator named the folder (``.fanout/runs/…``)."""
        root = self.journal.root
        path = root / (stored or "")
        try:
            return self.journal.label + path.relative_to(root).as_posix()
        except ValueError:
            return str(path)  # outside the journal's folder


def _show_branch(run: _RunView, branch_id: str, out: TextIO) -> int:
    connection = run.journal.connection
    branch = connection.execute(
        "SELECT * FROM branches WHERE run_id = ? AND id = ?", (run.id, branch_id)
    ).fetchone()
    if branch is None:
        (recorded,) = connection.execute(
            "SELECT COUNT(*) FROM branches WHERE run_id = ?", (run.id,)
        ).fetchone()
        total = run.row["branch_count"]
        if recorded < total:
            # Its writer adds them just after the run starts.
            raise JournalError(
                f"run {run.id} has no record of branch {branch_id}: it holds {recorded} "
                f"of its {total} branches (killed just after it started, or starting now)"
            )
        raise JournalError(f"run {run.id} has no branch {branch_id}")
    # A reused branch ran in an earlier run: its attempts and logs are there.
    origin = branch["reused_from"] or run.id
    header = f"branch {branch_id}: {run.status(branch['status'])}"
    if branch["reused_from"]:
        header += f" (reused from run {origin})"
    if branch["attempts"]:
        header += f", {branch['attempts']} attempt{'s' if branch['attempts'] != 1 else ''}"
    if branch["duration_s"] is not None:
        header += f", {duration(branch['duration_s'])}"
    spent = usage_by_branch(connection, run.id).get(branch_id)
    if spent is not None:
        header += f", {spent.describe()}"
    out.write(header + "\n")
    if branch["reason"]:
        out.write(f"reason: {branch['reason']}\n")
    if branch["command"]:
        out.write(f"command: {branch['command']}\n")
    problem = None
    if branch["result"] is not None or branch["result_file"] is not None:
        try:
            result = run.load(
                branch["result"],
                branch["result_file"],
                what=f"the result of branch {branch_id} in run {run.id}",
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
        out.write(f"=== {_describe_attempt(run, attempt)} ===\n")
        for stream in ("stdout", "stderr"):
            path = resolve_path(attempt[f"{stream}_log"], run.journal.root)
            text = _read_log(path, run)
            label = f"attempt {attempt['attempt']} {stream}"
            out.write(f"--- {label} ---\n{text}" if text else f"--- {label}: nothing ---\n")
    if problem is not None:
        out.flush()
        print(f"fanout-tui: {problem}", file=sys.stderr)
        return ExitCode.USAGE
    return ExitCode.OK


def _describe_attempt(run: _RunView, attempt: sqlite3.Row) -> str:
    """``attempt 2: failed, exit code 0, 1.2s, 1,020 tokens: output is not JSON``: its status,
    exit code, duration, usage and why it failed (a reason that only gives the exit code
    is not repeated)."""
    parts = [run.status(attempt["status"])]
    reason = attempt["reason"]
    code = attempt["exit_code"]
    if code is not None:
        exit_code = f"exit code {code}"
        if reason and reason.startswith(exit_code):  # "exit code 127 (command not found)"
            exit_code, reason = reason, None
        parts.append(exit_code)
    if attempt["duration_s"] is not None:
        parts.append(duration(attempt["duration_s"]))
    usage = attempt_usage(attempt)
    if usage is not None:
        parts.append(usage.describe())
    columns = attempt.keys()  # a journal read before migration 4 has no worker column
    if "worker" in columns and attempt["worker"] is not None:
        parts.append(f"on worker {attempt['worker']}")
    text = f"attempt {attempt['attempt']}: " + ", ".join(parts)
    return f"{text}: {reason}" if reason else text


def _read_log(path: Path | None, run: _RunView) -> str:
    if path is None:
        return "(not recorded)\n"
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        if not path.parent.is_dir():  # the run's folder, made with the run, was removed
            return f"(missing: its folder {run.shown(path.parent)} is gone)\n"
        return ""  # the engine makes a log file only when the stream prints something
    except OSError as error:
        return f"(cannot be read: {error})\n"
    if text and not text.endswith("\n"):
        text += "\n"
    return text
