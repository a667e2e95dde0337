"""The store, fed hand-made engine events: what a run leaves in the journal."""

from __future__ import annotations

import json
import sqlite3
import stat
import threading
from pathlib import Path

import pytest

from fanout_tui.engine._events import (
    BranchStatus,
    MergeState,
    OutputLines,
    PolicyState,
    ResultsChanged,
    RunFinished,
)
from fanout_tui.journal import Journal, JournalError
from fanout_tui.journal import _recorder as recorder_module
from fanout_tui.journal._lookup import run_outcome
from fanout_tui.journal._schema import DATABASE_NAME, SCHEMA_VERSION
from fanout_tui.journal._values import LARGE_VALUE_BYTES

from .builders import make_plan, outcome_of, run_branch


def _rows(journal: Journal, sql: str, *args: object) -> list[sqlite3.Row]:
    return journal.connection.execute(sql, args).fetchall()


def test_opening_creates_a_private_wal_database(tmp_path: Path) -> None:
    root = tmp_path / "deep" / ".fanout"
    with Journal.open(root) as journal:
        mode = journal.connection.execute("PRAGMA journal_mode").fetchone()[0]
        version = journal.connection.execute("PRAGMA user_version").fetchone()[0]
        assert mode == "wal"
        assert version == SCHEMA_VERSION
        assert stat.S_IMODE(root.stat().st_mode) == 0o700
        for path in root.iterdir():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name
        assert {p.name for p in root.iterdir()} >= {DATABASE_NAME, DATABASE_NAME + "-wal"}


def test_a_file_where_the_folder_should_be_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("x")
    with pytest.raises(JournalError, match="is not a folder"):
        Journal.open(tmp_path / "taken")


def test_a_database_that_is_not_sqlite_is_a_clear_error(tmp_path: Path) -> None:
    root = tmp_path / ".fanout"
    root.mkdir()
    (root / DATABASE_NAME).write_bytes(b"not a database at all, just text" * 100)
    with pytest.raises(JournalError, match="cannot"):
        Journal.open(root)


def test_a_run_records_branches_attempts_and_outcome(journal: Journal, tmp_path: Path) -> None:
    plan = make_plan(tmp_path, {"a": "echo a", "b": "false"})
    recorder = journal.start_run(plan)
    run_branch(recorder, plan, "a", result={"doc": "a"}, pid=101, start_time=5)
    recorder.record(OutputLines("a", 1, "stdout", ("ignored",)))
    run_branch(recorder, plan, "b", status=BranchStatus.FAILED, reason="exited with 1")
    recorder.finish(outcome_of(plan, {"a": BranchStatus.SUCCEEDED, "b": BranchStatus.FAILED}))

    (run,) = _rows(journal, "SELECT * FROM runs")
    assert run["id"] == recorder.run_id
    assert run["spec_path"] == str((tmp_path / "spec.yaml").resolve())
    assert run["exit_code"] == 1
    assert run_outcome(run) == "failed"
    assert run["ended_at"] >= run["started_at"]
    branches = {r["id"]: r for r in _rows(journal, "SELECT * FROM branches")}
    assert branches["a"]["status"] == "succeeded"
    assert json.loads(branches["a"]["result"]) == {"doc": "a"}
    assert branches["a"]["fingerprint"] == plan.branch("a").fingerprint()
    assert branches["b"]["status"] == "failed"
    assert branches["b"]["result"] is None
    attempts = {r["branch_id"]: r for r in _rows(journal, "SELECT * FROM attempts")}
    a = attempts["a"]
    assert (a["pid"], a["pgid"], a["process_start_time"]) == (101, 101, 5)
    assert a["status"] == "succeeded" and a["exit_code"] == 0
    assert a["started_at"] <= a["ended_at"]
    assert a["stdout_log"] == f"runs/{recorder.run_id}/logs/a.attempt-1.stdout"
    assert attempts["b"]["reason"] == "exited with 1"


def test_the_log_folder_lives_under_the_run(journal: Journal, tmp_path: Path) -> None:
    recorder = journal.start_run(make_plan(tmp_path, {"a": "true"}))
    assert recorder.log_dir == journal.root / "runs" / recorder.run_id / "logs"
    assert stat.S_IMODE(recorder.log_dir.stat().st_mode) == 0o700
    recorder.close()


def test_every_file_and_folder_is_the_owners_only(journal: Journal, tmp_path: Path) -> None:
    plan = make_plan(tmp_path, {"a": "true", "big": "true"})
    recorder = journal.start_run(plan)
    run_branch(recorder, plan, "a", result="small")
    run_branch(recorder, plan, "big", result="x" * (LARGE_VALUE_BYTES + 1))
    recorder.finish(outcome_of(plan, {"a": BranchStatus.SUCCEEDED, "big": BranchStatus.SUCCEEDED}))
    for path in [journal.root, *journal.root.rglob("*")]:
        expected = 0o700 if path.is_dir() else 0o600
        assert stat.S_IMODE(path.stat().st_mode) == expected, path


def test_large_results_go_to_files_beside_the_database(journal: Journal, tmp_path: Path) -> None:
    plan = make_plan(tmp_path, {"big": "true"})
    big = {"text": "y" * (LARGE_VALUE_BYTES + 10)}
    recorder = journal.start_run(plan)
    run_branch(recorder, plan, "big", result=big)
    merged = [big, big]
    recorder.record(
        ResultsChanged(MergeState(PolicyState.MERGED, merged, missing=(), failed=(), active=0))
    )
    recorder.flush()
    (branch,) = _rows(journal, "SELECT result, result_file FROM branches")
    assert branch["result"] is None
    assert json.loads((journal.root / branch["result_file"]).read_text()) == big
    (run,) = _rows(journal, "SELECT merged, merged_file FROM runs")
    assert run["merged"] is None
    assert json.loads((journal.root / run["merged_file"]).read_text()) == merged
    recorder.close()


