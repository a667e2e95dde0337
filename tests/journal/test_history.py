"""``fanout-tui runs`` and ``fanout-tui runs show``."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from fanout_tui.cli import main
from fanout_tui.engine._events import BranchStatus
from fanout_tui.journal import Journal, JournalError, list_runs, show_run

from .builders import make_plan, outcome_of, run_branch


def _record_two_runs(root: Path, tmp_path: Path) -> tuple[str, str]:
    plan = make_plan(tmp_path, {"a": "echo a", "b": "false"})
    with Journal.open(root) as journal:
        first = journal.start_run(plan)
        run_branch(first, plan, "a", result={"doc": "a"})
        run_branch(first, plan, "b", status=BranchStatus.FAILED, reason="exited with 1")
        first.finish(outcome_of(plan, {"a": BranchStatus.SUCCEEDED, "b": BranchStatus.FAILED}))
        resumed_from, _, _ = journal.prepare_resume(plan, first.run_id)
        second = journal.start_run(plan, resumed_from=resumed_from)
        run_branch(second, plan, "b", result={"doc": "b"})
        outcome = outcome_of(
            plan, {"a": BranchStatus.SUCCEEDED, "b": BranchStatus.SUCCEEDED}, merged={"all": 2}
        )
        second.finish(outcome)
    return first.run_id, second.run_id


def test_an_empty_or_missing_journal_is_a_friendly_message(tmp_path: Path) -> None:
    out = io.StringIO()
    assert list_runs(tmp_path / "nowhere", out=out) == 0
    assert out.getvalue() == f"No runs journaled in {tmp_path / 'nowhere'}/ yet.\n"
    assert not (tmp_path / "nowhere").exists()
    Journal.open(tmp_path / ".fanout").close()
    out = io.StringIO()
    assert list_runs(tmp_path / ".fanout", out=out) == 0
    assert "No runs journaled" in out.getvalue()


def test_runs_are_listed_newest_first_in_aligned_columns(tmp_path: Path) -> None:
    first, second = _record_two_runs(tmp_path / ".fanout", tmp_path)
    out = io.StringIO()
    assert list_runs(tmp_path / ".fanout", out=out) == 0
    header, *rows = out.getvalue().splitlines()
    assert header.split() == ["RUN", "STARTED", "DURATION", "OUTCOME", "BRANCHES", "SPEC"]
    assert [row.split()[0] for row in rows] == [second, first]
    assert rows[0].index("succeeded") == header.index("OUTCOME")
    spec = str(tmp_path.resolve() / "spec.yaml")  # outside the current folder: absolute
    assert rows[0].endswith(f"2 succeeded (1 reused)  {spec}")
    assert rows[1].endswith(f"1 succeeded, 1 failed   {spec}")
    assert rows[1].index(spec) == header.index("SPEC")
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+3\.0s\s+failed", rows[1])


def test_a_killed_run_lists_as_interrupted(tmp_path: Path) -> None:
    plan = make_plan(tmp_path, {"a": "true", "b": "sleep 9"})
    with Journal.open(tmp_path / ".fanout") as journal:
        recorder = journal.start_run(plan)
        run_branch(recorder, plan, "a", result="ok")
        recorder.close()
        journal.connection.execute("UPDATE runs SET owner_start_time = -1")
    out = io.StringIO()
    list_runs(tmp_path / ".fanout", out=out)
    row = out.getvalue().splitlines()[1]
    assert "interrupted" in row
    assert row.endswith("1 succeeded, 1 interrupted  " + str(tmp_path.resolve() / "spec.yaml"))


def test_a_run_killed_before_its_branch_rows_were_written_counts_them(tmp_path: Path) -> None:
    plan = make_plan(tmp_path, {"a": "true", "b": "true", "c": "true"})
    with Journal.open(tmp_path / ".fanout") as journal:
        journal.start_run(plan).close()
        # As if killed before the writer's first commit, which holds the branches' rows.
        journal.connection.execute("DELETE FROM branches")
        journal.connection.execute("UPDATE runs SET owner_start_time = -1")
    out = io.StringIO()
    list_runs(tmp_path / ".fanout", out=out)
    assert "interrupted  3 interrupted  " in out.getvalue().splitlines()[1]
    run_id = out.getvalue().splitlines()[1].split()[0]
    with pytest.raises(JournalError, match=r"has no record of branch b: it holds 0 of its 3"):
        show_run(tmp_path / ".fanout", run_id, branch_id="b", out=io.StringIO())


def test_show_prints_the_merged_result(tmp_path: Path) -> None:
    _, second = _record_two_runs(tmp_path / ".fanout", tmp_path)
    out = io.StringIO()
    assert show_run(tmp_path / ".fanout", second[:5], branch_id=None, out=out) == 0
    assert out.getvalue() == '{\n  "all": 2\n}\n'


def test_show_of_a_run_without_merged_result_says_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, _ = _record_two_runs(tmp_path / ".fanout", tmp_path)
    out = io.StringIO()
    assert show_run(tmp_path / ".fanout", first, branch_id=None, out=out) == 1
    assert out.getvalue() == ""
    assert capsys.readouterr().err == (
        f"fanout-tui: run {first} has no merged result: its policy was not satisfied; "
        "missing b (failed: exited with 1)\n"
    )


def test_show_branch_prints_its_result_and_every_attempts_logs(tmp_path: Path) -> None:
    first, second = _record_two_runs(tmp_path / ".fanout", tmp_path)
    out = io.StringIO()
    assert show_run(tmp_path / ".fanout", first, branch_id="b", out=out) == 0
    text = out.getvalue()
    assert text.startswith("branch b: failed, 1 attempt")
    assert "reason: exited with 1" in text
    assert "--- attempt 1 stdout ---\nout of b\n--- attempt 1 stderr ---\nerr of b\n" in text
    out = io.StringIO()
    show_run(tmp_path / ".fanout", second, branch_id="a", out=out)
    text = out.getvalue()
    # A reused branch shows the logs of the run that computed it.
    assert text.startswith(f"branch a: succeeded (reused from run {first})")
    assert 'result:\n{\n  "doc": "a"\n}\n' in text
    assert "out of a" in text


def test_show_of_unknown_runs_and_branches_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(JournalError, match=r"^no run abc123 in "):
        show_run(tmp_path / ".fanout", "abc123", branch_id=None, out=io.StringIO())
    first, _ = _record_two_runs(tmp_path / ".fanout", tmp_path)
    with pytest.raises(JournalError, match=r"^no run abc123 in "):
        show_run(tmp_path / ".fanout", "abc123", branch_id=None, out=io.StringIO())
    with pytest.raises(JournalError, match=f"^run {first} has no branch zz$"):
        show_run(tmp_path / ".fanout", first, branch_id="zz", out=io.StringIO())


def test_the_command_line_lists_and_shows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["runs"]) == 0
    assert "No runs journaled in .fanout/ yet." in capsys.readouterr().out
    assert main(["runs", "show", "abc123"]) == 2
    assert capsys.readouterr().err == "fanout-tui: no run abc123 in .fanout/\n"
    _, second = _record_two_runs(tmp_path / "j", tmp_path)
    assert main(["runs", "--journal", "j"]) == 0
    assert second in capsys.readouterr().out
    assert main(["runs", "show", second, "--journal", "j", "--branch", "b"]) == 0
    assert "out of b" in capsys.readouterr().out


def test_specs_of_one_name_in_two_folders_are_told_apart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for folder in ("x", "y", "elsewhere/z"):
        (tmp_path / folder).mkdir(parents=True)
        plan = make_plan(tmp_path / folder, {"a": "true"})
        with Journal.open(tmp_path / ".fanout") as journal:
            recorder = journal.start_run(plan)
            recorder.finish(outcome_of(plan, {"a": BranchStatus.SUCCEEDED}, merged="ok"))
    monkeypatch.chdir(tmp_path / "elsewhere")
    out = io.StringIO()
    list_runs(tmp_path / ".fanout", out=out)
    header, *rows = out.getvalue().splitlines()
    specs = [row[header.index("SPEC") :] for row in rows]
    # Inside the current folder: relative to it; elsewhere: absolute.
    assert specs == ["z/spec.yaml", *(str(tmp_path.resolve() / f / "spec.yaml") for f in "yx")]
