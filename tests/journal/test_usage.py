"""Usage in the journal: per attempt, summed per branch and run in ``runs`` and
``runs show``, and the migration that brings it to older journals."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import pytest

from fanout_tui.engine import Usage, UsageReported
from fanout_tui.engine._events import AttemptEnded, BranchStateChanged, BranchStatus
from fanout_tui.journal import Journal, RunRecorder, list_runs, show_run
from fanout_tui.journal._schema import (
    DATABASE_NAME,
    MIGRATIONS,
    SCHEMA_VERSION,
    USAGE_SINCE,
    connect,
    migrate,
)
from fanout_tui.spec import Plan

from .builders import make_plan, outcome_of, run_branch, start_attempt
from .cli_runs import fanout, query, write_spec

S = BranchStatus


def spend(
    recorder: RunRecorder,
    plan: Plan,
    branch_id: str,
    *reports: Usage,
    status: BranchStatus | None = S.SUCCEEDED,
    attempt: int = 1,
) -> None:
    """An attempt of ``branch_id`` that reports ``reports`` and ends with ``status``
    (``None``: never ends, as when fanout-tui is killed)."""
    start_attempt(recorder, plan, branch_id, attempt=attempt)
    total = Usage()
    for usage in reports:
        total += usage
        recorder.record(UsageReported(branch_id, attempt, usage, total, total))
    if status is None:
        return
    result = branch_id if status is S.SUCCEEDED else None
    recorder.record(
        AttemptEnded(branch_id, attempt, status, 2.0, 1.0, result=result, usage=total or None)
    )
    recorder.record(BranchStateChanged(branch_id, status, attempt, 2, at=2.0))


def attempts(journal: Journal) -> dict[tuple[str, int], tuple[object, ...]]:
    rows = journal.connection.execute(
        "SELECT branch_id, attempt, input_tokens, output_tokens, cost_usd FROM attempts"
    )
    return {(row[0], row[1]): tuple(row[2:]) for row in rows}


def test_each_attempt_keeps_what_it_reported(journal: Journal, tmp_path: Path) -> None:
    plan = make_plan(tmp_path, {"a": "x", "b": "x", "c": "x"})
    recorder = journal.start_run(plan)
    spend(recorder, plan, "a", Usage(900, 100, 0.002), Usage(100, 20, 0.0001))
    spend(recorder, plan, "b", Usage(50, 5), status=None)  # interrupted: what it reported
    run_branch(recorder, plan, "c")
    recorder.close()
    assert attempts(journal) == {
        ("a", 1): (1000, 120, pytest.approx(0.0021)),
        ("b", 1): (50, 5, 0.0),
        ("c", 1): (None, None, None),
    }


def _two_runs(root: Path, tmp_path: Path) -> tuple[str, str]:
    """A run where ``a`` succeeds after a failed attempt and ``b`` fails; its resume
    reuses ``a`` and runs ``b`` again."""
    plan = make_plan(tmp_path, {"a": "x", "b": "x"})
    with Journal.open(root) as journal:
        first = journal.start_run(plan)
        spend(first, plan, "a", Usage(1000, 200, 0.01), status=S.FAILED)
        spend(first, plan, "a", Usage(1000, 200, 0.01), attempt=2)
        spend(first, plan, "b", Usage(300, 0), status=S.FAILED)
        first.finish(outcome_of(plan, {"a": S.SUCCEEDED, "b": S.FAILED}))
        resumed_from, _, _ = journal.prepare_resume(plan, first.run_id)
        second = journal.start_run(plan, resumed_from=resumed_from)
        spend(second, plan, "b", Usage(400, 100, 0.005))
        second.finish(outcome_of(plan, {"a": S.SUCCEEDED, "b": S.SUCCEEDED}, merged=[1, 2]))
    return first.run_id, second.run_id


def test_runs_lists_what_each_run_spent_itself(tmp_path: Path) -> None:
    first, second = _two_runs(tmp_path / ".fanout", tmp_path)
    out = io.StringIO()
    assert list_runs(tmp_path / ".fanout", out=out) == 0
    header, *lines = out.getvalue().splitlines()
    assert header.split() == ["RUN", "STARTED", "DURATION", "OUTCOME", "BRANCHES", "USAGE", "SPEC"]
    assert lines[0].startswith(second) and "500 tokens · $0.0050" in lines[0]
    assert lines[1].startswith(first) and "2,700 tokens · $0.0200" in lines[1]


def test_runs_without_usage_have_no_usage_column(tmp_path: Path) -> None:
    plan = make_plan(tmp_path, {"a": "x"})
    with Journal.open(tmp_path / ".fanout") as journal:
        recorder = journal.start_run(plan)
        run_branch(recorder, plan, "a")
        recorder.finish(outcome_of(plan, {"a": S.SUCCEEDED}, merged=1))
    out = io.StringIO()
    list_runs(tmp_path / ".fanout", out=out)
    assert "USAGE" not in out.getvalue()


def test_show_gives_the_run_and_each_branch_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first, second = _two_runs(tmp_path / ".fanout", tmp_path)
    out = io.StringIO()
    assert show_run(tmp_path / ".fanout", second, branch_id=None, out=out) == 0
    assert out.getvalue() == "[\n  1,\n  2\n]\n"  # the merged result alone
    assert capsys.readouterr().err.splitlines() == [
        f"fanout-tui: run {second} spent 500 tokens · $0.0050",
        f"  a  2,400 tokens · $0.0200 (reused: spent in run {first})",
        "  b  500 tokens · $0.0050",
    ]
    assert show_run(tmp_path / ".fanout", first, branch_id=None, out=io.StringIO()) == 1
    err = capsys.readouterr().err.splitlines()
    assert err[1:] == [
        f"fanout-tui: run {first} spent 2,700 tokens · $0.0200",
        "  a  2,400 tokens · $0.0200",
        "  b  300 tokens",
    ]


def test_show_branch_gives_its_usage_and_each_attempts(tmp_path: Path) -> None:
    first, second = _two_runs(tmp_path / ".fanout", tmp_path)
    out = io.StringIO()
    assert show_run(tmp_path / ".fanout", second, branch_id="a", out=out) == 0
    text = out.getvalue()
    header = text.splitlines()[0]
    assert header.startswith(f"branch a: succeeded (reused from run {first}), ")
    assert header.endswith(", 1.0s, 2,400 tokens · $0.0200")
    assert "=== attempt 1: failed, 1.0s, 1,200 tokens · $0.0100 ===" in text
    assert "=== attempt 2: succeeded, 1.0s, 1,200 tokens · $0.0100 ===" in text


def _journal_at(root: Path, version: int) -> Path:
    root.mkdir()
    database = root / DATABASE_NAME
    connection = connect(database)
    assert migrate(connection, MIGRATIONS[:version]) == version
    connection.execute(
        "INSERT INTO runs (id, spec_name, started_at, ended_at, outcome, branch_count) "
        "VALUES ('r1', 'old', 1.0, 2.0, 'succeeded', 1)"
    )
    connection.execute(
        "INSERT INTO branches (run_id, id, idx, fingerprint, status) "
        "VALUES ('r1', 'a', 0, 'f', 'succeeded')"
    )
    connection.execute(
        "INSERT INTO attempts (run_id, branch_id, attempt, started_at, status) "
        "VALUES ('r1', 'a', 1, 1.0, 'succeeded')"
    )
    connection.close()
    return root


def test_a_journal_before_usage_is_read_as_it_is(tmp_path: Path) -> None:
    root = _journal_at(tmp_path / ".fanout", USAGE_SINCE - 1)
    out = io.StringIO()
    assert list_runs(root, out=out) == 0
    assert "r1" in out.getvalue() and "USAGE" not in out.getvalue()
    out = io.StringIO()
    assert show_run(root, "r1", branch_id="a", out=out) == 0
    assert "=== attempt 1: succeeded ===" in out.getvalue()


def test_a_journal_before_usage_is_migrated_with_its_attempts_kept(tmp_path: Path) -> None:
    root = _journal_at(tmp_path / ".fanout", USAGE_SINCE - 1)
    with Journal.open(root) as journal:
        assert attempts(journal) == {("a", 1): (None, None, None)}
    connection = sqlite3.connect(root / DATABASE_NAME)
    assert connection.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    connection.close()


def test_a_real_run_journals_the_usage_its_branches_report(tmp_path: Path) -> None:
    signal = '::fanout:: {"usage": {"input_tokens": 900, "output_tokens": 120, "cost_usd": 0.0021}}'
    spec = write_spec(tmp_path, {"ask": f"echo '{signal}' >&2; echo ok", "plain": "echo ok"})
    run = fanout(spec, tmp_path / ".fanout")
    assert run.returncode == 0, run.stderr
    assert "usage: 1,020 tokens · $0.0021" in run.stderr
    rows = query(tmp_path / ".fanout", "SELECT branch_id, input_tokens FROM attempts")
    assert {row["branch_id"]: row["input_tokens"] for row in rows} == {"ask": 900, "plain": None}
