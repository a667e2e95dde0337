"""The journal folder: a SQLite database (WAL) and, beside it, each run's logs and large results.

Layout of a journal folder (``.fanout/`` by default), every folder 0700, every file 0600::

    journal.db (+ -wal, -shm)     runs, branches, attempts
    runs/<run id>/logs/           each attempt's stdout and stderr, written by the engine
                                  (<branch>.attempt-<n>.stdout / .stderr)
    runs/<run id>/results/        branch results too large for a column
    runs/<run id>/merged.json     the merged result, when too large for a column
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Self

from fanout_tui.engine import Leftovers, ReusedResult
from fanout_tui.journal._errors import JournalError, make_usable, reading
from fanout_tui.journal._files import make_private, private_dir, private_file
from fanout_tui.journal._lookup import (
    LATEST,
    RunNotFound,
    find_run,
    latest_run,
    other_spec_notice,
    reusable_results,
)
from fanout_tui.journal._recorder import RunRecorder
from fanout_tui.journal._resume import Resumption, find_leftovers
from fanout_tui.journal._run_rows import insert_run
from fanout_tui.journal._schema import (
    DATABASE_NAME,
    check_ours,
    connect_read_only,
    migrate,
    open_unchecked,
    use_wal,
)
from fanout_tui.spec import Masker, Plan

__all__ = ["Journal", "JournalError", "Resumption", "RunRecorder"]


def _nobody(notice: str) -> None:
    """Tell nobody of ``notice``."""


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
        make_usable(connection, label, check_ours, use_wal, migrate)
        for suffix in ("-wal", "-shm"):
            make_private(database.with_name(database.name + suffix))
        return cls(root, label, connection)

    @classmethod
    def open_for_reading(cls, path: Path) -> Self:
        """Open the journal at ``path`` to read it only (listing and showing runs): nothing
        is created, migrated or written, so a read-only folder or mount is enough.

        A journal of an earlier version is read as it is: what is read of a run was all
        there in version 1, except usage (version 3), which such a journal reads as none.
        Use as a context manager.

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
        make_usable(connection, label, check_ours)
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
        """Find the run to resume (``"latest"``: the latest of this spec), say what can be
        reused, and what killed runs may have left running (see :meth:`find_leftovers`).

        Nothing is ended here and no event loop is started: the caller ends the
        leftovers with :func:`fanout_tui.engine.end_leftovers` on its own loop, before
        the run starts.

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
            leftovers = find_leftovers(self._connection)
            if run is None:
                return Resumption(None, {}, leftovers)
            reused = reusable_results(self._connection, run["id"], plan, root=self.root)
        except RunNotFound as error:
            raise JournalError(str(error)) from None
        except (OSError, sqlite3.Error) as error:
            raise JournalError(f"cannot resume from {self.label}: {error}") from None
        self._prepared[run["id"]] = reused
        notice = other_spec_notice(run, plan, len(reused))
        if notice is not None:
            notify(notice)
        return Resumption(run["id"], reused, leftovers)

    def find_leftovers(self) -> Leftovers:
        """What killed runs may have left running, for
        :func:`fanout_tui.engine.end_leftovers`; their open attempts are marked
        interrupted.

        A run was killed when it never ended and its fanout-tui is gone. A recorded group
        is to be signalled only while its leader's pid and start time both still match; a
        process whose pid was not recorded yet is found by its run's mark
        (:data:`~fanout_tui.engine.RUN_MARK`).

        Raises:
            JournalError: the journal cannot be read or written.
        """
        try:
            return find_leftovers(self._connection)
        except sqlite3.Error as error:
            raise JournalError(f"cannot resume from {self.label}: {error}") from None

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
            run_id, run_dir = insert_run(
                self._connection,
                root=self.root,
                plan=plan,
                resumed_from=resumed_from,
                reused=reused,
                masker=masker,
            )
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
