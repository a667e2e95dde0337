"""The sample specs: each one is valid, runs headless to its expected outcome, and ships.

The headless runs start every sample at once (they mostly sleep, so this keeps the file
fast) in a temporary working folder, which also shows that relative paths resolve
against the spec's folder and not the working one.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from fanout_tui.cli import main

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_specs"
README = ROOT / "README.md"
WHEEL = "wheel"
RUN_TIMEOUT_S = 60
_INTERPRETER_DIR = str(Path(sys.executable).parent)
"""Put first on PATH, so that the samples' ``python3`` is this interpreter (as in a venv)."""


@dataclass(frozen=True)
class Run:
    """One finished headless run of a sample."""

    exit_code: int
    stdout: str
    stderr: str
    report: dict[str, Any] | None

    def statuses(self) -> dict[str, str]:
        """Branch id → final status, from the report."""
        assert self.report is not None, self.stderr
        return {branch["id"]: branch["status"] for branch in self.report["branches"]}

    def attempts(self, branch_id: str) -> int:
        """How many attempts the report counts for one branch."""
        assert self.report is not None, self.stderr
        return next(b["attempts"] for b in self.report["branches"] if b["id"] == branch_id)


def _docs_key_merge(run: Run) -> None:
    merged = json.loads(run.stdout)
    assert list(merged) == ["intro", "install", "usage", "faq", "changelog"]
    assert merged["usage"]["words"] == 125
    assert merged["install"]["title"] == "Installing Brewlog"  # from the other branch


def _code_checks(run: Run) -> None:
    out = run.stdout
    # The declared merge order, not the finishing order (the syntax check finishes last).
    assert (
        out.index("syntax:") < out.index("line length:") < out.index("json:") < out.index("todo:")
    )
    assert "todo: 2 TODO/FIXME markers in 3 files" in out
    assert "line length: 0 lines over 100 columns" in out


def _flaky_retry(run: Run) -> None:
    assert [page["page"] for page in json.loads(run.stdout)] == [1, 2, 3, 4]
    assert run.attempts("page-3") == 3
    assert run.attempts("page-1") == 1


def _best_effort(run: Run) -> None:
    assert "station-a: 24 readings" in run.stdout
    assert "station-f: 24 readings" in run.stdout
    assert "station-e" in run.stdout  # the placeholder flags the missing station
    assert run.statuses()["station-e"] == "failed"
    assert run.attempts("station-e") == 2
    assert run.report is not None
    assert run.report["missing"] == run.report["flagged"] == ["station-e"]


def _rate_limited_api(run: Run) -> None:
    merged = json.loads(run.stdout)
    cities = ["Lisbon", "Oslo", "Nairobi", "Lima", "Osaka", "Denver", "Perth", "Tallinn"]
    assert list(merged) == cities
    assert merged["Oslo"] == {"city": "Oslo", "temp_c": 2.9, "conditions": "windy"}
    # Osaka's first call got a 429 with Retry-After: 3, which paused the API for everyone.
    assert run.attempts("weather-Osaka") == 2
    assert run.attempts("weather-Oslo") == 1
    assert re.search(r"weather-api +paused +3s \(429 from weather-Osaka\)", run.stderr)
    assert re.search(r"weather-Osaka +retrying .* rate limited \(retry after 3s\)", run.stderr)
    assert re.search(r"weather-api +resumed", run.stderr)


def _token_budget(run: Run) -> None:
    assert list(json.loads(run.stdout)) == ["intro", "install", "usage"]
    assert run.statuses() == {
        "summary-intro": "succeeded",
        "summary-install": "succeeded",
        "summary-usage": "succeeded",
        "summary-faq": "cancelled",
        "summary-changelog": "cancelled",
    }
    assert run.report is not None
    assert run.report["usage"] == {"input_tokens": 3459, "output_tokens": 205, "cost_usd": 0.013452}
    entries = {branch["id"]: branch for branch in run.report["branches"]}
    assert entries["summary-intro"]["usage"]["input_tokens"] == 1156
    assert entries["summary-faq"]["error"] == "budget reached"
    assert "   usage: 3,664 tokens · $0.0135 (budget reached: 2 branches stopped)" in run.stderr


def _synthesis_report(run: Run) -> None:
    assert run.stdout.startswith("# Incident report (synthesis-report)")
    assert "160 log lines from 4 services: 20 errors, 12 warnings." in run.stdout
    assert "| db | 8 | 6 | connection limit reached |" in run.stdout


