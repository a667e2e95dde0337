"""The journal folder: a SQLite database (WAL) and, beside it, each run's logs and large results.

Layout of a journal folder (``.fanout/`` by default), every folder 0700, every file 0600::

    journal.db (+ -wal, -shm)     runs, branches, attempts
    runs/<run id>/logs/           each attempt's stdout and stderr, written by the engine
                                  (<branch>.attempt-<n>.stdout / .stderr)
    runs/<run id>/results/        branch results too large for a column
    runs/<run id>/merged.json     the merged result, when too large for a column
"""

from __future__ import annotations

import os
import secrets
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple, Self

from fanout_tui.engine import BranchStatus, ReusedResult
from fanout_tui.journal._files import make_private, private_dir, private_file
from fanout_tui.journal._leftovers import end_leftover_groups, is_alive, process_start_time
from fanout_tui.journal._lookup import (
    LATEST,
    RunNotFound,
    find_run,
    latest_run,
    other_spec_notice,
    reusable_results,
    spec_key,
)
from fanout_tui.journal._recorder import RunRecorder
from fanout_tui.journal._rows import INSERT_BRANCH, branch_row
from fanout_tui.journal._schema import (
    DATABASE_NAME,
    NotAJournal,
    SchemaTooNew,
    check_ours,
    connect_read_only,
    migrate,
    open_unchecked,
    transaction,
    use_wal,
)
from fanout_tui.journal._values import dump_value
from fanout_tui.spec import BranchPlan, Masker, Plan

__all__ = ["Journal", "JournalError", "RunRecorder"]

INTERRUPTED_REASON = "fanout-tui stopped before the attempt ended"


class JournalError(Exception):
    """The journal cannot do what was asked; str is one sentence for the operator."""


def foreign_database(label: str, error: NotAJournal) -> str:
    """The operator's message for a journal folder whose database is another program's."""
    return (
        f"cannot use the journal {label}: {label}{DATABASE_NAME} is an SQLite database of "
        f"another program ({error}); fanout-tui leaves it alone: name another folder "
        "with --journal"
    )


def _make_usable(
    connection: sqlite3.Connection, label: str, *steps: Callable[[sqlite3.Connection], object]
) -> None:
    """Take ``steps`` in turn on the newly opened ``connection`` to the journal ``label``
    (the first checks it is a journal); when one fails, close it and say why in one
    sentence.

    Raises:
        JournalError: the database is another program's, of a later fanout-tui, or cannot
            be read.
    """
    try:
        for step in steps:
            step(connection)
    except NotAJournal as error:
        connection.close()
        raise JournalError(foreign_database(label, error)) from None
    except (SchemaTooNew, sqlite3.Error) as error:
        connection.close()
        raise JournalError(f"cannot use the journal {label}: {error}") from None


@contextmanager
def reading(label: str) -> Iterator[None]:
    """Turn what SQLite raises while reading the journal ``label`` (``.fanout/``) into one
    sentence.

    Raises:
        JournalError: in place of :class:`sqlite3.Error`.
    """
    try:
        yield
    except sqlite3.Error as error:
        raise JournalError(f"cannot read the journal {label}: {error}") from None


def _nobody(notice: str) -> None:
    """Tell nobody of ``notice``."""


class Resumption(NamedTuple):
    """What :meth:`Journal.prepare_resume` found."""

    run_id: str | None
    """The run resumed from; None when the latest run was asked for and the spec has none
    yet (a run killed before it was recorded, or a first run): every branch runs."""
    reused: dict[str, ReusedResult]
    """The results that can be reused, by branch id."""
    ended_groups: int
    """How many process groups that killed runs left running were ended."""


