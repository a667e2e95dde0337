"""``fanout-tui runs show RUN`` words each state of a run as the operator reads it, and
exits as the run did: 0 complete, 3 partial, 1 no merged result, 130 interrupted."""

from __future__ import annotations

import dataclasses
import io
import re
from pathlib import Path

import pytest

from fanout_tui.cli import main
from fanout_tui.engine._events import BranchStatus
from fanout_tui.journal import Journal, show_run

from .builders import make_plan, outcome_of, run_branch, start_attempt
from .cli_runs import counted, write_spec


def test_a_killed_run_was_interrupted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan = make_plan(tmp_path, {"a": "true", "b": "sleep 9"})
    with Journal.open(tmp_path / ".fanout") as journal:
        recorder = journal.start_run(plan)
        run_branch(recorder, plan, "a", result="ok")
        start_attempt(recorder, plan, "b")
        recorder.close()  # never finished: as if killed
        journal.connection.execute("UPDATE runs SET owner_start_time = -1")  # its process gone
    out = io.StringIO()
    assert show_run(tmp_path / ".fanout", recorder.run_id, branch_id=None, out=out) == 130
    assert out.getvalue() == ""
    assert capsys.readouterr().err == (
        f"fanout-tui: run {recorder.run_id} was interrupted before its policy was satisfied: "
        "no merged result; missing b (interrupted)\n"
    )
    out = io.StringIO()
    assert show_run(tmp_path / ".fanout", recorder.run_id, branch_id="b", out=out) == 0
    assert out.getvalue().startswith("branch b: interrupted, 1 attempt")


def test_a_run_still_going_has_no_result_yet(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = make_plan(tmp_path, {"a": "true"})
    with Journal.open(tmp_path / ".fanout") as journal:
        recorder = journal.start_run(plan)  # this process records it: it is live
        start_attempt(recorder, plan, "a")
        recorder.flush()
        out = io.StringIO()
        assert show_run(tmp_path / ".fanout", recorder.run_id, branch_id=None, out=out) == 1
        assert capsys.readouterr().err == (
            f"fanout-tui: run {recorder.run_id} is still running: no merged result yet\n"
        )
        out = io.StringIO()
        show_run(tmp_path / ".fanout", recorder.run_id, branch_id="a", out=out)
        assert out.getvalue().startswith("branch a: running, 1 attempt")


def test_a_run_stopped_by_the_operator_exits_130(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plan = make_plan(tmp_path, {"a": "true", "b": "sleep 9"})
    with Journal.open(tmp_path / ".fanout") as journal:
        recorder = journal.start_run(plan)
        run_branch(recorder, plan, "a", result="ok")
        outcome = outcome_of(plan, {"a": BranchStatus.SUCCEEDED, "b": BranchStatus.CANCELLED})
        recorder.finish(dataclasses.replace(outcome, exit_code=130))
    out = io.StringIO()
    assert show_run(tmp_path / ".fanout", recorder.run_id, branch_id=None, out=out) == 130
    assert capsys.readouterr().err == (
        f"fanout-tui: run {recorder.run_id} was interrupted before its policy was satisfied: "
        "no merged result; missing b (cancelled)\n"
    )


def test_a_partial_result_names_what_is_missing_and_exits_3(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    write_spec(
        tmp_path,
        {"a": counted("a"), "b": "exit 7", "c": counted("c")},
        extra="policy: {mode: best_effort, min_success: 1}",
    )
    assert main(["spec.yaml", "--headless", "--journal", "j"]) == 3
    printed = capsys.readouterr().out
    assert main(["runs", "--journal", "j"]) == 0
    run_id = capsys.readouterr().out.splitlines()[1].split()[0]

    assert main(["runs", "show", run_id, "--journal", "j"]) == 3
    captured = capsys.readouterr()
    assert captured.out == printed  # the merged result, with its placeholder
    assert "[missing: b" in captured.out
    assert captured.err == "fanout-tui: partial: missing b (failed: exit code 7)\n"


def test_a_complete_result_exits_0_with_nothing_on_stderr(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    write_spec(tmp_path, {"a": counted("a")})
    assert main(["spec.yaml", "--headless", "--journal", "j"]) == 0
    capsys.readouterr()
    assert main(["runs", "--journal", "j"]) == 0
    run_id = capsys.readouterr().out.splitlines()[1].split()[0]
    assert main(["runs", "show", run_id, "--journal", "j"]) == 0
    assert capsys.readouterr() == ("a\n", "")


def test_each_attempt_of_a_branch_says_how_it_ended(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    third_time_lucky = (
        "n=$(($(cat n 2>/dev/null || echo 0) + 1)); echo $n > n; echo try $n; "
        "if [ $n = 1 ]; then no-such-command-here || exit; fi; "
        "if [ $n = 2 ]; then exit 3; fi; echo ok"
    )
    write_spec(
        tmp_path,
        {"flaky": third_time_lucky},
        extra="defaults:\n  retry: {attempts: 3, backoff: 10ms, jitter: false}",
    )
    assert main(["spec.yaml", "--headless", "--journal", "j"]) == 0
    capsys.readouterr()
    assert main(["runs", "--journal", "j"]) == 0
    run_id = capsys.readouterr().out.splitlines()[1].split()[0]
    assert main(["runs", "show", run_id, "--branch", "flaky", "--journal", "j"]) == 0
    headers = [line for line in capsys.readouterr().out.splitlines() if line.startswith("===")]
    pattern = r"=== attempt {}: {}, \d+\.\ds ===$"
    assert len(headers) == 3
    assert re.match(pattern.format(1, r"failed, exit code 127 \(command not found\)"), headers[0])
    assert re.match(pattern.format(2, "failed, exit code 3"), headers[1])
    assert re.match(pattern.format(3, "succeeded, exit code 0"), headers[2])


def test_an_attempt_a_killed_run_left_open_was_interrupted(tmp_path: Path) -> None:
    plan = make_plan(tmp_path, {"a": "sleep 9"})
    with Journal.open(tmp_path / ".fanout") as journal:
        recorder = journal.start_run(plan)
        run_branch(recorder, plan, "a", status=BranchStatus.FAILED, reason="output is not JSON")
        start_attempt(recorder, plan, "a", attempt=2)
        recorder.close()
        journal.connection.execute("UPDATE runs SET owner_start_time = -1")
    out = io.StringIO()
    show_run(tmp_path / ".fanout", recorder.run_id, branch_id="a", out=out)
    headers = [line for line in out.getvalue().splitlines() if line.startswith("===")]
    assert headers == [
        "=== attempt 1: failed, exit code 1, 1.0s: output is not JSON ===",
        "=== attempt 2: interrupted ===",
    ]