def _matrix_and_callables(run: Run) -> None:
    merged = json.loads(run.stdout)
    assert list(merged) == ["intro", "usage", "faq"]
    assert set(merged["faq"]) == {"doc", "md5", "sha256", "bytes", "lines"}
    assert merged["faq"]["bytes"] == (SAMPLES / "docs" / "faq.md").stat().st_size
    assert merged["faq"]["md5"] == "b1760c74fec3d251e9b7905d7ef80a35"


def _llm_summaries(run: Run) -> None:
    merged = json.loads(run.stdout)
    assert list(merged) == ["intro", "usage", "faq"]
    assert merged["faq"]["doc"] == "faq"
    assert run.attempts("summary-faq") == 2  # the 429 retried; the repair is no retry
    assert run.report is not None and run.report["usage"]["input_tokens"] > 0


def _release_gate(run: Run) -> None:
    assert run.stdout == ""
    assert run.statuses() == {
        "doctests": "cancelled",
        "licence-audit": "failed",
        "archive": "cancelled",
    }


@dataclass(frozen=True)
class Expectation:
    exit_code: int
    check: Callable[[Run], None]


EXPECTED: dict[str, Expectation] = {
    "docs-key-merge.yaml": Expectation(0, _docs_key_merge),
    "code-checks.yaml": Expectation(0, _code_checks),
    "flaky-retry.yaml": Expectation(0, _flaky_retry),
    "best-effort.yaml": Expectation(3, _best_effort),
    "rate-limited-api.yaml": Expectation(0, _rate_limited_api),
    "token-budget.yaml": Expectation(3, _token_budget),
    "synthesis-report.yaml": Expectation(0, _synthesis_report),
    "matrix-and-callables.yaml": Expectation(0, _matrix_and_callables),
    "release-gate.yaml": Expectation(1, _release_gate),
    "llm-summaries.yaml": Expectation(0, _llm_summaries),
}
MOCK_OPENAI_PORT = 8765
"""Where llm-summaries.yaml expects its mock OpenAI-compatible server."""


def _sample_paths() -> list[Path]:
    return sorted(SAMPLES.glob("*.yaml"))


