"""Resume at the store level: which results an earlier run gives back, by definition."""

from __future__ import annotations

import dataclasses
import os
import signal
import sqlite3
import subprocess
import threading
from pathlib import Path

import anyio
import pytest

from fanout_tui.cli import main
from fanout_tui.engine import Leftovers, end_leftovers, process_start_time
from fanout_tui.engine._events import BranchStateChanged, BranchStatus
from fanout_tui.journal import Journal, JournalError
from fanout_tui.journal import _recorder as recorder_module
from fanout_tui.journal import _schema as schema
from fanout_tui.spec._plan import Plan

from .builders import make_plan, outcome_of, run_branch, start_attempt


def _first_run(journal: Journal, plan: Plan, outcomes: dict[str, BranchStatus]) -> str:
    recorder = journal.start_run(plan)
    for branch_id, status in outcomes.items():
        run_branch(recorder, plan, branch_id, status=status, result=f"result of {branch_id}")
    recorder.finish(outcome_of(plan, outcomes))
    return recorder.run_id


def test_the_resume_matrix(journal: Journal, tmp_path: Path) -> None:
    plan = make_plan(
        tmp_path,
        {"same": "echo same", "failed": "false", "changed": "echo v1", "removed": "echo gone"},
    )
    first = _first_run(
        journal,
        plan,
        {
            "same": BranchStatus.SUCCEEDED,
            "failed": BranchStatus.FAILED,
            "changed": BranchStatus.SUCCEEDED,
            "removed": BranchStatus.SUCCEEDED,
        },
    )
    edited = make_plan(
        tmp_path,
        {"added": "echo new", "same": "echo same", "failed": "false", "changed": "echo v2"},
    )
    run_id, reused, _ = journal.prepare_resume(edited, "latest")
    assert run_id == first
    assert set(reused) == {"same"}
    assert reused["same"].result == "result of same"
    assert reused["same"].run_id == first
    assert reused["same"].attempts == 1


def test_matching_is_by_definition_not_by_id_or_position(journal: Journal, tmp_path: Path) -> None:
    plan = make_plan(tmp_path, {"one": "echo 1", "two": "echo 2"})
    _first_run(journal, plan, {"one": BranchStatus.SUCCEEDED, "two": BranchStatus.SUCCEEDED})
    renamed = make_plan(tmp_path, {"deux": "echo 2", "uno": "echo 1"})
    _, reused, _ = journal.prepare_resume(renamed, "latest")
    assert reused["uno"].result == "result of one"
    assert reused["deux"].result == "result of two"


def test_an_environment_change_is_a_new_definition(journal: Journal, tmp_path: Path) -> None:
    plan = make_plan(tmp_path, {"a": "echo $X"})
    _first_run(journal, plan, {"a": BranchStatus.SUCCEEDED})
    with_env = dataclasses.replace(
        plan, branches=(dataclasses.replace(plan.branches[0], env={"X": "1"}),)
    )
    assert journal.prepare_resume(with_env, "latest")[1] == {}


def test_reused_results_carry_forward_through_resumes(journal: Journal, tmp_path: Path) -> None:
    plan = make_plan(tmp_path, {"a": "echo a", "b": "false"})
    first = _first_run(journal, plan, {"a": BranchStatus.SUCCEEDED, "b": BranchStatus.FAILED})
    resumed_from, reused, _ = journal.prepare_resume(plan, "latest")
    second = journal.start_run(plan, resumed_from=resumed_from)
    # The engine only announces reused branches; the journal already holds their result.
    second.finish(outcome_of(plan, {"a": BranchStatus.SUCCEEDED, "b": BranchStatus.FAILED}))
    run_id, reused, _ = journal.prepare_resume(plan, "latest")
    assert run_id == second.run_id
    assert reused["a"].result == "result of a"
    assert reused["a"].run_id == first  # the run that computed it
    row = journal.connection.execute(
        "SELECT resumed_from FROM runs WHERE id = ?", (second.run_id,)
    ).fetchone()
    assert row["resumed_from"] == first


def test_a_branch_killed_mid_attempt_runs_again(journal: Journal, tmp_path: Path) -> None:
    plan = make_plan(tmp_path, {"done": "true", "cut": "sleep 9"})
    recorder = journal.start_run(plan)
    run_branch(recorder, plan, "done", result="ok")
    run_branch(recorder, plan, "cut", status=BranchStatus.FAILED)
    recorder.close()  # no outcome: the process died
    assert set(journal.prepare_resume(plan, "latest")[1]) == {"done"}


