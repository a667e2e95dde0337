"""What events change in the journal's rows, written a batch at a time.

Within a batch every branch row and every attempt row gets at most one statement: the
changes of all its events are merged first (later events win, column by column), then
written with one ``executemany`` per kind of change. A branch that starts, runs and
ends within one batch costs one insert of its attempt and one update of its branch.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fanout_tui.engine import (
    AttemptEnded,
    AttemptPlaced,
    AttemptStarted,
    BranchStateChanged,
    BranchStatus,
    Event,
    MergeState,
    OutputLines,
    PolicyState,
    ProcessStarted,
    ResultsChanged,
    RunFinished,
    RunOutcome,
    Usage,
    UsageReported,
    outcome_word,
)
from fanout_tui.journal._run_rows import INSERT_BRANCH, branch_row
from fanout_tui.journal._values import dump_value, relative_path
from fanout_tui.spec import BranchPlan, Masker

_IMPLIED = frozenset({BranchStatus.PENDING, BranchStatus.WAITING, BranchStatus.SUCCEEDED})
"""States that state changes do not write (see :class:`RowWriter`)."""

_ATTEMPT_COLUMNS = (
    "started_at",
    "stdout_log",
    "stderr_log",
    "pid",
    "pgid",
    "process_start_time",
    "worker",
    "ended_at",
    "status",
    "reason",
    "exit_code",
    "duration_s",
    "input_tokens",
    "output_tokens",
    "cost_usd",
)


def journaled(event: Event) -> bool:
    """Whether :class:`RowWriter` writes anything for ``event``: output lines (the
    engine's log files hold them) and the state changes it leaves implied are not."""
    if type(event) is BranchStateChanged:
        return event.reused or event.status not in _IMPLIED
    return type(event) is not OutputLines


AttemptKey = tuple[str, int]
"""A branch id and an attempt number (the engine never reuses one within a run)."""


@dataclass(frozen=True, slots=True)
class NewBranches:
    """Branches of the run whose rows the writer inserts before anything else."""

    branches: tuple[BranchPlan, ...]


@dataclass(frozen=True, slots=True)
class Finish:
    """The run's outcome, handed over by ``RunRecorder.finish``."""

    outcome: RunOutcome


@dataclass(slots=True)
class _Changes:
    """Column values to write, merged over the events of one batch."""

    branches: dict[str, dict[str, Any]] = field(default_factory=dict)
    new_attempts: dict[AttemptKey, dict[str, Any]] = field(default_factory=dict)
    attempts: dict[AttemptKey, dict[str, Any]] = field(default_factory=dict)
    merge: MergeState | None = None

    def branch(self, branch_id: str) -> dict[str, Any]:
        return self.branches.setdefault(branch_id, {})

    def attempt(self, key: AttemptKey) -> dict[str, Any]:
        new = self.new_attempts.get(key)
        return new if new is not None else self.attempts.setdefault(key, {})


class RowWriter:
    """Turns batches of events into rows; used by one writer thread only.

    Pending and waiting are not written: a branch that has not started an attempt keeps
    the status it had (pending, or how its last attempt ended), which is all history and
    resume need. Succeeded is written by the attempt's end, together with the result.
    """

    def __init__(
        self,
        *,
        root: Path,
        run_id: str,
        run_dir: Path,
        branch_index: Mapping[str, int],
        with_result: set[str],
        masker: Masker,
    ) -> None:
        self._root = root
        self._run_id = run_id
        self._run_dir = run_dir
        self._results_dir = run_dir / "results"
        self._branch_index = branch_index
        self._with_result = with_result
        """Branches whose row holds a result (a new attempt must clear it)."""
        self._masker = masker
        self._succeeded: dict[str, tuple[int, float | None]] = {}
        """Attempts and duration written with each branch's success (a later attempt has
        another number, so an entry never matches a newer outcome)."""
        self._merge_written: tuple[PolicyState, str | None] | None = None
        """The merge state and error the run's row holds (written only when they change)."""
        self._spent: dict[AttemptKey, Usage] = {}
        """What each running attempt reported so far (an attempt that is interrupted keeps
        what it had reported; its end, when it comes, gives the whole)."""

    def write(
        self,
        connection: sqlite3.Connection,
        batch: Iterable[tuple[float, Event | Finish | NewBranches]],
    ) -> None:
        """Write a batch of ``(wall time, event)`` in the caller's transaction."""
        changes = _Changes()
        for at, event in batch:
            match event:
                case NewBranches():
                    connection.executemany(
                        INSERT_BRANCH,
                        (branch_row(self._run_id, b, self._masker) for b in event.branches),
                    )
                case BranchStateChanged():
                    self._state_changed(changes, event)
                case AttemptStarted():
                    self._attempt_started(changes, at, event)
                case AttemptPlaced():
                    changes.attempt((event.branch_id, event.attempt))["worker"] = event.worker
                case ProcessStarted():
                    changes.attempt((event.branch_id, event.attempt)).update(
                        pid=event.pid, pgid=event.pgid, process_start_time=event.start_time
                    )
                case UsageReported():
                    key = (event.branch_id, event.attempt)
                    spent = self._spent[key] = self._spent.get(key, Usage()) + event.usage
                    changes.attempt(key).update(_usage_columns(spent))
                case AttemptEnded():
                    self._attempt_ended(changes, at, event)
                case ResultsChanged():
                    changes.merge = event.merge
                case RunFinished() | Finish():
                    self._flush(connection, changes)
                    changes = _Changes()
                    self._finished(connection, at, event.outcome)
        self._flush(connection, changes)

    def _state_changed(self, changes: _Changes, event: BranchStateChanged) -> None:
        if event.reused:
            changes.branch(event.branch_id)["status"] = str(event.status)
        elif journaled(event):
            # Running, retrying or settled without success: a new attempt set (an
            # operator's retry) replaces the result the row held, even one cancelled
            # before its first attempt started.
            self._drop_result(changes, event.branch_id)
            row = changes.branch(event.branch_id)
            row.update(status=str(event.status), reason=self._masked(event.reason))
            if event.attempt > 0:
                row["attempts"] = event.attempt

    def _attempt_started(self, changes: _Changes, at: float, event: AttemptStarted) -> None:
        key = (event.branch_id, event.attempt)
        changes.new_attempts[key] = {
            "started_at": at,
            "stdout_log": relative_path(event.stdout_log, self._root),
            "stderr_log": relative_path(event.stderr_log, self._root),
        }
        changes.branch(event.branch_id)["fingerprint"] = event.fingerprint

    def _drop_result(self, changes: _Changes, branch_id: str) -> None:
        """Clear the result the branch's row holds: a new attempt set replaces it."""
        if branch_id in self._with_result:
            self._with_result.discard(branch_id)
            changes.branch(branch_id).update(result=None, result_file=None, reused_from=None)

    def _attempt_ended(self, changes: _Changes, at: float, event: AttemptEnded) -> None:
        key = (event.branch_id, event.attempt)
        changes.attempt(key).update(
            ended_at=at,
            status=str(event.status),
            reason=self._masked(event.reason),
            exit_code=event.exit_code,
            duration_s=event.duration_s,
        )
        spent = self._spent.pop(key, None)
        usage = event.usage if event.usage is not None else spent
        if usage is not None:  # the attempt's whole usage (its reports summed)
            changes.attempt(key).update(_usage_columns(usage))
        if event.status is BranchStatus.SUCCEEDED:
            inline, file = self._dump_result(event.branch_id, event.result)
            changes.branch(event.branch_id).update(
                status=str(BranchStatus.SUCCEEDED),
                reason=None,
                attempts=event.attempt,
                duration_s=event.duration_s,
                result=inline,
                result_file=file,
            )
            self._succeeded[event.branch_id] = (event.attempt, event.duration_s)

    def _flush(self, connection: sqlite3.Connection, changes: _Changes) -> None:
        if changes.new_attempts:
            names = ", ".join(_ATTEMPT_COLUMNS)
            marks = ", ".join("?" * (3 + len(_ATTEMPT_COLUMNS)))
            connection.executemany(
                f"INSERT INTO attempts (run_id, branch_id, attempt, {names}) VALUES ({marks})",
                [
                    (self._run_id, branch_id, attempt, *(row.get(c) for c in _ATTEMPT_COLUMNS))
                    for (branch_id, attempt), row in changes.new_attempts.items()
                ],
            )
        for columns, rows in _by_columns(changes.attempts).items():
            connection.executemany(
                f"UPDATE attempts SET {_assignments(columns)} WHERE id = (SELECT MAX(id) "
                "FROM attempts WHERE run_id = ? AND branch_id = ? AND attempt = ?)",
                [(*values, self._run_id, *key) for key, values in rows],
            )
        for columns, rows in _by_columns(changes.branches).items():
            connection.executemany(
                f"UPDATE branches SET {_assignments(columns)} WHERE run_id = ? AND id = ?",
                [(*values, self._run_id, branch_id) for branch_id, values in rows],
            )
        if changes.merge is not None:
            self._merge_changed(connection, changes.merge)

    def _dump_result(self, branch_id: str, result: object) -> tuple[str | None, str | None]:
        self._with_result.add(branch_id)
        index = self._branch_index.get(branch_id, 0)
        return dump_value(
            result,
            self._masker,
            root=self._root,
            folder=self._results_dir,
            name=f"{index}.json",
        )

    def _merge_changed(self, connection: sqlite3.Connection, merge: MergeState) -> None:
        state = (merge.state, merge.error)
        if state == self._merge_written and merge.state is not PolicyState.MERGED:
            return  # most batches only move the count of settled branches
        self._merge_written = state
        inline: str | None = None
        file: str | None = None
        if merge.state is PolicyState.MERGED:
            inline, file = dump_value(
                merge.merged,
                self._masker,
                root=self._root,
                folder=self._run_dir,
                name="merged.json",
            )
        connection.execute(
            "UPDATE runs SET merge_state = ?, merge_error = ?, merged = ?, merged_file = ? "
            "WHERE id = ?",
            (str(merge.state), self._masked(merge.error), inline, file, self._run_id),
        )

    def _finished(self, connection: sqlite3.Connection, at: float, outcome: RunOutcome) -> None:
        self._merge_changed(connection, outcome.merge)
        connection.execute(
            "UPDATE runs SET ended_at = ?, duration_s = ?, outcome = ?, exit_code = ? WHERE id = ?",
            (
                at,
                outcome.duration_s,
                outcome_word(outcome.exit_code),
                outcome.exit_code,
                self._run_id,
            ),
        )
        # The rows of successes the writer wrote hold all of it already: left alone.
        written = self._succeeded
        connection.executemany(
            "UPDATE branches SET status = ?1, attempts = ?3, duration_s = ?4, "
            "reason = CASE WHEN ?1 = 'succeeded' THEN NULL ELSE COALESCE(?2, reason) END "
            "WHERE run_id = ?5 AND id = ?6",
            (
                (str(b.status), self._masked(b.error), b.attempts, b.duration_s, self._run_id, b.id)
                for b in outcome.branches
                if not (
                    b.status is BranchStatus.SUCCEEDED
                    and b.error is None
                    and written.get(b.id) == (b.attempts, b.duration_s)
                )
            ),
        )
        # A success the engine reported without its attempt's end (none in practice).
        for branch in outcome.branches:
            if branch.status is BranchStatus.SUCCEEDED and branch.id not in self._with_result:
                inline, file = self._dump_result(branch.id, branch.result)
                connection.execute(
                    "UPDATE branches SET result = ?, result_file = ? WHERE run_id = ? AND id = ?",
                    (inline, file, self._run_id, branch.id),
                )

    def _masked(self, text: str | None) -> str | None:
        return None if text is None else self._masker.mask(text)


def _usage_columns(usage: Usage) -> dict[str, Any]:
    return {
        "input_tokens": usage.input_tokens,
        "output_tokens": usage.output_tokens,
        "cost_usd": usage.cost_usd,
    }


def _by_columns(
    rows: Mapping[Any, dict[str, Any]],
) -> dict[tuple[str, ...], list[tuple[Any, tuple[Any, ...]]]]:
    """Group row changes by the columns they set: ``{columns: [(key, values)]}``."""
    grouped: dict[tuple[str, ...], list[tuple[Any, tuple[Any, ...]]]] = {}
    for key, row in rows.items():
        if row:
            grouped.setdefault(tuple(row), []).append((key, tuple(row.values())))
    return grouped


def _assignments(columns: tuple[str, ...]) -> str:
    """``"a = ?, b = ?"``; column names come from this module, never from data."""
    return ", ".join(f"{column} = ?" for column in columns)
