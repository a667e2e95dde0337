"""An unexpected exception inside the engine fails just its branch with a short reason,
and its full traceback is kept: in the run's folder, and on stderr with ``--debug``."""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

import pytest

from fanout_tui import launch
from fanout_tui.cli import main
from fanout_tui.engine import BranchStatus, Engine, ExitCode, LocalExecutor
from fanout_tui.engine._attempt_result import AttemptResult
from fanout_tui.internal_errors import INTERNAL_ERRORS_LOG
from fanout_tui.launch import FrontEnd, run_spec
from fanout_tui.spec import BranchPlan, Plan

SECRET = "s3cr3t-value-of-the-token"


class _BrokenExecutor(LocalExecutor):
    """Runs nothing; raises, as a bug would, for the branch ``broken``."""

    async def run_attempt(self, branch: BranchPlan, attempt: int, **_: object) -> AttemptResult:
        if branch.id == "broken":
            _fail_deep_inside(branch.id)
        return AttemptResult(BranchStatus.SUCCEEDED, result="fine")


def _fail_deep_inside(branch_id: str) -> None:
    raise RuntimeError(f"a bug met {branch_id} holding {SECRET}")


@pytest.fixture
def plan(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Plan:
    """Two branches; the engine's executor raises for ``broken``."""
    monkeypatch.setenv("TOKEN", SECRET)
    monkeypatch.setattr(launch, "Engine", functools.partial(Engine, executor=_BrokenExecutor()))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    branches = tuple(
        BranchPlan(id=branch_id, index=i, run="true", cwd=tmp_path)
        for i, branch_id in enumerate(("broken", "fine"))
    )
    return Plan(
        name="demo", branches=branches, spec_path=tmp_path / "spec.yaml", secrets=("TOKEN",)
    )


def _run(plan: Plan, **options: object) -> int:
    return run_spec(plan, front_end=FrontEnd.HEADLESS, **options)  # type: ignore[arg-type]


def _only_log(folder: Path, pattern: str) -> str:
    (log,) = folder.glob(pattern)
    assert log.stat().st_mode & 0o777 == 0o600
    return log.read_text(encoding="utf-8")


def test_the_branch_fails_briefly_and_the_traceback_goes_to_the_runs_folder(
    plan: Plan, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = _run(plan, journal=tmp_path / ".fanout")
    err = capsys.readouterr().err
    assert code == ExitCode.NOT_SATISFIED
    assert "the attempt could not run: a bug met broken holding" in err  # the short reason
    assert "Traceback" not in err  # only with --debug
    text = _only_log(tmp_path / ".fanout" / "runs", f"*/{INTERNAL_ERRORS_LOG}")
    assert "branch broken, attempt 1: the attempt could not run: a bug met broken" in text
    assert "Traceback (most recent call last)" in text and "_fail_deep_inside" in text
    assert SECRET not in text
    assert f"its traceback is in {tmp_path / '.fanout'}" in err


def test_debug_prints_the_traceback_on_stderr_too(
    plan: Plan, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _run(plan, journal=tmp_path / ".fanout", debug=True)
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "_fail_deep_inside" in err
    assert SECRET not in err


def test_without_a_journal_the_traceback_goes_to_a_temporary_file(
    plan: Plan, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _run(plan, journal=None)
    text = _only_log(tmp_path / "tmp", f"fanout-tui-*-{INTERNAL_ERRORS_LOG}")
    assert "_fail_deep_inside" in text
    assert f"its traceback is in {tmp_path / 'tmp'}" in capsys.readouterr().err


def test_a_run_without_internal_errors_leaves_no_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    branches = (BranchPlan(id="a", index=0, run="true", cwd=tmp_path),)
    plan = Plan(name="demo", branches=branches, spec_path=tmp_path / "spec.yaml")
    assert _run(plan, journal=None) == ExitCode.OK
    assert list(tmp_path.glob("fanout-tui-*")) == []
    assert "tracebacks" not in capsys.readouterr().err


def test_the_command_line_passes_debug_on(
    plan: Plan, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "spec.yaml").write_text(
        "version: 1\nname: demo\nbranches:\n  - {id: broken, run: 'true'}\n", encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    assert main(["spec.yaml", "--headless", "--no-journal", "--debug"]) == ExitCode.NOT_SATISFIED
    assert "_fail_deep_inside" in capsys.readouterr().err
