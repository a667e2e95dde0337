"""With a journal, "succeeded" is said only once the journal committed it; a full disk
is said when it happens, the run goes on, and its true outcome is recorded once there is
space again."""

from __future__ import annotations

import io
import re
import sqlite3
import sys
from pathlib import Path

import pytest

from fanout_tui.cli import main
from fanout_tui.journal import _rows
from tests.journal.cli_runs import query, write_spec

SUCCEEDED = re.compile(r"\[\s*[\d.]+s\] (\S+)\s+succeeded\b")
BRANCHES = {f"b{n}": f"echo {n}" for n in range(20)}


class CommittedFirst(io.StringIO):
    """stderr that checks, as each "succeeded" line is written, that the journal holds
    the branch's success already."""

    def __init__(self, journal: Path) -> None:
        super().__init__()
        self.journal = journal
        self.checked = 0

    def write(self, text: str) -> int:
        said = SUCCEEDED.match(text)
        if said:
            rows = query(self.journal, "SELECT status FROM branches WHERE id = ?", (said[1],))
            assert [row["status"] for row in rows] == ["succeeded"], text
            self.checked += 1
        return super().write(text)


def test_succeeded_is_said_only_once_the_journal_committed_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    write_spec(tmp_path, BRANCHES)
    stderr = CommittedFirst(tmp_path / "j")
    monkeypatch.setattr(sys, "stderr", stderr)
    assert main(["spec.yaml", "--headless", "--journal", "j"]) == 0
    assert stderr.checked == len(BRANCHES)
    assert stderr.getvalue().index("succeeded") < stderr.getvalue().index("── counted")


class FullDisk:
    """Journal writes fail as on a full disk while ``full`` is set."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.full = True
        self.failures = 0
        write = _rows.RowWriter._write

        def failing(writer: _rows.RowWriter, connection: sqlite3.Connection, batch: object) -> None:
            write(writer, connection, batch)  # type: ignore[arg-type]
            if self.full:
                self.failures += 1
                raise sqlite3.OperationalError("database or disk is full")

        monkeypatch.setattr(_rows.RowWriter, "_write", failing)


def test_a_full_disk_is_said_at_once_and_the_true_outcome_recorded_once_space_is_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "space").touch()
    branches = {
        "first": "echo first",
        # frees the space once the journal has said it is full
        "second": "until [ ! -f space ]; do sleep 0.01; done; echo second",
    }
    write_spec(tmp_path, branches)
    disk = FullDisk(monkeypatch)

    def free_space_when_said(text: str, original=sys.stderr.write) -> int:
        if "cannot record run" in text and disk.full:
            disk.full = False
            (tmp_path / "space").unlink()
        return original(text)

    monkeypatch.setattr(sys.stderr, "write", free_space_when_said)
    assert main(["spec.yaml", "--headless", "--journal", "j"]) == 0
    err = capsys.readouterr().err
    assert disk.failures >= 1
    assert "the journal cannot record run" in err
    assert "database or disk is full; the run goes on" in err
    assert "records run" in err and "again" in err
    (run,) = query(tmp_path / "j", "SELECT outcome, exit_code FROM runs")
    assert (run["outcome"], run["exit_code"]) == ("succeeded", 0)
    statuses = query(tmp_path / "j", "SELECT status FROM branches")
    assert [row["status"] for row in statuses] == ["succeeded", "succeeded"]


def test_a_disk_still_full_at_the_end_says_the_run_is_not_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    write_spec(tmp_path, {"only": "echo only"})
    FullDisk(monkeypatch)
    assert main(["spec.yaml", "--headless", "--journal", "j"]) == 0
    err = capsys.readouterr().err
    assert "database or disk is full; the run goes on" in err
    assert "the journal stopped recording run" in err
    assert "may show the run as interrupted" in err
    assert "only" in err and "succeeded" in err  # said all the same, after the warning
    assert capsys.readouterr().out == ""
