"""Recording one run: events are queued on the engine's loop and written by one thread.

:meth:`RunRecorder.record` only puts the event on a queue. A writer thread owns its own
SQLite connection; it takes everything queued since its last pass and writes it in one
transaction, at most every :data:`MIN_COMMIT_INTERVAL_S`: under load commits stay few,
and yet every event is committed promptly, which keeps an attempt's start and its
process (pid, group, start time) durable within milliseconds of the event. A kill in
that window loses nothing that matters: a branch whose success is not committed runs
again on resume.
"""

from __future__ import annotations

import queue
import sqlite3
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from fanout_tui.engine.events import (
    AttemptEnded,
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
)
from fanout_tui.engine.masking import Masker
from fanout_tui.journal.files import DIR_MODE, make_private
from fanout_tui.journal.schema import connect, transaction
from fanout_tui.journal.values import dump_value, relative_path

MAX_BATCH = 1000
"""Events written in one transaction at most."""

MIN_COMMIT_INTERVAL_S = 0.02
"""The writer commits at most this often: an event that comes after a quiet spell is
committed at once, one in a busy stretch within 20 ms, and a 500-branch run makes about
fifty commits a second instead of several hundred (each commit rewrites the pages it
touched into the WAL)."""


OUTCOME_WORDS = {0: "succeeded", 3: "partial", 1: "failed", 130: "interrupted"}


def outcome_word(exit_code: int) -> str:
    """How the history names a run that ended with ``exit_code``."""
    return OUTCOME_WORDS.get(exit_code, f"exit {exit_code}")


@dataclass(frozen=True, slots=True)
class _AttemptRow:
    """An attempt's row id and log files, while it runs."""

    id: int
    stdout_log: Path | None
    stderr_log: Path | None


@dataclass(frozen=True, slots=True)
class _Finish:
    outcome: RunOutcome


_IMPLIED = frozenset({BranchStatus.PENDING, BranchStatus.WAITING, BranchStatus.SUCCEEDED})
"""States not written from state changes (see :meth:`_EventWriter.write`)."""

_STOP = object()

_Item = tuple[float, Event | _Finish]


