"""Recording one run: events are queued on the engine's loop and written by one thread.

:meth:`RunRecorder.record` only puts the event on a queue. A writer thread owns its own
SQLite connection; it takes everything queued since its last pass and writes it in one
transaction, at most every :data:`MIN_COMMIT_INTERVAL_S` unless someone waits for it:
under load commits stay few, and yet every event is committed promptly.

Nothing the engine does waits for a commit. What makes a ``kill -9`` safe at any moment
is that the run's row is committed before its first process starts, and every process
of the run carries the run's mark (:attr:`RunRecorder.marks`) in its environment: a
resume finds what the killed run left running by that mark, even a process whose pid
never reached the journal. A branch whose success is not committed runs again; so a
front end says a branch succeeded only once it is committed (:meth:`RunRecorder.on_commit`).

A write that fails (a full disk) is said at once on stderr and the run goes on: what
could not be written stays queued and is written again every :data:`RETRY_S`, so the
run's true outcome is recorded once there is space again; if there is none by the end,
that is said too.
"""

from __future__ import annotations

import errno
import queue
import sqlite3
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from fanout_tui.engine import (
    RUN_MARK,
    BranchStateChanged,
    BranchStatus,
    Event,
    RunFinished,
    RunOutcome,
)
from fanout_tui.journal._lock import RunLock
from fanout_tui.journal._rows import Finish, NewBranches, RowWriter, journaled
from fanout_tui.journal._schema import connect, transaction
from fanout_tui.spec import BranchPlan, Masker

MAX_BATCH = 1000
"""Events written in one transaction at most."""

MIN_COMMIT_INTERVAL_S = 0.1
"""The writer commits at most this often: an event that comes after a quiet spell is
committed at once, one in a busy stretch within 100 ms. Each pass of the writer holds the
interpreter's lock for its Python work, which the engine's loop then waits for: ten
passes a second instead of fifty halve the writer's CPU time in a 500-branch run of
``true``, and a branch that succeeded in the last 100 ms before a ``kill -9`` runs again
on resume, which is all the window costs."""


RETRY_S = 1.0
"""How often a write that failed is tried again."""

_STOP = object()


_Item = tuple[float, Event | Finish | NewBranches]


