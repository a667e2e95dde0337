"""What the command line says about a journal it cannot use: one line, exit 2, no traceback."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from fanout_tui.cli import main

from .cli_runs import counted, write_spec


def _foreign_database(folder: Path) -> Path:
    folder.mkdir()
    database = folder / "journal.db"
    connection = sqlite3.connect(database)
    connection.execute("CREATE TABLE accounts (id INTEGER PRIMARY KEY)")
    connection.commit()
    connection.close()
    return database


@pytest.mark.parametrize(
    "args",
    [
        ["spec.yaml", "--headless", "--journal", "j"],
        ["spec.yaml", "--headless", "--resume", "--journal", "j"],
        ["runs", "--journal", "j"],
        ["runs", "show", "abc", "--journal", "j"],
    ],
)
def test_another_programs_database_is_refused_by_every_command(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    write_spec(tmp_path, {"a": counted("a")})
    database = _foreign_database(tmp_path / "j")
    before = database.read_bytes()
    assert main(args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (
        "fanout-tui: cannot use the journal j/: j/journal.db is an SQLite database of another "
        "program (its tables: accounts); fanout-tui leaves it alone: name another folder "
        "with --journal\n"
    )
    assert database.read_bytes() == before
    assert not (tmp_path / "counts" / "a").exists()
