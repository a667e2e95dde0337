"""Resume with real runs: what runs again, proven by counter files."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from fanout_tui.cli import main
from fanout_tui.engine import process_alive

from .cli_runs import (
    counted,
    fanout,
    fanout_command,
    integrity,
    query,
    runs_of,
    wait_for_rows,
    write_spec,
)


def test_the_resume_matrix_with_real_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = tmp_path / "journal"
    spec = write_spec(
        tmp_path,
        {
            "same": counted("same"),
            "flaky": counted("flaky", check="test -e flaky-ok"),
            "changed": counted("changed", check="test v1 = v1"),
            "removed": counted("removed"),
        },
    )
    first = fanout(spec, journal)
    assert first.returncode == 1, first.stderr
    (first_run,) = query(journal, "SELECT id FROM runs")

    (tmp_path / "flaky-ok").touch()
    write_spec(
        tmp_path,
        {
            "added": counted("added"),
            "same": counted("same"),
            "flaky": counted("flaky", check="test -e flaky-ok"),
            "changed": counted("changed", check="test v2 = v2"),
        },
    )
    second = fanout(spec, journal, "--resume")
    assert second.returncode == 0, second.stderr
    assert {b: runs_of(tmp_path, b) for b in ("same", "flaky", "changed", "removed", "added")} == {
        "same": 1,  # succeeded, unchanged: reused
        "flaky": 2,  # failed: ran again
        "changed": 2,  # definition changed: ran again
        "removed": 1,  # no longer in the spec
        "added": 1,  # new
    }
    assert "reused" in second.stderr
    assert second.stdout.split() == ["added", "same", "flaky", "changed"]
    rows = query(
        journal,
        "SELECT b.id, b.reused_from FROM branches b JOIN runs r ON r.id = b.run_id "
        "WHERE r.resumed_from = ?",
        (first_run["id"],),
    )
    assert {r["id"]: r["reused_from"] for r in rows} == {
        "added": None,
        "same": first_run["id"],
        "flaky": None,
        "changed": None,
    }

    # Resuming the resumed run finds everything, including what it had reused itself.
    third = fanout(spec, journal, "--resume")
    assert third.returncode == 0, third.stderr
    assert third.stdout == second.stdout
    assert [runs_of(tmp_path, b) for b in ("same", "flaky", "changed", "added")] == [1, 2, 2, 1]
    assert integrity(journal) == "ok"

    # The history lists the three runs and shows what each branch did.
    assert main(["runs", "--journal", str(journal)]) == 0
    listing = capsys.readouterr().out.splitlines()
    assert [line.split()[4] for line in listing[1:]] == ["succeeded", "succeeded", "failed"]
    assert "  4 succeeded (4 reused)  " in listing[1]
    assert main(["runs", "show", first_run["id"][:4], "--journal", str(journal)]) == 1
    assert (
        main(["runs", "show", first_run["id"], "--journal", str(journal), "--branch", "flaky"]) == 0
    )
    shown = capsys.readouterr().out
    assert shown.startswith("branch flaky: failed, 1 attempt")
    assert "--- attempt 1 stdout: nothing ---\n--- attempt 1 stderr: nothing ---\n" in shown
    last = listing[1].split()[0]
    assert main(["runs", "show", last, "--journal", str(journal), "--branch", "flaky"]) == 0
    shown = capsys.readouterr().out
    assert "reused from run" in shown and "result:\nflaky\n" in shown
    assert main(["runs", "show", last, "--journal", str(journal)]) == 0
    assert capsys.readouterr().out == third.stdout


def test_resuming_a_run_that_does_not_exist_is_a_usage_error(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, {"a": counted("a")})
    result = fanout(spec, tmp_path / "journal", "--resume", "abc123")
    assert result.returncode == 2
    assert result.stderr.strip() == f"fanout-tui: no run abc123 in {tmp_path / 'journal'}/"
    assert runs_of(tmp_path, "a") == 0


def test_resuming_a_spec_never_run_runs_every_branch(tmp_path: Path) -> None:
    # A run killed before it was recorded leaves nothing to resume: --resume starts afresh.
    spec = write_spec(tmp_path, {"a": counted("a")})
    result = fanout(spec, tmp_path / "journal", "--resume")
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith(
        f"fanout-tui: no earlier run of {spec} in {tmp_path / 'journal'}/ to resume; "
        "running every branch\n"
    )
    assert runs_of(tmp_path, "a") == 1
    again = fanout(spec, tmp_path / "journal", "--resume")
    assert again.returncode == 0 and "no earlier run" not in again.stderr
    assert runs_of(tmp_path, "a") == 1


def test_resume_ends_the_process_group_a_killed_run_left(tmp_path: Path) -> None:
    journal = tmp_path / "journal"
    spec = write_spec(tmp_path, {"long": "sleep 60", "quick": counted("quick")})
    process = subprocess.Popen(
        fanout_command(spec, journal),
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        rows = wait_for_rows(
            journal,
            "SELECT pid, process_start_time FROM attempts "
            "WHERE branch_id = 'long' AND pid IS NOT NULL",
        )
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    pid, started = rows[0]["pid"], rows[0]["process_start_time"]
    try:
        assert process_alive(pid, started)  # the leftover outlived fanout-tui
        write_spec(tmp_path, {"long": "true", "quick": counted("quick")})
        resumed = fanout(spec, journal, "--resume")
        assert resumed.returncode == 0, resumed.stderr
        assert not process_alive(pid, started)
        interrupted = query(
            journal,
            "SELECT branch_id FROM attempts WHERE status = 'interrupted' AND pid = ?",
            (pid,),
        )
        assert [row["branch_id"] for row in interrupted] == ["long"]
    finally:
        if process_alive(pid, started):
            os.killpg(pid, signal.SIGKILL)


def test_resuming_a_run_of_another_spec_file_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    shared = f"defaults:\n  cwd: {tmp_path}"  # one definition in both folders
    (tmp_path / "counts").mkdir()
    for folder in ("x", "y"):
        (tmp_path / folder).mkdir()
        write_spec(tmp_path / folder, {"a": counted("a")}, extra=shared)
    assert main(["x/spec.yaml", "--headless", "--journal", "j"]) == 0
    run_id = str(query(tmp_path / "j", "SELECT id FROM runs")[0]["id"])
    capsys.readouterr()
    assert main(["y/spec.yaml", "--headless", "--resume", run_id, "--journal", "j"]) == 0
    notice = (
        f"fanout-tui: run {run_id} is a run of x/spec.yaml, not of y/spec.yaml: reusing the "
        "results of its branches with the same definition (1 of 1)\n"
    )
    assert notice in capsys.readouterr().err
    assert runs_of(tmp_path, "a") == 1  # reused, as the contract says
