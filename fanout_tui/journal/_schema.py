"""The journal's SQLite schema, its version and the migrations that reach it.

The version lives in ``PRAGMA user_version``. :data:`MIGRATIONS` is applied in order:
a database at version *n* gets migrations *n+1* … current, each in its own transaction,
so a journal written by any earlier fanout-tui opens in this one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

DATABASE_NAME = "journal.db"
BUSY_TIMEOUT_MS = 10_000
AUTOCHECKPOINT_PAGES = 100
"""The write-ahead log is copied into the database once it holds this many pages (SQLite's
default is 1000: a 500-branch run's whole log, left to the checkpoint on closing)."""

MIGRATIONS: Sequence[Sequence[str]] = (
    # 1: runs, the branches of each run, and every attempt of a branch.
    (
        """
        CREATE TABLE runs (
            id TEXT PRIMARY KEY,
            spec_path TEXT,
            spec_name TEXT NOT NULL,
            started_at REAL NOT NULL,
            ended_at REAL,
            duration_s REAL,
            outcome TEXT NOT NULL DEFAULT 'running',
            exit_code INTEGER,
            branch_count INTEGER NOT NULL,
            resumed_from TEXT,
            merge_state TEXT,
            merge_error TEXT,
            merged TEXT,
            merged_file TEXT,
            owner_pid INTEGER,
            owner_start_time INTEGER
        )
        """,
        """
        CREATE TABLE branches (
            run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
            id TEXT NOT NULL,
            idx INTEGER NOT NULL,
            title TEXT,
            command TEXT,
            fingerprint TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'pending',
            reason TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            duration_s REAL,
            reused_from TEXT,
            result TEXT,
            result_file TEXT,
            PRIMARY KEY (run_id, id)
        )
        """,
        """
        CREATE TABLE attempts (
            id INTEGER PRIMARY KEY,
            run_id TEXT NOT NULL,
            branch_id TEXT NOT NULL,
            attempt INTEGER NOT NULL,
            started_at REAL NOT NULL,
            ended_at REAL,
            status TEXT,
            reason TEXT,
            exit_code INTEGER,
            duration_s REAL,
            pid INTEGER,
            pgid INTEGER,
            process_start_time INTEGER,
            stdout_log TEXT,
            stderr_log TEXT,
            FOREIGN KEY (run_id, branch_id) REFERENCES branches(run_id, id) ON DELETE CASCADE
        )
        """,
    ),
    # 2: find the latest run of a spec, a branch's attempts and leftover processes quickly.
    (
        "CREATE INDEX runs_by_spec ON runs(spec_path, started_at)",
        "CREATE INDEX attempts_by_branch ON attempts(run_id, branch_id, attempt)",
        "CREATE INDEX attempts_unended ON attempts(run_id) WHERE ended_at IS NULL",
    ),
    # 3: what each attempt reported spending (all NULL: it reported nothing); a branch's
    # and a run's usage are the sums of their attempts'.
    (
        "ALTER TABLE attempts ADD COLUMN input_tokens INTEGER",
        "ALTER TABLE attempts ADD COLUMN output_tokens INTEGER",
        "ALTER TABLE attempts ADD COLUMN cost_usd REAL",
    ),
    # 4: the remote worker an attempt ran on (``tcp://…``; NULL: this machine).
    ("ALTER TABLE attempts ADD COLUMN worker TEXT",),
)

SCHEMA_VERSION = len(MIGRATIONS)

USAGE_SINCE = 3
"""The first version whose attempts record usage (an older journal read as it is has none)."""

JOURNAL_TABLES = frozenset({"runs", "branches", "attempts"})
"""The tables every version of the schema has (migration 1 makes them)."""


class SchemaTooNew(Exception):
    """The database was written by a newer fanout-tui; ``str`` is one sentence."""


class NotAJournal(Exception):
    """The database holds something else than a fanout-tui journal; ``str`` says what it
    holds (``"its tables: accounts, users"``)."""


def connect(path: Path) -> sqlite3.Connection:
    """Open the database at ``path`` in WAL mode, with explicit transactions.

    The connection is in autocommit mode (``isolation_level=None``): callers group writes
    with :func:`transaction`. Check a database not known to be a journal with
    :func:`open_unchecked` and :func:`check_ours` first: this turns on WAL, which changes
    the file.
    """
    connection = open_unchecked(path)
    use_wal(connection)
    return connection


def open_unchecked(path: Path) -> sqlite3.Connection:
    """Open the database at ``path`` for reading and writing without changing it yet."""
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=True)
    connection.row_factory = sqlite3.Row
    connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return connection


