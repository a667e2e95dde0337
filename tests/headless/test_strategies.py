"""Every merge strategy under every policy, through the command, with one branch failing.

Runs in process through ``fanout_tui.cli.main`` (stdout captured, so headless) with real
``sh -c`` branches; the synthesizer is a real script reading the results document.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import pytest

from fanout_tui.cli import main

SYNTHESIZER = """\
import json, sys
document = json.load(sys.stdin)
done = [b["id"] for b in document["branches"] if b["status"] == "succeeded"]
print("synthesized", ",".join(done), "missing:", ",".join(document["missing"]) or "none")
"""

TEXT = {"a": "echo A", "c": "sleep 0.2; echo C"}
JSON = {
    "a": """echo '{"k": "a", "v": 1}'""",
    "c": """sleep 0.2; echo '[{"k": "c", "v": 3}, {"k": "a", "w": 2}]'""",
}
MERGES = {
    "concatenate-text": ("text", "{strategy: concatenate}"),
    "concatenate-json": ("json", "{strategy: concatenate}"),
    "key": ("json", "{strategy: key, key: k}"),
    "synthesis": ("json", "{strategy: synthesis, synthesizer: {run: python3 synth.py}}"),
}
POLICIES = {
    "all_or_nothing": "{mode: all_or_nothing}",
    "best_effort": "{mode: best_effort, min_success: 2}",
}

PARTIAL_RESULTS: dict[str, Any] = {
    "concatenate-text": "A\n[missing: b — failed: exit code 5]\nC\n",
    "concatenate-json": [
        {"k": "a", "v": 1},
        {"missing": "b", "status": "failed", "error": "exit code 5"},
        [{"k": "c", "v": 3}, {"k": "a", "w": 2}],
    ],
    "key": {"a": {"k": "a", "v": 1, "w": 2}, "c": {"k": "c", "v": 3}},
    "synthesis": "synthesized a,c missing: b\n",
}
COMPLETE_RESULTS: dict[str, Any] = {
    "concatenate-text": "A\nB\nC\n",
    "concatenate-json": [
        {"k": "a", "v": 1},
        {"k": "b"},
        [{"k": "c", "v": 3}, {"k": "a", "w": 2}],
    ],
    "key": {"a": {"k": "a", "v": 1, "w": 2}, "b": {"k": "b"}, "c": {"k": "c", "v": 3}},
    "synthesis": "synthesized a,b,c missing: none\n",
}


def run_spec(folder: Path, strategy: str, policy: str, *, b_fails: bool) -> tuple[int, Any]:
    output_format, merge = MERGES[strategy]
    commands = dict(TEXT if output_format == "text" else JSON)
    commands["b"] = (
        "exit 5" if b_fails else ("echo B" if output_format == "text" else """echo '{"k": "b"}'""")
    )
    branches = "".join(
        f"  - {{id: {name}, run: {json.dumps(run)}, output: {{format: {output_format}}}}}\n"
        for name, run in sorted(commands.items())
    )
    (folder / "synth.py").write_text(SYNTHESIZER)
    (folder / "spec.yaml").write_text(
        textwrap.dedent(f"""\
        version: 1
        name: matrix
        merge: {merge}
        policy: {POLICIES[policy]}
        branches:
        """)
        + branches
    )
    code = main(
        [
            str(folder / "spec.yaml"),
            "--headless",
            "--no-journal",
            "--report",
            str(folder / "report.json"),
        ]
    )
    return code, json.loads((folder / "report.json").read_text())


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("strategy", MERGES)
def test_one_failed_branch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], strategy: str, policy: str
) -> None:
    code, report = run_spec(tmp_path, strategy, policy, b_fails=True)
    out = capsys.readouterr().out
    assert report["missing"] == ["b"]
    if policy == "all_or_nothing":
        assert code == 1
        assert out == ""
        assert report["merged"] is None
        assert report["policy"]["state"] == "blocked"
        return
    assert code == 3
    assert report["flagged"] == ["b"]
    expected = PARTIAL_RESULTS[strategy]
    assert (out if isinstance(expected, str) else json.loads(out)) == expected


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("strategy", MERGES)
def test_every_branch_succeeded(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], strategy: str, policy: str
) -> None:
    code, report = run_spec(tmp_path, strategy, policy, b_fails=False)
    out = capsys.readouterr().out
    assert code == 0
    assert report["missing"] == report["flagged"] == []
    expected = COMPLETE_RESULTS[strategy]
    assert (out if isinstance(expected, str) else json.loads(out)) == expected