class RunRecorder:
    """Records one run: pass :meth:`record` to ``Engine.add_listener``.

    Attributes:
        run_id: The run's id in the journal.
        run_dir: The run's folder in the journal.
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
        new_branches: Sequence[BranchPlan],
        reused: set[str],
        masker: Masker,
        lock: RunLock | None = None,
    ) -> None:
        self.run_id = run_id
        self._lock = lock
        """The run's lock (see :mod:`._lock`), held until the writer has stopped."""
        self.run_dir = run_dir
        self.log_dir = log_dir
        self._queue: queue.SimpleQueue[_Item | object] = queue.SimpleQueue()
        self._writer = RowWriter(
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
        self._recorded_outcome: RunOutcome | None = None
        """The outcome of the engine's ``RunFinished``, once recorded."""
        self._commit_listeners: list[Callable[[Event], None]] = []
        self._failing: str | None = None
        """Why the last write failed, while writes fail."""
        self._hurry = threading.Event()
        """Set when someone waits for the writer (finish, close, flush): no pause then."""
        if new_branches:
            # Their rows go first, from the writer: no process waits for them.
            self._queue.put((time.time(), NewBranches(tuple(new_branches))))
        self._thread = threading.Thread(
            target=self._write_loop, name=f"journal-{run_id}", daemon=True
        )
        self._thread.start()

    @property
    def marks(self) -> dict[str, str]:
        """Variables for the environment of every process of the run (pass them as
        ``Engine(run_env=...)``): how a resume finds what this run left if it is killed."""
        return {RUN_MARK: self.run_id}

    def record(self, event: Event) -> None:
        """Journal one engine event (cheap: queued to the writer, unless it writes nothing,
        like output lines, which the engine already spools to the log files)."""
        if journaled(event) or (self._commit_listeners and _success(event)):
            # A success is written by its attempt's end, queued before it; it passes
            # through the writer only to be told once that end is committed.
            self._queue.put((time.time(), event))
            if type(event) is RunFinished:
                # finish() follows: the last pass can start while the engine winds down.
                self._recorded_outcome = event.outcome
                self._hurry.set()

    def on_commit(self, listener: Callable[[Event], None]) -> None:
        """Call ``listener`` with each journaled event once its transaction is committed
        (on the writer's thread), or once the journal gave up writing it. Add listeners
        before the run starts."""
        self._commit_listeners.append(listener)

    def finish(self, outcome: RunOutcome) -> None:
        """Record the outcome, write everything queued and stop the writer."""
        if not self._closed and outcome is not self._recorded_outcome:
            self._queue.put((time.time(), Finish(outcome)))
        self.close()

    def close(self) -> None:
        """Write everything queued and stop the writer (a run closed without :meth:`finish`
        stays unfinished in the journal: an interrupted run). Idempotent."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(_STOP)
        self._hurry.set()
        self._thread.join()
        if self._lock is not None:
            self._lock.release()
        if self._error is not None:
            _say(
                f"the journal stopped recording run {self.run_id}: {self._error}; what it "
                "could not record is not in the journal (`fanout-tui runs` may show the run "
                "as interrupted, and a resume runs again what it does not hold)"
            )

    def flush(self) -> None:
        """Block until everything recorded so far is committed (for tests and tools)."""
        done = threading.Event()
        self._queue.put(done)
        self._hurry.set()
        done.wait()

    def _write_loop(self) -> None:
        try:
            connection = connect(self._database)
        except sqlite3.Error as error:
            self._error = error
            connection = None
        unwritten: list[_Item] = []  # what a failed write left, written again first
        try:
            stopping = False
            backlog = False
            last_commit = float("-inf")
            while not stopping:
                batch: list[_Item] = unwritten
                unwritten = []
                waiters: list[threading.Event] = []
                try:
                    item = self._queue.get(timeout=RETRY_S if batch else None)
                except queue.Empty:
                    item = None  # nothing new: try the unwritten again
                # A quiet run commits at once; a busy one lets the burst this event belongs
                # to arrive, so that it commits in one go, unless someone is waiting or
                # the last pass left events behind (a full batch): those go on at once.
                pause = last_commit + MIN_COMMIT_INTERVAL_S - time.monotonic()
                if pause > 0 and not backlog and item is not None:
                    self._hurry.wait(pause)
                self._hurry.clear()  # what was put before it was set is drained below
                backlog = False
                while item is not None:
                    if item is _STOP:
                        stopping = True
                    elif isinstance(item, threading.Event):
                        waiters.append(item)
                    else:
                        batch.append(item)  # type: ignore[arg-type]
                    if len(batch) >= MAX_BATCH:
                        backlog = True
                        break
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                if batch and connection is not None and self._error is None:
                    if not self._commit(connection, batch):
                        unwritten = batch
                        if stopping:
                            self._error = _Unwritten(self._failing)
                    last_commit = time.monotonic()
                if batch and (connection is None or self._error is not None):
                    self._tell_listeners(batch)  # given up: front ends say it all the same
                    unwritten = []
                for waiter in waiters:
                    waiter.set()
        finally:
            if connection is not None:
                connection.close()
            _release_waiters(self._queue)  # nobody may wait on a writer that is gone

    def _commit(self, connection: sqlite3.Connection, batch: list[_Item]) -> bool:
        """Write ``batch`` in one transaction; say on stderr when writes start or stop
        failing. Returns whether it was committed."""
        try:
            with transaction(connection):
                self._writer.write(connection, batch)
        except (sqlite3.Error, OSError) as error:
            if not _passing(error):
                self._error = error
                return False
            # A full disk, a quota, an I/O error: the run goes on, the batch waits.
            if self._failing is None:
                _say(
                    f"the journal cannot record run {self.run_id} now: {error}; the run "
                    f"goes on, and what it could not record is tried again every {RETRY_S:g}s"
                )
            self._failing = str(error)
            return False
        except (ValueError, RecursionError) as error:
            # A result that contains itself.
            self._error = error
            return False
        if self._failing is not None:
            self._failing = None
            _say(f"the journal records run {self.run_id} again: all it held back is recorded")
        self._tell_listeners(batch)
        return True

    def _tell_listeners(self, batch: list[_Item]) -> None:
        for _, event in batch:
            if isinstance(event, Finish | NewBranches):
                continue
            for listener in self._commit_listeners:
                listener(event)


_PASSING_SQLITE = frozenset({sqlite3.SQLITE_FULL, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_BUSY})
_PASSING_ERRNO = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO})


def _passing(error: sqlite3.Error | OSError) -> bool:
    """Whether ``error`` may pass (a full disk, a quota, an I/O error, a busy database),
    so that writing the same batch again later can succeed."""
    if isinstance(error, OSError):
        return error.errno in _PASSING_ERRNO
    code = getattr(error, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in _PASSING_SQLITE
    return isinstance(error, sqlite3.OperationalError) and "disk is full" in str(error)


def _success(event: Event) -> bool:
    return type(event) is BranchStateChanged and event.status is BranchStatus.SUCCEEDED


class _Unwritten(Exception):
    """The journal was still failing when the run ended."""


def _say(sentence: str) -> None:
    print(f"fanout-tui: {sentence}", file=sys.stderr, flush=True)


def _release_waiters(items: queue.SimpleQueue[_Item | object]) -> None:
    """Wake every waiter still queued (events left unwritten are dropped)."""
    while True:
        try:
            item = items.get_nowait()
        except queue.Empty:
            return
        if isinstance(item, threading.Event):
            item.set()