def test_every_sample_has_an_expectation() -> None:
    assert {path.name for path in _sample_paths()} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_starts_with_the_schema_comment(name: str) -> None:
    first_line = (SAMPLES / name).read_text(encoding="utf-8").splitlines()[0]
    assert first_line == "# yaml-language-server: $schema=./fanout-tui.schema.json"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_is_valid_for_editors_using_the_schema_file(name: str) -> None:
    schema = json.loads((SAMPLES / "fanout-tui.schema.json").read_text(encoding="utf-8"))
    document = yaml.safe_load((SAMPLES / name).read_text(encoding="utf-8"))
    errors = [error.message for error in Draft202012Validator(schema).iter_errors(document)]
    assert errors == []


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_passes_check(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", str(SAMPLES / name)]) == 0
    assert name.removesuffix(".yaml") in capsys.readouterr().out


class _Background:
    """A command run in the background with ``python3`` meaning this interpreter."""

    def __init__(self, argv: list[str], cwd: Path, report_path: Path | None = None) -> None:
        self.cwd = cwd
        self.report_path = report_path
        self._finished: Run | None = None
        self.process = subprocess.Popen(
            argv,
            cwd=cwd,
            env={**os.environ, "PATH": os.pathsep.join([_INTERPRETER_DIR, os.environ["PATH"]])},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    @classmethod
    def headless(cls, spec: Path, workdir: Path) -> _Background:
        """Run ``spec`` headless, without a journal, in ``workdir`` with a report."""
        workdir.mkdir(parents=True)
        report = workdir / "report.json"
        argv = [sys.executable, "-m", "fanout_tui", str(spec), "--headless", "--no-journal"]
        return cls([*argv, "--report", str(report)], workdir, report)

    def wait(self) -> Run:
        """Wait for the run to end (once) and return what it did."""
        if self._finished is None:
            stdout, stderr = self.process.communicate(timeout=RUN_TIMEOUT_S)
            report = None
            if self.report_path is not None and self.report_path.exists():
                report = json.loads(self.report_path.read_text(encoding="utf-8"))
            self._finished = Run(self.process.returncode, stdout, stderr, report)
        return self._finished

    def stop(self) -> None:
        """End the run if it is still going: SIGTERM lets fanout-tui end its branches."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.communicate()


def _readme_block(language: str, containing: str) -> str:
    """The first fenced ``language`` block of the README that contains ``containing``."""
    blocks = re.findall(rf"```{language}\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    return next(block for block in blocks if containing in block)


@pytest.fixture(scope="module")
def background(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, _Background]]:
    """Start every sample, the README's library example and a wheel build at once.

    They mostly sleep or wait on I/O, so running them side by side keeps this file fast;
    each test waits for its own.
    """
    base = tmp_path_factory.mktemp("samples")
    from mock_openai_server import serve  # tests/ is on sys.path

    mock = serve(MOCK_OPENAI_PORT)  # for llm-summaries.yaml, as its README line says
    runs = {name: _Background.headless(SAMPLES / name, base / name) for name in sorted(EXPECTED)}
    example = _readme_block("python", "anyio.run(engine.run)")
    runs[README.name] = _Background([sys.executable, "-c", example], ROOT)
    build = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(base)]
    runs[WHEEL] = _Background([*build, str(ROOT)], base)
    yield runs
    for run in runs.values():
        run.stop()
    mock.shutdown()
    mock.server_close()


def _assert_outcome(name: str, run: Run) -> None:
    expected = EXPECTED[name]
    assert run.exit_code == expected.exit_code, run.stderr
    expected.check(run)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_runs_headless_to_its_expected_outcome(
    name: str, background: dict[str, _Background]
) -> None:
    _assert_outcome(name, background[name].wait())


STATEFUL = ("flaky-retry.yaml", "rate-limited-api.yaml")
"""Samples that keep state between attempts (in the temporary folder)."""


@pytest.fixture(scope="module")
def second_runs(
    background: dict[str, _Background], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, _Background]]:
    """Run each stateful sample again once its first run has finished."""
    base = tmp_path_factory.mktemp("again")
    runs = {}
    for name in STATEFUL:
        background[name].wait()
        runs[name] = _Background.headless(SAMPLES / name, base / name)
    yield runs
    for run in runs.values():
        run.stop()


@pytest.mark.slow
@pytest.mark.parametrize("name", STATEFUL)
def test_stateful_sample_has_the_same_outcome_when_run_again(
    name: str, second_runs: dict[str, _Background]
) -> None:
    _assert_outcome(name, second_runs[name].wait())


@pytest.mark.slow
def test_wheel_ships_the_sample_specs_and_themes(background: dict[str, _Background]) -> None:
    build = background[WHEEL]
    assert build.wait().exit_code == 0, build.wait().stderr
    (wheel,) = build.cwd.glob("fanout_tui-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        shipped = set(archive.namelist())
    for folder in ("sample_specs", "themes"):
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts:
                relative = path.relative_to(ROOT).as_posix()
                assert f"fanout_tui/_data/{relative}" in shipped
    assert any(name.startswith("fanout_tui/_data/sample_specs/scripts/") for name in shipped)
    assert any(name.startswith("fanout_tui/_data/themes/") for name in shipped)


def test_readme_first_command_installs_and_opens_a_sample_in_the_dashboard() -> None:
    first = _readme_block("sh", "fanout-tui").strip().splitlines()[0]
    assert first.startswith("python3 -m venv .venv && . .venv/bin/activate && pip install . && ")
    spec = first.rsplit("fanout-tui ", 1)[1]
    assert (ROOT / spec).is_file() and spec.startswith("sample_specs/")


def test_readme_example_spec_passes_check(tmp_path: Path) -> None:
    spec = tmp_path / "summarize-docs.yaml"
    spec.write_text(_readme_block("yaml", "version: 1"), encoding="utf-8")
    assert main(["check", str(spec)]) == 0


def test_readme_test_command_is_the_one_ci_runs() -> None:
    command = _readme_block("sh", "python -m pytest").strip()
    ci_lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert command == "pip install -e '.[test]' && python -m pytest"
    assert command in ci_lines


@pytest.mark.slow
def test_readme_library_example_runs(background: dict[str, _Background]) -> None:
    run = background[README.name].wait()
    assert run.exit_code == 0, run.stderr
    assert "page-3: retrying (attempt 1/4)" in run.stdout
    assert "page-3: succeeded (attempt 3/4)" in run.stdout
    assert "0 merged" in run.stdout
