"""A secret from ``secrets:`` appears nowhere under the journal folder after real runs."""

from __future__ import annotations

from pathlib import Path

from .cli_runs import fanout, write_spec

SECRET = "s3cr3t-value-that-must-not-leak"


def test_no_file_of_the_journal_holds_a_secret(tmp_path: Path) -> None:
    journal = tmp_path / ".fanout"
    spec = write_spec(
        tmp_path,
        {
            "echoes": 'echo "token=$API_TOKEN"; echo "$API_TOKEN" >&2',
            "interpolated": "echo ${{ env.API_TOKEN }} | wc -c",
            "fails": 'echo "$API_TOKEN" >&2; echo "bad $API_TOKEN"; exit 3',
        },
        extra="secrets: [API_TOKEN]\npolicy: {mode: best_effort}",
    )
    env = {"API_TOKEN": SECRET}
    first = fanout(spec, journal, env=env)
    assert first.returncode == 3, first.stderr
    second = fanout(spec, journal, "--resume", env=env)
    assert second.returncode == 3, second.stderr
    files = [p for p in journal.rglob("*") if p.is_file()]
    assert any(p.name.endswith(".stderr") for p in files)
    assert any(p.name == "journal.db" for p in files)
    for path in files:
        assert SECRET.encode() not in path.read_bytes(), path