class RunRecorder:
    """Records one run: pass :meth:`record` to ``Engine.add_listener``.

    Attributes:
        run_id: The run's id in the journal.
        log_dir: The folder where the engine writes each attempt's stdout and stderr.
    """

    def __init__(
        self,
        *,
        database: Path,
        root: Path,
        run_id: str,
        run_dir: Path,
        log_dir: Path,
        branch_index: Mapping[str, int],
        reused: set[str],
        masker: Masker,
    ) -> None:
        self.run_id = run_id
        self.log_dir = log_dir
        self._run_dir = run_dir
        self._queue: queue.SimpleQueue[_Item | object] = queue.SimpleQueue()
        self._writer = _EventWriter(
            root=root,
            run_id=run_id,
            run_dir=run_dir,
            branch_index=branch_index,
            with_result=set(reused),
            masker=masker,
        )
        self._database = database
        self._error: BaseException | None = None
        self._closed = False
        self._thread = threading.Thread(
            target=self._write_loop, name=f"journal-{run_id}", daemon=True
        )
        self._thread.start()

    def record(self, event: Event) -> None:
        """Journal one engine event (cheap: queued to the writer; output lines are skipped,
        since the engine already spools them to the log files)."""
        if type(event) is not OutputLines:
            self._queue.put((time.time(), event))

    def finish(self, outcome: RunOutcome) -> None:
        """Record the outcome, write everything queued and stop the writer."""
        if not self._closed:
            self._queue.put((time.time(), _Finish(outcome)))
        self.close()

    def close(self) -> None:
        """Write everything queued and stop the writer (a run closed without :meth:`finish`
        stays unfinished in the journal: an interrupted run). Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)
        self._thread.join()
        if self._error is not None:
            print(
                f"fanout-tui: the journal stopped recording run {self.run_id}: {self._error}",
                file=sys.stderr,
            )

    def flush(self) -> None:
        """Block until everything recorded so far is committed (for tests and tools)."""
        done = threading.Event()
        self._queue.put(done)
        done.wait()

    def _write_loop(self) -> None:
        try:
            connection = connect(self._database)
        except sqlite3.Error as error:
            self._error = error
            connection = None
        try:
            stopping = False
            last_commit = float("-inf")
            while not stopping:
                batch: list[_Item] = []
                waiters: list[threading.Event] = []
                item = self._queue.get()
                # A quiet run commits at once; a busy one lets the burst this event belongs
                # to arrive, so that it commits in one go.
                pause = last_commit + MIN_COMMIT_INTERVAL_S - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
                while True:
                    if item is _STOP:
                        stopping = True
                    elif isinstance(item, threading.Event):
                        waiters.append(item)
                    else:
                        batch.append(item)  # type: ignore[arg-type]
                    if len(batch) >= MAX_BATCH:
                        break
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                if batch and connection is not None and self._error is None:
                    try:
                        with transaction(connection):
                            self._writer.write(connection, batch)
                    except (sqlite3.Error, OSError) as error:
                        self._error = error
                    last_commit = time.monotonic()
                for waiter in waiters:
                    waiter.set()
        finally:
            if connection is not None:
                connection.close()


class _EventWriter:
    """Turns events into rows; runs on the writer thread only."""

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
        self._branch_index = branch_index
        self._with_result = with_result
        """Branches whose row holds a result (a new attempt must clear it)."""
        self._masker = masker
        self._attempts: dict[tuple[str, int], _AttemptRow] = {}
        self._private_folders: set[Path] = set()

    def write(self, connection: sqlite3.Connection, batch: list[_Item]) -> None:
        """Write one batch of ``(wall time, event)`` in the caller's transaction.

        Of several state changes of one branch, or several merge states, in one batch
        only the newest is written: the rows end the same, with fewer statements. Pending
        and waiting are not written at all: a branch that has not started an attempt
        keeps the status it had (pending, or how its last attempt ended), which is
        all that history and resume need. Succeeded is written by the attempt's end,
        together with the result. That makes a third fewer writes.
        """
        newest: dict[str, int] = {}
        for i, (_, event) in enumerate(batch):
            if type(event) is BranchStateChanged:
                if event.reused or event.status not in _IMPLIED:
                    newest[event.branch_id] = i
            elif type(event) is ResultsChanged:
                newest[""] = i  # no branch id is empty
        for i, (at, event) in enumerate(batch):
            match event:
                case BranchStateChanged() if newest.get(event.branch_id) == i:
                    self._state_changed(connection, event)
                case AttemptStarted():
                    self._attempt_started(connection, at, event)
                case ProcessStarted():
                    self._process_started(connection, event)
                case AttemptEnded():
                    self._attempt_ended(connection, at, event)
                case ResultsChanged() if newest[""] == i:
                    self._merge_changed(connection, event.merge)
                case RunFinished() | _Finish():
                    self._finished(connection, at, event.outcome)

    def _state_changed(self, connection: sqlite3.Connection, event: BranchStateChanged) -> None:
        if event.reused:
            connection.execute(
                "UPDATE branches SET status = ? WHERE run_id = ? AND id = ?",
                (str(event.status), self._run_id, event.branch_id),
            )
            return
        connection.execute(
            "UPDATE branches SET status = ?, reason = ?, attempts = MAX(?, 0) "
            "WHERE run_id = ? AND id = ?",
            (
                str(event.status),
                self._masked(event.reason),
                event.attempt,
                self._run_id,
                event.branch_id,
            ),
        )

    def _attempt_started(
        self, connection: sqlite3.Connection, at: float, event: AttemptStarted
    ) -> None:
        cursor = connection.execute(
            "INSERT INTO attempts (run_id, branch_id, attempt, started_at, stdout_log, stderr_log) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (
                self._run_id,
                event.branch_id,
                event.attempt,
                at,
                relative_path(event.stdout_log, self._root),
                relative_path(event.stderr_log, self._root),
            ),
        )
        assert cursor.lastrowid is not None
        self._attempts[(event.branch_id, event.attempt)] = _AttemptRow(
            cursor.lastrowid, event.stdout_log, event.stderr_log
        )
        if event.branch_id in self._with_result:
            # A new attempt replaces the result the branch had (an operator's retry).
            self._with_result.discard(event.branch_id)
            connection.execute(
                "UPDATE branches SET result = NULL, result_file = NULL, reused_from = NULL "
                "WHERE run_id = ? AND id = ?",
                (self._run_id, event.branch_id),
            )

    def _process_started(self, connection: sqlite3.Connection, event: ProcessStarted) -> None:
        row = self._attempts.get((event.branch_id, event.attempt))
        if row is None:
            return  # its start was not recorded (the journal started late): nothing to add to
        connection.execute(
            "UPDATE attempts SET pid = ?, pgid = ?, process_start_time = ? WHERE id = ?",
            (event.pid, event.pgid, event.start_time, row.id),
        )

    def _attempt_ended(
        self, connection: sqlite3.Connection, at: float, event: AttemptEnded
    ) -> None:
        row = self._attempts.pop((event.branch_id, event.attempt), None)
        if row is not None:
            connection.execute(
                "UPDATE attempts SET ended_at = ?, status = ?, reason = ?, exit_code = ?, "
                "duration_s = ? WHERE id = ?",
                (
                    at,
                    str(event.status),
                    self._masked(event.reason),
                    event.exit_code,
                    event.duration_s,
                    row.id,
                ),
            )
            self._make_logs_private(row)
        if event.status is BranchStatus.SUCCEEDED:
            inline, file = self._dump_result(event.branch_id, event.result)
            connection.execute(
                "UPDATE branches SET status = ?, reason = NULL, attempts = ?, duration_s = ?, "
                "result = ?, result_file = ? WHERE run_id = ? AND id = ?",
                (
                    str(BranchStatus.SUCCEEDED),
                    event.attempt,
                    event.duration_s,
                    inline,
                    file,
                    self._run_id,
                    event.branch_id,
                ),
            )

    def _make_logs_private(self, row: _AttemptRow) -> None:
        """The engine created the logs (and their folder); keep them the owner's only."""
        for path in (row.stdout_log, row.stderr_log):
            if path is None:
                continue
            make_private(path)
            if path.parent not in self._private_folders:
                self._private_folders.add(path.parent)
                make_private(path.parent, mode=DIR_MODE)

    def _store_result(self, connection: sqlite3.Connection, branch_id: str, result: object) -> None:
        inline, file = self._dump_result(branch_id, result)
        connection.execute(
            "UPDATE branches SET result = ?, result_file = ? WHERE run_id = ? AND id = ?",
            (inline, file, self._run_id, branch_id),
        )

    def _dump_result(self, branch_id: str, result: object) -> tuple[str | None, str | None]:
        self._with_result.add(branch_id)
        index = self._branch_index.get(branch_id, 0)
        return dump_value(
            result,
            self._masker,
            root=self._root,
            spill_to=self._run_dir / "results" / f"{index}.json",
        )

    def _merge_changed(self, connection: sqlite3.Connection, merge: MergeState) -> None:
        inline: str | None = None
        file: str | None = None
        if merge.state is PolicyState.MERGED:
            inline, file = dump_value(
                merge.merged, self._masker, root=self._root, spill_to=self._run_dir / "merged.json"
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
        connection.executemany(
            "UPDATE branches SET status = ?1, attempts = ?3, duration_s = ?4, "
            "reason = CASE WHEN ?1 = 'succeeded' THEN NULL ELSE COALESCE(?2, reason) END "
            "WHERE run_id = ?5 AND id = ?6",
            (
                (str(b.status), self._masked(b.error), b.attempts, b.duration_s, self._run_id, b.id)
                for b in outcome.branches
            ),
        )
        missing = {
            row[0]
            for row in connection.execute(
                "SELECT id FROM branches WHERE run_id = ? AND status = ? "
                "AND result IS NULL AND result_file IS NULL",
                (self._run_id, str(BranchStatus.SUCCEEDED)),
            )
        }
        for branch in outcome.branches:
            if branch.id in missing:
                self._store_result(connection, branch.id, branch.result)

    def _masked(self, text: str | None) -> str | None:
        return None if text is None else self._masker.mask(text)
