"""The schema's version and the migrations from every earlier version."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from fanout_tui.journal import Journal, JournalError
from fanout_tui.journal._schema import (
    DATABASE_NAME,
    MIGRATIONS,
    SCHEMA_VERSION,
    connect,
    migrate,
    schema_version,
)


def _database_at(root: Path, version: int) -> Path:
    root.mkdir()
    database = root / DATABASE_NAME
    connection = connect(database)
    assert migrate(connection, MIGRATIONS[:version]) == version
    connection.close()
    return database


def test_a_version_1_journal_is_migrated_with_its_runs_kept(tmp_path: Path) -> None:
    database = _database_at(tmp_path / ".fanout", 1)
    connection = sqlite3.connect(database)
    connection.execute(
        "INSERT INTO runs (id, spec_name, started_at, branch_count) VALUES ('r1', 'old', 1.0, 0)"
    )
    connection.commit()
    connection.close()

    with Journal.open(tmp_path / ".fanout") as journal:
        assert schema_version(journal.connection) == SCHEMA_VERSION
        indexes = {
            row[0]
            for row in journal.connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'index'"
            )
        }
        assert {"runs_by_spec", "attempts_by_branch"} <= indexes
        assert journal.find_run("r1")["spec_name"] == "old"


def test_migrating_twice_changes_nothing(tmp_path: Path) -> None:
    connection = connect(tmp_path / "j.db")
    assert migrate(connection) == SCHEMA_VERSION
    assert migrate(connection) == SCHEMA_VERSION
    connection.close()


def test_a_journal_from_a_newer_fanout_tui_is_refused(tmp_path: Path) -> None:
    database = _database_at(tmp_path / ".fanout", SCHEMA_VERSION)
    connection = sqlite3.connect(database)
    connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    connection.close()
    with pytest.raises(JournalError, match="newer fanout-tui"):
        Journal.open(tmp_path / ".fanout")


def test_a_failed_migration_leaves_the_version_unchanged(tmp_path: Path) -> None:
    connection = connect(tmp_path / "j.db")
    broken = [*MIGRATIONS, ("CREATE TABLE extra (x)", "THIS IS NOT SQL")]
    with pytest.raises(sqlite3.Error):
        migrate(connection, broken)
    assert schema_version(connection) == SCHEMA_VERSION
    tables = {r[0] for r in connection.execute("SELECT name FROM sqlite_master")}
    assert "extra" not in tables
    connection.close()


def _foreign_database(root: Path, *, user_version: int = 0) -> Path:
    root.mkdir()
    database = root / DATABASE_NAME
    connection = sqlite3.connect(database)
    connection.execute("CREATE TABLE accounts (id INTEGER PRIMARY KEY, owner TEXT)")
    connection.execute("INSERT INTO accounts (owner) VALUES ('someone')")
    connection.execute(f"PRAGMA user_version = {user_version}")
    connection.commit()
    connection.close()
    return database


@pytest.mark.parametrize("user_version", [0, 1, SCHEMA_VERSION + 5])
def test_another_programs_database_is_refused_and_left_as_it_was(
    tmp_path: Path, user_version: int
) -> None:
    database = _foreign_database(tmp_path / ".fanout", user_version=user_version)
    before = database.read_bytes()
    with pytest.raises(JournalError) as caught:
        Journal.open(tmp_path / ".fanout")
    assert str(caught.value) == (
        f"cannot use the journal {tmp_path / '.fanout'}/: {tmp_path / '.fanout'}/journal.db is an "
        "SQLite database of another program (its tables: accounts); fanout-tui leaves it "
        "alone: name another folder with --journal"
    )
    # Not even switched to WAL: the file is byte for byte what it was.
    assert database.read_bytes() == before
    assert not database.with_name("journal.db-wal").exists()


def test_a_journal_version_without_the_journal_tables_is_not_a_journal(tmp_path: Path) -> None:
    (tmp_path / ".fanout").mkdir()
    connection = sqlite3.connect(tmp_path / ".fanout" / DATABASE_NAME)
    connection.execute("PRAGMA user_version = 1")
    connection.close()
    with pytest.raises(JournalError, match=r"another program \(no journal tables\)"):
        Journal.open(tmp_path / ".fanout")


def test_an_empty_database_becomes_a_journal(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / DATABASE_NAME).write_bytes(b"")  # a file of no bytes
    (tmp_path / "b").mkdir()
    sqlite3.connect(tmp_path / "b" / DATABASE_NAME).execute("VACUUM").connection.close()
    for folder in ("a", "b"):
        with Journal.open(tmp_path / folder) as journal:
            assert schema_version(journal.connection) == SCHEMA_VERSION
