"""A huge exception message is no huge reason: a few hundred characters are shown and
stored, the whole text is in the attempt's log."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fanout_tui.cli import main
from fanout_tui.engine._attempt_result import REASON_CAP

HUGE = 1_000_000


def test_a_huge_exception_message_is_capped_and_the_log_keeps_it_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "huge.py").write_text(f"def boom():\n    raise ValueError('x' * {HUGE})\n")
    (tmp_path / "spec.yaml").write_text(
        "version: 1\nname: huge\nbranches:\n  - {id: a, call: 'huge:boom'}\n"
    )
    assert main(["spec.yaml", "--headless", "--journal", "j", "--report", "r.json"]) == 1
    err = capsys.readouterr().err
    assert len(err) < 10 * REASON_CAP
    assert "more characters in the attempt's log" in err
    (branch,) = json.loads((tmp_path / "r.json").read_text())["branches"]
    assert len(branch["error"]) < 2 * REASON_CAP
    (log,) = (tmp_path / "j").rglob("a.attempt-1.stderr")
    assert "x" * HUGE in log.read_text()