class Journal:
    """The journal folder: a SQLite database and spooled logs.

    Open it with :meth:`open` and use it as a context manager; closing it stops the
    writer of any run not finished yet (that run then reads as interrupted).
    """

    def __init__(self, root: Path, label: str, connection: sqlite3.Connection) -> None:
        self.root = root
        """The journal folder, absolute."""
        self.label = label
        """The folder as the operator named it, for messages (``.fanout/``)."""
        self._connection = connection
        self._recorders: list[RunRecorder] = []
        self._prepared: dict[str, dict[str, ReusedResult]] = {}

    @classmethod
    def open(cls, path: Path) -> Self:
        """Open (creating, migrating) the journal at ``path``; use as a context manager.

        Raises:
            JournalError: the folder cannot be created, the database cannot be read, or
                it is not a journal (another program's SQLite file is left alone).
        """
        label = f"{path}/"
        if path.exists() and not path.is_dir():
            raise JournalError(f"the journal {path} is not a folder")
        try:
            root = private_dir(path).resolve()
            database = private_file(root / DATABASE_NAME)
            connection = open_unchecked(database)
        except (OSError, sqlite3.Error) as error:
            raise JournalError(f"cannot open the journal {label}: {error}") from None
        # Checked to be ours before WAL, which would change another program's file.
        _make_usable(connection, label, check_ours, use_wal, migrate)
        for suffix in ("-wal", "-shm"):
            make_private(database.with_name(database.name + suffix))
        return cls(root, label, connection)

    @classmethod
    def open_for_reading(cls, path: Path) -> Self:
        """Open the journal at ``path`` to read it only (listing and showing runs): nothing
        is created, migrated or written, so a read-only folder or mount is enough.

        A journal of an earlier version is read as it is: what is read of a run was all
        there in version 1. Use as a context manager.

        Raises:
            JournalError: there is no journal database there, it cannot be read, or it
                is not a journal.
        """
        label = f"{path}/"
        database = path / DATABASE_NAME
        if not database.is_file():
            raise JournalError(f"there is no journal in {label}")
        try:
            connection = connect_read_only(database)
        except sqlite3.Error as error:
            raise JournalError(f"cannot open the journal {label}: {error}") from None
        _make_usable(connection, label, check_ours)
        return cls(path.resolve(), label, connection)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop every recorder still writing and close the database."""
        for recorder in self._recorders:
            recorder.close()
        self._recorders.clear()
        self._connection.close()

    @property
    def connection(self) -> sqlite3.Connection:
        """The reading connection (history, resume)."""
        return self._connection

    def find_run(self, run_ref: str) -> sqlite3.Row:
        """The run named by ``run_ref`` (an id or a unique prefix of one).

        Raises:
            JournalError: no single run matches, or the journal cannot be read.
        """
        try:
            with reading(self.label):
                return find_run(self._connection, run_ref, where=self.label)
        except RunNotFound as error:
            raise JournalError(str(error)) from None

    def prepare_resume(
        self, plan: Plan, run_ref: str, *, notify: Callable[[str], None] = _nobody
    ) -> Resumption:
        """Find the run to resume (``"latest"``: the latest of this spec), end the process
        groups that killed runs left running, and say what can be reused.

        What the operator should know of the resume beyond :class:`Resumption` (a run of
        another spec file, whose results are reused by definition all the same) is passed
        to ``notify``, one sentence at a time; without it, nobody is told.

        Raises:
            JournalError: ``run_ref`` names no run, or the journal cannot be read.
        """
        try:
            if run_ref == LATEST:
                run = latest_run(self._connection, plan)
            else:
                run = find_run(self._connection, run_ref, where=self.label)
            ended = self.end_leftovers()
            if run is None:
                return Resumption(None, {}, ended)
            reused = reusable_results(self._connection, run["id"], plan, root=self.root)
        except RunNotFound as error:
            raise JournalError(str(error)) from None
        except (OSError, sqlite3.Error) as error:
            raise JournalError(f"cannot resume from {self.label}: {error}") from None
        self._prepared[run["id"]] = reused
        notice = other_spec_notice(run, plan, len(reused))
        if notice is not None:
            notify(notice)
        return Resumption(run["id"], reused, ended)

    def end_leftovers(self) -> int:
        """End what killed runs left running, and mark their open attempts interrupted;
        return how many process groups were ended.

        A run was killed when it never ended and its fanout-tui is gone. A recorded group
        is signalled only while its leader's pid and start time both still match; a
        process whose pid was not recorded yet is found by its run's mark
        (:data:`~fanout_tui.engine._run_mark.RUN_MARK`).
        """
        runs = self._connection.execute(
            "SELECT id, started_at, owner_pid, owner_start_time FROM runs WHERE ended_at IS NULL"
        ).fetchall()
        killed = {
            row["id"]: row["started_at"]
            for row in runs
            if not is_alive(row["owner_pid"], row["owner_start_time"])
        }
        if not killed:
            return 0
        marks = ",".join("?" * len(killed))
        open_attempts = self._connection.execute(
            "SELECT id, pid, pgid, process_start_time FROM attempts "
            f"WHERE ended_at IS NULL AND run_id IN ({marks})",
            tuple(killed),
        ).fetchall()
        ended = end_leftover_groups(
            (
                (row["pid"], row["pgid"], row["process_start_time"])
                for row in open_attempts
                if row["pid"] is not None and row["pgid"] is not None
            ),
            killed,
        )
        if open_attempts:
            now = time.time()
            with transaction(self._connection):
                self._connection.executemany(
                    "UPDATE attempts SET ended_at = ?, status = 'interrupted', reason = ? "
                    "WHERE id = ?",
                    ((now, INTERRUPTED_REASON, row["id"]) for row in open_attempts),
                )
        return ended

    def start_run(self, plan: Plan, *, resumed_from: str | None = None) -> RunRecorder:
        """Record a new run of ``plan``; branches reused from ``resumed_from`` are recorded
        as succeeded with their result, so a later resume finds them again.

        Raises:
            JournalError: the run cannot be recorded.
        """
        masker = Masker.from_environ(plan.secrets)
        try:
            if resumed_from is None:
                reused: dict[str, ReusedResult] = {}
            elif resumed_from in self._prepared:
                reused = self._prepared.pop(resumed_from)
            else:
                reused = reusable_results(self._connection, resumed_from, plan, root=self.root)
            run_id, run_dir = self._insert_run(plan, resumed_from, reused, masker)
            log_dir = private_dir(run_dir / "logs")
        except (OSError, sqlite3.Error) as error:
            raise JournalError(f"cannot record the run in {self.label}: {error}") from None
        recorder = RunRecorder(
            database=self.root / DATABASE_NAME,
            root=self.root,
            run_id=run_id,
            run_dir=run_dir,
            log_dir=log_dir,
            branch_index={b.id: b.index for b in plan.branches},
            new_branches=tuple(b for b in plan.branches if b.id not in reused),
            reused=set(reused),
            masker=masker,
        )
        self._recorders.append(recorder)
        return recorder

    def _insert_run(
        self,
        plan: Plan,
        resumed_from: str | None,
        reused: dict[str, ReusedResult],
        masker: Masker,
    ) -> tuple[str, Path]:
        """Commit the run's row and the rows of its reused branches (a resume of this run,
        should it be killed, finds them); the writer adds the other branches' rows."""
        secret_names = frozenset(plan.secrets)
        pid = os.getpid()
        with transaction(self._connection):
            run_id = self._new_run_id()
            run_dir = private_dir(self.root / "runs" / run_id)
            self._connection.execute(
                "INSERT INTO runs (id, spec_path, spec_name, started_at, branch_count, "
                "resumed_from, owner_pid, owner_start_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    spec_key(plan),
                    masker.mask(plan.name),
                    time.time(),
                    len(plan.branches),
                    resumed_from,
                    pid,
                    process_start_time(pid),
                ),
            )
            self._connection.executemany(
                INSERT_BRANCH,
                [
                    branch_row(
                        run_id,
                        branch,
                        masker,
                        fingerprint=branch.fingerprint(secret_names),
                        earlier=self._earlier_columns(reused[branch.id], masker, run_dir, branch),
                    )
                    for branch in plan.branches
                    if branch.id in reused
                ],
            )
        return run_id, run_dir

    def _earlier_columns(
        self, earlier: ReusedResult, masker: Masker, run_dir: Path, branch: BranchPlan
    ) -> tuple[object, ...]:
        """status, attempts, duration_s, reused_from, result, result_file of a reused branch."""
        inline, file = dump_value(
            earlier.result,
            masker,
            root=self.root,
            folder=run_dir / "results",
            name=f"{branch.index}.json",
        )
        status = str(BranchStatus.SUCCEEDED)
        return (status, earlier.attempts, earlier.duration_s, earlier.run_id, inline, file)

    def _new_run_id(self) -> str:
        while True:
            run_id = secrets.token_hex(6)
            taken = self._connection.execute(
                "SELECT 1 FROM runs WHERE substr(id, 1, 6) = ?", (run_id[:6],)
            ).fetchone()
            if taken is None:  # keep six characters enough to name any run
                return run_id
