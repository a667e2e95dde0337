"""The Dask executor from the command line: same results as here, journal, resume, errors."""

from __future__ import annotations

import json
import sqlite3
import textwrap
from pathlib import Path

import pytest

from fanout_tui.cli import main
from fanout_tui.engine.dask import ExecutorUnavailable, connect_executor

SAMPLES = Path(__file__).parents[2] / "sample_specs"


def _spec(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(textwrap.dedent(body))
    return path


def test_same_merged_result_as_the_local_executor(
    address: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = str(SAMPLES / "matrix-and-callables.yaml")  # commands and call: branches
    assert main([spec, "--headless", "--no-journal"]) == 0
    local = capsys.readouterr()
    report = tmp_path / "report.json"
    assert main([spec, "--headless", "--no-journal", "--executor", address,
                 "--report", str(report)]) == 0  # fmt: skip
    remote = capsys.readouterr()
    assert remote.out == local.out
    assert "on worker tcp://" in remote.err  # the progress names each attempt's worker
    branches = json.loads(report.read_text())["branches"]
    assert all(entry["workers"]["1"].startswith("tcp://") for entry in branches)


@pytest.fixture
def _quick_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    """A refused connection is retried until the probe's timeout: keep it short here."""
    monkeypatch.setattr("fanout_tui.engine.dask._connect.PROBE_TIMEOUT_S", 0.5)


@pytest.mark.usefixtures("_quick_probe")
def test_the_spec_names_the_executor_and_check_shows_it(
    address: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = _spec(
        tmp_path,
        f"""
        version: 1
        name: remote
        executor: {{dask: "{address.removeprefix("dask://")}"}}
        branches:
          - {{id: a, run: "echo here"}}
        """,
    )
    assert main(["check", str(spec)]) == 0
    assert f"executor     {address}" in capsys.readouterr().out
    assert main([str(spec), "--headless", "--no-journal"]) == 0
    assert "on worker tcp://" in capsys.readouterr().err
    # The flag wins over the spec.
    assert main([str(spec), "--headless", "--no-journal", "--executor", "dask://127.0.0.1:1"]) == 2


@pytest.mark.usefixtures("_quick_probe")
def test_an_unreachable_scheduler_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    marker = tmp_path / "ran"
    spec = _spec(tmp_path, f'version: 1\nname: x\nbranches: [{{id: a, run: "touch {marker}"}}]\n')
    assert main([str(spec), "--headless", "--executor", "dask://127.0.0.1:1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("fanout-tui: the Dask scheduler at tcp://127.0.0.1:1 cannot be reached")
    assert "\n" not in err
    assert not marker.exists()
    assert not (tmp_path / ".fanout").exists()


def test_without_distributed_the_extra_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "distributed" else real(name)
    )
    with pytest.raises(ExecutorUnavailable, match=r"pip install 'fanout-tui\[dask\]'"):
        connect_executor("dask://127.0.0.1:8786")


def test_journal_and_resume_across_executors(
    address: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    fixed = tmp_path / "fixed"
    spec = _spec(
        tmp_path,
        f"""
        version: 1
        name: across
        branches:
          - {{id: a, run: "echo a"}}
          - {{id: b, run: "test -f {fixed} && echo b"}}
        """,
    )
    assert main([str(spec), "--headless"]) == 1  # here: b fails
    fixed.touch()
    assert main([str(spec), "--headless", "--resume", "--executor", address]) == 0
    with sqlite3.connect(tmp_path / ".fanout" / "journal.db") as db:
        rows = db.execute("SELECT branch_id, status, worker FROM attempts ORDER BY id").fetchall()
    assert rows[:2] == [("a", "succeeded", None), ("b", "failed", None)] or sorted(rows[:2]) == [
        ("a", "succeeded", None),
        ("b", "failed", None),
    ]
    assert len(rows) == 3  # a was reused
    branch, status, worker = rows[2]
    assert (branch, status) == ("b", "succeeded")
    assert worker is not None and worker.startswith("tcp://")
    # And back: a dask run resumed here.
    assert main([str(spec), "--headless", "--resume"]) == 0