def use_wal(connection: sqlite3.Connection) -> None:
    """Set the pragmas every writing connection of the journal uses (WAL first)."""
    connection.execute("PRAGMA journal_mode = WAL")
    # In WAL mode NORMAL loses no committed transaction when the process is killed;
    # only a power cut may lose the last ones, and the database stays consistent.
    connection.execute("PRAGMA synchronous = NORMAL")
    # Checkpoint in small steps, on the writer's thread while the run goes on, so that the
    # checkpoint of closing (on the operator's wait at the end of a run) has little left.
    connection.execute(f"PRAGMA wal_autocheckpoint = {AUTOCHECKPOINT_PAGES}")
    connection.execute("PRAGMA foreign_keys = ON")


def connect_read_only(path: Path) -> sqlite3.Connection:
    """Open the database at ``path`` for reading only: nothing is written, and a folder
    the operator cannot write to (a read-only mount) is enough.

    SQLite reads a WAL database through its ``-shm`` file, which it creates when missing.
    A journal that is being written has one (and its ``-wal``), and a read-only
    connection reads both. A journal closed cleanly has neither; where they cannot be
    created, the file is opened as immutable, which is sound since, with no ``-wal``,
    everything committed is in the database file itself.

    Raises:
        sqlite3.Error: the database cannot be opened.
    """
    uri = path.absolute().as_uri()
    try:
        return _open_uri(f"{uri}?mode=ro")
    except sqlite3.OperationalError:
        if path.with_name(path.name + "-wal").exists() or not path.is_file():
            raise
        return _open_uri(f"{uri}?immutable=1")


def _open_uri(uri: str) -> sqlite3.Connection:
    connection = sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=True)
    try:
        connection.row_factory = sqlite3.Row
        connection.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        connection.execute("PRAGMA query_only = ON")
        # Opening is lazy: read the schema now, so that a file SQLite cannot open fails here.
        connection.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
    except sqlite3.Error:
        connection.close()
        raise
    return connection


def check_ours(connection: sqlite3.Connection, *, known: int = SCHEMA_VERSION) -> int:
    """Make sure the database is empty or a fanout-tui journal; return its version.

    A journal at version 0 is empty (migration 1 makes the tables and sets the version
    in one transaction); any later one has the tables of migration 1.

    Raises:
        NotAJournal: it holds tables of something else.
        SchemaTooNew: it is a journal of a newer fanout-tui (above version ``known``).
        sqlite3.Error: it cannot be read (not a database, damaged).
    """
    version = schema_version(connection)
    tables = {
        row[0]
        for row in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        )
    }
    if (version == 0 and tables) or (version > 0 and not tables >= JOURNAL_TABLES):
        others = sorted(tables - JOURNAL_TABLES)
        more = ", …" if len(others) > 5 else ""
        raise NotAJournal(
            f"its tables: {', '.join(others[:5])}{more}" if others else "no journal tables"
        )
    if version > known:
        raise _too_new(version, known)
    return version


def _too_new(version: int, known: int) -> SchemaTooNew:
    return SchemaTooNew(
        f"it was written by a newer fanout-tui (schema {version}; this one knows up to {known})"
    )


def schema_version(connection: sqlite3.Connection) -> int:
    """The version the database is at (0: empty)."""
    return int(connection.execute("PRAGMA user_version").fetchone()[0])


def migrate(
    connection: sqlite3.Connection, migrations: Sequence[Sequence[str]] = MIGRATIONS
) -> int:
    """Apply every migration the database lacks, each in one transaction; return the version.

    Raises:
        SchemaTooNew: the database is at a version this code does not know.
    """
    target = len(migrations)
    while True:
        with transaction(connection):
            # Read inside the write transaction, so two processes never apply one twice.
            version = schema_version(connection)
            if version > target:
                raise _too_new(version, target)
            if version == target:
                return version
            for statement in migrations[version]:
                connection.execute(statement)
            connection.execute(f"PRAGMA user_version = {version + 1}")


@contextmanager
def transaction(connection: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """Run the block in one write transaction: committed at the end, rolled back on error."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield connection
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")
