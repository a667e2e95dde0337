"""``fanout-tui check`` and ``fanout-tui schema`` end to end, through the command's entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fanout_tui.cli import main
from fanout_tui.spec import spec_json_schema

GOOD = """\
version: 1
name: checked
description: Two checks and a matrix.
concurrency: 2
resources:
  api: {concurrency: 1, rate: 5/s}
secrets: [CHECK_TOKEN]
branches:
  - id: lint
    title: Lint the code
    run: ruff check . --token "${{ env.CHECK_TOKEN }}"
    env: {CHECK_TOKEN: "${{ env.CHECK_TOKEN }}", MODE: strict}
    timeout: 1m30s
    retry: {attempts: 2, backoff: 500ms}
    uses: [api]
  - id: "doc-${{ matrix.n }}"
    matrix: {n: [1, 2]}
    call: tasks:summarize
    with: {n: "${{ matrix.n }}"}
    output: {format: json}
merge: {separator: "---"}
policy: {mode: best_effort, min_success: 50%}
output: out/merged.txt
"""


def _spec(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_check_prints_the_expanded_plan_and_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CHECK_TOKEN", "s3cret-value-42")
    spec = _spec(tmp_path, GOOD)
    assert main(["check", str(spec)]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out.startswith("checked\n  Two checks and a matrix.\n")
    assert "branches     3 (at most 2 running at once)" in out
    assert "  lint — Lint the code" in out
    assert 'run      ruff check . --token "***"   (by /bin/sh -c)' in out
    assert "env      CHECK_TOKEN=*** MODE=strict" in out
    assert f"cwd      {tmp_path}" in out
    assert "limits   timeout 1m30s · 2 attempts (backoff 500ms up to 30s, jitter)" in out
    assert "uses     api" in out
    assert "  doc-2  [n=2]" in out
    assert "call     tasks:summarize(n=2)" in out
    assert "output   json · success on exit code 0" in out
    assert "api  concurrency 1 · rate 5/s" in out
    assert 'merge        concatenate in declared order, separator "---"' in out
    assert "policy       best_effort: merge when at least 2 of 3 succeed" in out
    assert f"output       {tmp_path / 'out' / 'merged.txt'}" in out
    assert "secrets      CHECK_TOKEN (values masked)" in out
    assert "s3cret-value-42" not in out


def test_check_reports_errors_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = _spec(tmp_path, "version: 1\nname: bad\nbranches:\n  - id: a\n    rnu: echo\n")
    assert main(["check", str(spec)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err == f"{spec}:5:5: branches[0].rnu: unknown field; did you mean 'run'?\n"


def test_check_of_a_missing_file_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", str(tmp_path / "none.yaml")]) == 2
    assert capsys.readouterr().err.strip() == f"{tmp_path / 'none.yaml'}: no such file"


def test_check_of_binary_data_exits_2_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = tmp_path / "blob.yaml"
    spec.write_bytes(bytes(range(256)) * 4)
    assert main(["check", str(spec)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert str(spec) in err


def test_check_without_a_spec_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check"]) == 2
    assert "SPEC" in capsys.readouterr().err


def test_schema_prints_the_json_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    assert json.loads(capsys.readouterr().out) == spec_json_schema()