def test_an_operator_retry_replaces_the_earlier_result(journal: Journal, tmp_path: Path) -> None:
    plan = make_plan(tmp_path, {"a": "true"})
    recorder = journal.start_run(plan)
    run_branch(recorder, plan, "a", result="first")
    run_branch(recorder, plan, "a", status=BranchStatus.FAILED)  # retried, failed this time
    recorder.close()
    assert journal.prepare_resume(plan, "latest")[1] == {}


def test_a_reused_branch_retried_then_cancelled_at_once_keeps_no_result(
    journal: Journal, tmp_path: Path
) -> None:
    plan = make_plan(tmp_path, {"a": "true"})
    first = _first_run(journal, plan, {"a": BranchStatus.SUCCEEDED})
    resumed_from, reused, _ = journal.prepare_resume(plan, first)
    recorder = journal.start_run(plan, resumed_from=resumed_from)
    earlier = reused["a"]
    recorder.record(BranchStateChanged("a", BranchStatus.SUCCEEDED, 1, 1, 1.0, reused_from=earlier))
    # The operator retries it and quits before its first attempt starts.
    recorder.record(BranchStateChanged("a", BranchStatus.PENDING, 2, 2, 2.0))
    recorder.record(BranchStateChanged("a", BranchStatus.CANCELLED, 2, 2, 3.0, reason="quit"))
    recorder.close()
    row = journal.connection.execute(
        "SELECT status, result, reused_from FROM branches WHERE run_id = ?", (recorder.run_id,)
    ).fetchone()
    assert tuple(row) == ("cancelled", None, None)
    assert journal.prepare_resume(plan, recorder.run_id).reused == {}


def test_resume_names_a_run_by_a_unique_prefix(journal: Journal, tmp_path: Path) -> None:
    plan = make_plan(tmp_path, {"a": "true"})
    first = _first_run(journal, plan, {"a": BranchStatus.SUCCEEDED})
    _first_run(journal, plan, {"a": BranchStatus.FAILED})
    run_id, reused, _ = journal.prepare_resume(plan, first[:6])
    assert run_id == first
    assert set(reused) == {"a"}


def test_resuming_a_run_that_does_not_exist_says_so(journal: Journal, tmp_path: Path) -> None:
    plan = make_plan(tmp_path, {"a": "true"})
    _first_run(journal, plan, {"a": BranchStatus.SUCCEEDED})
    with pytest.raises(JournalError, match=r"^no run abc123 in .*\.fanout/$"):
        journal.prepare_resume(plan, "abc123")


def test_the_latest_run_of_a_spec_never_run_is_none(journal: Journal, tmp_path: Path) -> None:
    other = make_plan(tmp_path / "other", {"a": "true"})
    _first_run(journal, other, {"a": BranchStatus.SUCCEEDED})
    resumption = journal.prepare_resume(make_plan(tmp_path, {"a": "true"}), "latest")
    assert resumption == (None, {}, Leftovers())


def test_latest_is_the_latest_run_of_the_same_spec(journal: Journal, tmp_path: Path) -> None:
    plan = make_plan(tmp_path, {"a": "true"})
    mine = _first_run(journal, plan, {"a": BranchStatus.SUCCEEDED})
    other_folder = tmp_path / "other"
    other_folder.mkdir()
    _first_run(journal, make_plan(other_folder, {"a": "true"}), {"a": BranchStatus.SUCCEEDED})
    assert journal.prepare_resume(plan, "latest")[0] == mine


def _leftover(
    journal: Journal, tmp_path: Path, *, start_time_matches: bool
) -> subprocess.Popen[bytes]:
    """A killed run's leftover: a real process group recorded as the attempt of a dead run."""
    process = subprocess.Popen(["sleep", "30"], start_new_session=True)
    started = process_start_time(process.pid)
    assert started is not None
    plan = make_plan(tmp_path, {"a": "sleep 30"})
    recorder = journal.start_run(plan)
    start_attempt(
        recorder,
        plan,
        "a",
        pid=process.pid,
        start_time=started if start_time_matches else started + 1,
    )
    recorder.close()
    # As if that run's fanout-tui had been killed.
    journal.connection.execute("UPDATE runs SET owner_start_time = -1")
    return process


def test_resume_ends_process_groups_a_killed_run_left(journal: Journal, tmp_path: Path) -> None:
    process = _leftover(journal, tmp_path, start_time_matches=True)
    try:
        resumption = journal.prepare_resume(make_plan(tmp_path, {"a": "sleep 30"}), "latest")
        assert anyio.run(end_leftovers, resumption.leftovers) == 1
        assert process.wait(timeout=5) == -signal.SIGTERM
        (row,) = journal.connection.execute("SELECT status, ended_at FROM attempts").fetchall()
        assert row["status"] == "interrupted" and row["ended_at"] is not None
    finally:
        process.kill()
        process.wait()


