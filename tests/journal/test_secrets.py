"""Secret values never reach a file of the journal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fanout_tui.engine._events import BranchStatus
from fanout_tui.journal import Journal

from .builders import make_plan, outcome_of, run_branch

SECRET = "hunter2-very-secret-value"


def test_a_secret_in_commands_reasons_and_results_is_masked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("API_TOKEN", SECRET)
    plan = make_plan(
        tmp_path,
        {"a": f"curl -H 'token: {SECRET}' x", "b": "false"},
        secrets=("API_TOKEN",),
    )
    with Journal.open(tmp_path / ".fanout") as journal:
        recorder = journal.start_run(plan)
        # Events are masked by the engine; the journal masks again whatever it writes.
        run_branch(recorder, plan, "a", result={"echo": SECRET, "big": "z" * 70_000 + SECRET})
        run_branch(recorder, plan, "b", status=BranchStatus.FAILED, reason=f"said {SECRET}")
        recorder.finish(outcome_of(plan, {"a": BranchStatus.SUCCEEDED, "b": BranchStatus.FAILED}))
        command = journal.connection.execute("SELECT command FROM branches WHERE id = 'a'")
        assert command.fetchone()[0] == "curl -H 'token: ***' x"
    files = [p for p in (tmp_path / ".fanout").rglob("*") if p.is_file()]
    assert any(p.parent.name == "results" for p in files)  # the large result was spilled
    for path in files:
        assert SECRET.encode() not in path.read_bytes(), path


def test_a_secret_with_quotes_is_masked_inside_json_results(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    quoted = 'pa"ss\\word-1234'
    monkeypatch.setenv("DB_PASSWORD", quoted)
    plan = make_plan(tmp_path, {"a": "true"}, secrets=("DB_PASSWORD",))
    with Journal.open(tmp_path / ".fanout") as journal:
        recorder = journal.start_run(plan)
        run_branch(recorder, plan, "a", result={"dsn": f"db://u:{quoted}@h", quoted: 1})
        recorder.finish(outcome_of(plan, {"a": BranchStatus.SUCCEEDED}))
        (stored,) = journal.connection.execute("SELECT result FROM branches").fetchone()
    assert stored == '{"dsn": "db://u:***@h", "***": 1}'
    escaped = json.dumps(quoted)[1:-1].encode()
    for path in (p for p in (tmp_path / ".fanout").rglob("*") if p.is_file()):
        assert quoted.encode() not in path.read_bytes(), path
        assert escaped not in path.read_bytes(), path