def test_the_merged_result_is_kept(journal: Journal, tmp_path: Path) -> None:
    plan = make_plan(tmp_path, {"a": "true"})
    recorder = journal.start_run(plan)
    run_branch(recorder, plan, "a", result="hello")
    outcome = outcome_of(plan, {"a": BranchStatus.SUCCEEDED}, merged="hello\n")
    recorder.record(RunFinished(outcome))
    recorder.finish(outcome)
    (run,) = _rows(journal, "SELECT * FROM runs")
    assert json.loads(run["merged"]) == "hello\n"
    assert run["merge_state"] == "merged"
    assert run_outcome(run) == "succeeded"


def test_the_start_of_an_attempt_is_committed_while_the_run_goes_on(
    journal: Journal, tmp_path: Path
) -> None:
    plan = make_plan(tmp_path, {"a": "sleep 1"})
    recorder = journal.start_run(plan)
    run_branch(recorder, plan, "a", status=BranchStatus.FAILED)
    recorder.flush()
    # Another connection (another process, say) sees it without the run having finished.
    other = sqlite3.connect(journal.root / DATABASE_NAME)
    try:
        (count,) = other.execute("SELECT COUNT(*) FROM attempts WHERE pid = 4242").fetchone()
    finally:
        other.close()
    assert count == 1
    recorder.close()


def test_a_run_that_never_finished_reads_as_interrupted(journal: Journal, tmp_path: Path) -> None:
    plan = make_plan(tmp_path, {"a": "true", "b": "sleep 9"})
    recorder = journal.start_run(plan)
    run_branch(recorder, plan, "a", result="ok")
    recorder.flush()
    (run,) = _rows(journal, "SELECT * FROM runs")
    assert run_outcome(run) == "running"  # its process (this one) is alive
    recorder.close()
    # As if the process had been killed: its start time no longer matches.
    journal.connection.execute("UPDATE runs SET owner_start_time = -1")
    (run,) = _rows(journal, "SELECT * FROM runs")
    assert run_outcome(run) == "interrupted"


def test_a_write_failure_is_reported_not_raised(
    journal: Journal, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = make_plan(tmp_path, {"a": "true"})
    recorder = journal.start_run(plan)
    journal.connection.execute("DROP TABLE attempts")
    run_branch(recorder, plan, "a")
    recorder.finish(outcome_of(plan, {"a": BranchStatus.SUCCEEDED}))
    assert f"stopped recording run {recorder.run_id}" in capsys.readouterr().err


def test_closing_the_journal_stops_unfinished_recorders(tmp_path: Path) -> None:
    plan = make_plan(tmp_path, {"a": "true"})
    with Journal.open(tmp_path / ".fanout") as journal:
        recorder = journal.start_run(plan)
        run_branch(recorder, plan, "a", result="kept")
    with Journal.open(tmp_path / ".fanout") as journal:
        (branch,) = _rows(journal, "SELECT status, result FROM branches")
    assert (branch["status"], json.loads(branch["result"])) == ("succeeded", "kept")


def test_an_existing_folder_named_as_journal_keeps_its_mode(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    with Journal.open(shared) as journal:
        recorder = journal.start_run(make_plan(tmp_path, {"a": "true"}))
        recorder.close()
    assert stat.S_IMODE(shared.stat().st_mode) == 0o755
    assert stat.S_IMODE((shared / "runs").stat().st_mode) == 0o700
    assert stat.S_IMODE((shared / DATABASE_NAME).stat().st_mode) == 0o600


def test_a_result_that_cannot_be_encoded_stops_the_journal_with_a_message(
    journal: Journal, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = make_plan(tmp_path, {"a": "true"})
    recorder = journal.start_run(plan)
    looped: list[object] = []
    looped.append(looped)
    run_branch(recorder, plan, "a", result=looped)
    recorder.flush()  # returns: the writer keeps serving
    recorder.finish(outcome_of(plan, {"a": BranchStatus.SUCCEEDED}))
    assert "Circular reference" in capsys.readouterr().err


def test_finishing_does_not_wait_out_the_commit_interval_behind_a_full_batch(
    journal: Journal, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Batches of three events and an hour between commits: the writer falls behind at once,
    # and only a finish that hurries it past every full batch ends before the hour is up.
    monkeypatch.setattr(recorder_module, "MAX_BATCH", 3)
    monkeypatch.setattr(recorder_module, "MIN_COMMIT_INTERVAL_S", 3600.0)
    ids = [f"b{i}" for i in range(6)]
    plan = make_plan(tmp_path, dict.fromkeys(ids, "true"))
    recorder = journal.start_run(plan)
    for branch_id in ids:
        run_branch(recorder, plan, branch_id, result=branch_id)
    finishing = threading.Thread(
        target=recorder.finish,
        args=(outcome_of(plan, dict.fromkeys(ids, BranchStatus.SUCCEEDED)),),
        daemon=True,
    )
    finishing.start()
    finishing.join(timeout=60)
    assert not finishing.is_alive(), "finish waited for the commit interval"
    rows = _rows(journal, "SELECT id, status FROM branches ORDER BY idx")
    assert [(row["id"], row["status"]) for row in rows] == [(i, "succeeded") for i in ids]