def test_resume_leaves_a_recycled_pid_alone(journal: Journal, tmp_path: Path) -> None:
    process = _leftover(journal, tmp_path, start_time_matches=False)
    try:
        resumption = journal.prepare_resume(make_plan(tmp_path, {"a": "sleep 30"}), "latest")
        assert anyio.run(end_leftovers, resumption.leftovers) == 0
        assert process.poll() is None
        os.kill(process.pid, 0)
    finally:
        process.kill()
        process.wait()


def test_a_result_whose_file_is_gone_runs_again(journal: Journal, tmp_path: Path) -> None:
    plan = make_plan(tmp_path, {"big": "true", "small": "true"})
    recorder = journal.start_run(plan)
    run_branch(recorder, plan, "big", result="x" * 70_000)
    run_branch(recorder, plan, "small", result="ok")
    recorder.finish(
        outcome_of(plan, {"big": BranchStatus.SUCCEEDED, "small": BranchStatus.SUCCEEDED})
    )
    for spilled in journal.root.rglob("results/*.json"):
        spilled.unlink()
    assert set(journal.prepare_resume(plan, "latest")[1]) == {"small"}


def test_resuming_says_how_many_leftover_groups_it_ended(
    journal: Journal, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    process = _leftover(journal, tmp_path, start_time_matches=True)
    journal.close()
    spec = tmp_path / "spec.yaml"  # the spec the leftover's run was made from
    spec.write_text("version: 1\nname: demo\nbranches:\n  - id: a\n    run: 'true'\n")
    try:
        code = main([str(spec), "--resume", "--headless", "--journal", str(journal.root)])
        assert code == 0
        assert process.wait(timeout=5) == -signal.SIGTERM
        err = capsys.readouterr().err
        assert "fanout-tui: ended 1 process group that an interrupted run left running" in err
    finally:
        process.kill()
        process.wait()


def test_a_resumed_run_commits_its_reused_rows_before_it_starts(
    journal: Journal, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The writer adds the other branches' rows later; should the run be killed before
    # then, resuming it must still find what it reused.
    plan = make_plan(tmp_path, {"done": "true", "todo": "false"})
    first = _first_run(journal, plan, {"done": BranchStatus.SUCCEEDED})
    resumed_from, _, _ = journal.prepare_resume(plan, first)
    writer_may_start = threading.Event()

    def held_connect(database: Path) -> sqlite3.Connection:
        writer_may_start.wait(timeout=60)
        return schema.connect(database)

    monkeypatch.setattr(recorder_module, "connect", held_connect)
    recorder = journal.start_run(plan, resumed_from=resumed_from)
    try:
        rows = journal.connection.execute(
            "SELECT id, status FROM branches WHERE run_id = ?", (recorder.run_id,)
        ).fetchall()
        assert [(row["id"], row["status"]) for row in rows] == [("done", "succeeded")]
        # As if killed now: the kernel would drop the run's lock with its process.
        assert recorder._lock is not None
        recorder._lock.release()
        assert set(journal.prepare_resume(plan, recorder.run_id).reused) == {"done"}
    finally:
        writer_may_start.set()
        recorder.close()
    ids = journal.connection.execute(
        "SELECT id FROM branches WHERE run_id = ? ORDER BY idx", (recorder.run_id,)
    ).fetchall()
    assert [row["id"] for row in ids] == ["done", "todo"]


def test_resuming_a_run_of_another_spec_file_reuses_by_definition_and_says_so(
    journal: Journal, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = make_plan(tmp_path, {"a": "true", "b": "echo b"})
    first = _first_run(journal, plan, {"a": BranchStatus.SUCCEEDED})
    other = dataclasses.replace(plan, spec_path=tmp_path / "other" / "spec.yaml")
    notices: list[str] = []
    run_id, reused, _ = journal.prepare_resume(other, first, notify=notices.append)
    assert (run_id, set(reused)) == (first, {"a"})  # the same definition: reused all the same
    here = tmp_path.resolve()
    assert notices == [
        f"run {first} is a run of {here / 'spec.yaml'}, not of {here / 'other' / 'spec.yaml'}: "
        "reusing the results of its branches with the same definition (1 of 2)"
    ]
    # Without a listener, nobody is told: the journal does not write on the terminal.
    journal.prepare_resume(other, first)
    assert capsys.readouterr() == ("", "")
    # Its own spec's run: nothing to say.
    journal.prepare_resume(plan, first, notify=notices.append)
    journal.prepare_resume(plan, "latest", notify=notices.append)
    assert len(notices) == 1
    assert capsys.readouterr().err == ""
