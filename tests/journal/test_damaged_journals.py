"""What the command line says about a journal it cannot use: one line, exit 2, no traceback."""

from __future__ import annotations

import shutil
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


def _damage(database: Path) -> None:
    """Overwrite every page but the first (the schema stays readable, the tables do not)."""
    data = bytearray(database.read_bytes())
    page_size = int.from_bytes(data[16:18], "big")
    data[page_size:] = bytes(len(data) - page_size)
    database.write_bytes(bytes(data))


def _run_twice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.chdir(tmp_path)
    write_spec(tmp_path, {"a": counted("a"), "b": counted("b")})
    for _ in range(2):
        assert main(["spec.yaml", "--headless", "--journal", "j"]) == 0
    rows = sqlite3.connect(tmp_path / "j" / "journal.db").execute("SELECT id FROM runs")
    return str(rows.fetchone()[0])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["runs", "--journal", "j"], "cannot read the journal j/"),
        (["runs", "show", "RUN", "--journal", "j"], "cannot read the journal j/"),
        (["runs", "show", "RUN", "--branch", "a", "--journal", "j"], "cannot read the journal j/"),
        (["spec.yaml", "--headless", "--resume", "--journal", "j"], "cannot resume from j/"),
        (["spec.yaml", "--headless", "--resume", "RUN", "--journal", "j"], "cannot resume from j/"),
    ],
)
def test_a_damaged_journal_is_one_line_and_exit_2(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    message: str,
) -> None:
    run_id = _run_twice(tmp_path, monkeypatch)
    _damage(tmp_path / "j" / "journal.db")
    capsys.readouterr()
    assert main([run_id if arg == "RUN" else arg for arg in args]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == f"fanout-tui: {message}: database disk image is malformed\n"
    assert (tmp_path / "counts" / "a").read_text() == "ran\nran\n"  # nothing ran again


BIG = "printf '%070000d\\n' 0"
"""A result too large for a column: the journal keeps it in a file of the run's folder."""


def test_a_run_whose_folder_was_removed_says_which_file_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    write_spec(tmp_path, {"big": BIG, "small": "echo small"})
    assert main(["spec.yaml", "--headless", "--journal", "j"]) == 0
    run_id = str(sqlite3.connect("j/journal.db").execute("SELECT id FROM runs").fetchone()[0])
    shutil.rmtree(tmp_path / "j" / "runs" / run_id)
    capsys.readouterr()

    assert main(["runs", "show", run_id, "--branch", "big", "--journal", "j"]) == 2
    captured = capsys.readouterr()
    missing = (
        f"the result of branch big in run {run_id} is missing: its file "
        f"j/runs/{run_id}/results/0.json is gone"
    )
    assert captured.err == f"fanout-tui: {missing}\n"
    assert captured.out.startswith("branch big: succeeded")
    assert f"result: missing ({missing})\n" in captured.out
    assert f"(missing: its folder j/runs/{run_id}/logs is gone)\n" in captured.out

    assert main(["runs", "show", run_id, "--journal", "j"]) == 2
    assert capsys.readouterr().err == (
        f"fanout-tui: the merged result of run {run_id} is missing: its file "
        f"j/runs/{run_id}/merged.json is gone\n"
    )
