"""Ids and titles that would leak a secret or break a log file name, a spec that is no
regular file, and ids that begin with ``-``."""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path

import pytest

from fanout_tui.cli import main
from fanout_tui.launch import load_spec
from fanout_tui.spec._ids import MAX_ID_LENGTH

SECRET = "s3cr3t-value-42"


def write(folder: Path, body: str) -> Path:
    spec = folder / "spec.yaml"
    spec.write_text("version: 1\nname: guard\nsecrets: [TOKEN]\n" + body, encoding="utf-8")
    return spec


@pytest.fixture(autouse=True)
def _token(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TOKEN", SECRET)
    monkeypatch.chdir(tmp_path)


def test_a_secret_in_an_id_is_refused_at_check_naming_the_field_not_the_value(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, "branches:\n  - {id: 'b-${{ env.TOKEN }}', run: 'true'}\n")
    assert main(["check", "spec.yaml"]) == 2
    err = capsys.readouterr().err
    assert SECRET not in err
    assert "secret TOKEN" in err


def test_a_secret_in_a_title_is_masked_in_progress_report_journal_and_logs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(
        tmp_path,
        "branches:\n  - {id: a, title: 'key ${{ env.TOKEN }}', run: 'echo ok'}\n",
    )
    assert main(["check", "spec.yaml"]) == 0
    assert main(["spec.yaml", "--headless", "--journal", "j", "--report", "r.json"]) == 0
    printed = capsys.readouterr()
    assert SECRET not in printed.out + printed.err
    assert load_spec(tmp_path / "spec.yaml").branches[0].title == "key ***"  # the dashboard's
    assert SECRET not in (tmp_path / "r.json").read_text()
    with sqlite3.connect(tmp_path / "j" / "journal.db") as db:
        dump = "\n".join(db.iterdump())
    assert SECRET not in dump
    assert not any(SECRET in str(path) for path in (tmp_path / "j").rglob("*"))


def test_an_id_longer_than_the_cap_is_refused_saying_the_limit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, f"branches:\n  - {{id: {'x' * 5000}, run: 'true'}}\n")
    assert main(["check", "spec.yaml"]) == 2
    assert f"at most {MAX_ID_LENGTH}" in capsys.readouterr().err
    write(tmp_path, f"branches:\n  - {{id: {'x' * MAX_ID_LENGTH}, run: 'true'}}\n")
    assert main(["check", "spec.yaml"]) == 0


def test_runs_show_names_an_id_that_begins_with_a_dash(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write(tmp_path, "branches:\n  - {id: '-x', run: 'echo dash'}\n")
    assert main(["spec.yaml", "--headless", "--journal", "j"]) == 0
    capsys.readouterr()
    assert main(["runs", "--journal", "j"]) == 0
    run_id = capsys.readouterr().out.splitlines()[1].split()[0]
    assert main(["runs", "show", run_id, "--branch", "-x", "--journal", "j"]) == 0
    assert capsys.readouterr().out.startswith("branch -x: succeeded")
    assert main(["runs", "show", run_id, "--journal", "j", "--branch=-x"]) == 0


def test_a_fifo_as_the_spec_is_refused_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    os.mkfifo(tmp_path / "spec.yaml")
    result: list[int] = []
    checker = threading.Thread(target=lambda: result.append(main(["check", "spec.yaml"])))
    checker.start()
    checker.join(timeout=30)
    if checker.is_alive():  # unblock it: a writer that closes at once
        os.close(os.open(tmp_path / "spec.yaml", os.O_WRONLY))
        checker.join()
        pytest.fail("check blocked on a FIFO")
    assert result == [2]
    assert "is not a regular file (a FIFO)" in capsys.readouterr().err
