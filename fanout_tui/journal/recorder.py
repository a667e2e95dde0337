"""Recording one run: events are queued on the engine's loop and written by one thread.

:meth:`RunRecorder.record` only puts the event on a queue. A writer thread owns its own
SQLite connection; it takes everything queued since its last pass and writes it in one
transaction. Under load batches grow, so commits stay few; when the run is quiet each
event is committed as soon as the thread wakes, which keeps an attempt's start and its
process (pid, group, start time) durable within a millisecond or so of the event.
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
from fanout_tui.journal.files import make_private, make_tree_private
from fanout_tui.journal.schema import connect, transaction
from fanout_tui.journal.values import Mask, dump_value, relative_path

MAX_BATCH = 1000
"""Events written in one transaction at most."""

OUTCOME_WORDS = {0: "succeeded", 3: "partial", 1: "failed", 130: "interrupted"}


def outcome_word(exit_code: int) -> str:
    """How the history names a run that ended with ``exit_code``."""
    return OUTCOME_WORDS.get(exit_code, f"exit {exit_code}")


_LATEST_ATTEMPT = (
    "(SELECT MAX(id) FROM attempts WHERE run_id = ? AND branch_id = ? AND attempt = ?)"
)
"""The row of an attempt (run, branch, attempt number): the newest, should numbers repeat."""


@dataclass(frozen=True, slots=True)
class _Finish:
    outcome: RunOutcome


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
        mask: Mask,
    ) -> None:
        self.run_id = run_id
        self.log_dir = log_dir
        self._run_dir = run_dir
        self._queue: queue.SimpleQueue[_Item | object] = queue.SimpleQueue()
        self._writer = _EventWriter(
            root=root, run_id=run_id, run_dir=run_dir, branch_index=branch_index, mask=mask
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
            while not stopping:
                batch: list[_Item] = []
                waiters: list[threading.Event] = []
                item = self._queue.get()
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
        mask: Mask,
    ) -> None:
        self._root = root
        self._run_id = run_id
        self._run_dir = run_dir
        self._branch_index = branch_index
        self._mask = mask
        self._logs: dict[tuple[str, int], tuple[Path | None, Path | None]] = {}

    def write(self, connection: sqlite3.Connection, batch: list[_Item]) -> None:
        """Write one batch of ``(wall time, event)`` in the caller's transaction."""
        # Only the newest merge state of a batch matters.
        last_merge = max(
            (i for i, (_, event) in enumerate(batch) if type(event) is ResultsChanged),
            default=-1,
        )
        for i, (at, event) in enumerate(batch):
            match event:
                case BranchStateChanged():
                    self._state_changed(connection, event)
                case AttemptStarted():
                    self._attempt_started(connection, at, event)
                case ProcessStarted():
                    self._process_started(connection, event)
                case AttemptEnded():
                    self._attempt_ended(connection, at, event)
                case ResultsChanged() if i == last_merge:
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
        connection.execute(
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
        self._logs[(event.branch_id, event.attempt)] = (event.stdout_log, event.stderr_log)
        # A new attempt replaces whatever result the branch had (an operator's retry).
        connection.execute(
            "UPDATE branches SET status = ?, attempts = ?, result = NULL, result_file = NULL, "
            "reused_from = NULL WHERE run_id = ? AND id = ?",
            (str(BranchStatus.RUNNING), event.attempt, self._run_id, event.branch_id),
        )

    def _process_started(self, connection: sqlite3.Connection, event: ProcessStarted) -> None:
        self._tighten_logs(event.branch_id, event.attempt, forget=False)
        connection.execute(
            "UPDATE attempts SET pid = ?, pgid = ?, process_start_time = ? "
            f"WHERE id = {_LATEST_ATTEMPT}",
            (event.pid, event.pgid, event.start_time, self._run_id, event.branch_id, event.attempt),
        )

    def _attempt_ended(
        self, connection: sqlite3.Connection, at: float, event: AttemptEnded
    ) -> None:
        connection.execute(
            "UPDATE attempts SET ended_at = ?, status = ?, reason = ?, exit_code = ?, "
            f"duration_s = ? WHERE id = {_LATEST_ATTEMPT}",
            (
                at,
                str(event.status),
                self._masked(event.reason),
                event.exit_code,
                event.duration_s,
                self._run_id,
                event.branch_id,
                event.attempt,
            ),
        )
        self._tighten_logs(event.branch_id, event.attempt, forget=True)
        if event.status is BranchStatus.SUCCEEDED:
            self._store_result(connection, event.branch_id, event.result)
            connection.execute(
                "UPDATE branches SET status = ?, reason = NULL, attempts = ?, duration_s = ? "
                "WHERE run_id = ? AND id = ?",
                (
                    str(BranchStatus.SUCCEEDED),
                    event.attempt,
                    event.duration_s,
                    self._run_id,
                    event.branch_id,
                ),
            )

    def _tighten_logs(self, branch_id: str, attempt: int, *, forget: bool) -> None:
        """Make an attempt's log files (created by the engine) the owner's only."""
        key = (branch_id, attempt)
        paths = self._logs.pop(key, ()) if forget else self._logs.get(key, ())
        for path in paths:
            make_private(path)

    def _store_result(self, connection: sqlite3.Connection, branch_id: str, result: object) -> None:
        index = self._branch_index.get(branch_id, 0)
        inline, file = dump_value(
            result,
            self._mask,
            root=self._root,
            spill_to=self._run_dir / "results" / f"{index}.json",
        )
        connection.execute(
            "UPDATE branches SET result = ?, result_file = ? WHERE run_id = ? AND id = ?",
            (inline, file, self._run_id, branch_id),
        )

    def _merge_changed(self, connection: sqlite3.Connection, merge: MergeState) -> None:
        inline: str | None = None
        file: str | None = None
        if merge.state is PolicyState.MERGED:
            inline, file = dump_value(
                merge.merged, self._mask, root=self._root, spill_to=self._run_dir / "merged.json"
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
        make_tree_private(self._run_dir)

    def _masked(self, text: str | None) -> str | None:
        return None if text is None else self._mask(text)
