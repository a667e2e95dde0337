"""The headless command end to end: real specs, real ``sh -c`` branches, real exit codes.

Each test writes a small spec to a temporary folder and runs ``python -m fanout_tui`` as a
subprocess with stdout and stderr piped (so it is headless even without ``--headless``).
"""

from __future__ import annotations

import gc
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from fanout_tui.cli import main

TIMEOUT_S = 60


def write_spec(folder: Path, body: str) -> Path:
    spec = folder / "spec.yaml"
    spec.write_text("version: 1\n" + textwrap.dedent(body), encoding="utf-8")
    return spec


def fanout(
    folder: Path,
    *args: str,
    env: dict[str, str] | None = None,
    headless: bool = True,
    shell: str | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``fanout-tui spec.yaml ARGS`` in ``folder``, journal off, output captured;
    ``shell``: a ``sh`` line that sets things up, then runs it with ``exec "$@"``."""
    command = [sys.executable, "-m", "fanout_tui", "spec.yaml", "--no-journal", *args]
    if headless:
        command.append("--headless")
    if shell is not None:
        command = ["sh", "-c", shell, "sh", *command]
    return subprocess.run(
        command,
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        env={**os.environ, **(env or {})},
        check=False,
    )


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


THREE_TEXT_BRANCHES = """\
    name: three
    branches:
      - {id: slow, run: "until [ -f mid.done ]; do sleep .01; done; echo first"}
      - {id: middle, run: "until [ -f fast.done ]; do sleep .01; done; echo second; touch mid.done"}
      - {id: fast, run: "sleep 0.3; echo third; touch fast.done"}
"""
"""Three branches that finish in the reverse of their declared order."""


def test_all_succeeded_prints_the_result_in_declared_order_and_progress_on_stderr(
    tmp_path: Path,
) -> None:
    write_spec(tmp_path, THREE_TEXT_BRANCHES)
    done = fanout(tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "first\nsecond\nthird\n"
    progress = done.stderr.splitlines()
    succeeded = [
        line.split()[2] for line in progress if line.startswith("[") and " succeeded " in line
    ]
    assert sorted(succeeded) == ["fast", "middle", "slow"]
    assert any(line.startswith("── three: succeeded (exit 0)") for line in progress)
    assert "   3 succeeded" in progress
    assert "   policy: merged" in progress
    assert "first" not in done.stderr  # the result goes to stdout only


def test_without_headless_a_pipe_on_stdout_still_gets_headless_mode(tmp_path: Path) -> None:
    write_spec(tmp_path, THREE_TEXT_BRANCHES)
    done = fanout(tmp_path, headless=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "first\nsecond\nthird\n"
    assert "\x1b" not in done.stdout
    assert "── three: succeeded" in done.stderr


def test_output_file_and_report_of_a_complete_run(tmp_path: Path) -> None:
    write_spec(tmp_path, THREE_TEXT_BRANCHES)
    done = fanout(tmp_path, "-o", "out/merged.txt", "--report", "report.json")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "merged.txt").read_text() == done.stdout
    report = read_json(tmp_path / "report.json")
    assert report["name"] == "three"
    assert [b["id"] for b in report["branches"]] == ["slow", "middle", "fast"]
    assert [b["status"] for b in report["branches"]] == ["succeeded"] * 3
    assert [b["result"] for b in report["branches"]] == ["first\n", "second\n", "third\n"]
    assert all(b["attempts"] == 1 and b["duration_s"] > 0 for b in report["branches"])
    assert report["branches"][2]["duration_s"] >= 0.3
    assert report["outcome"] == {"exit_code": 0, "status": "succeeded"}
    assert report["policy"]["state"] == "merged"
    assert report["missing"] == report["flagged"] == []
    assert report["merged"] == "first\nsecond\nthird"
    assert report["merge_error"] is None
    assert report["started_at"].endswith("+00:00")
    assert 0.3 <= report["duration_s"] < TIMEOUT_S


BEST_EFFORT = """\
    name: partial
    branches:
      - {id: a, run: "echo A"}
      - {id: chapter-3, run: "echo broken >&2; exit 7"}
      - {id: c, run: "echo C"}
    policy: {mode: best_effort, min_success: 2}
"""


def test_best_effort_partial_exits_3_with_a_flagged_placeholder(tmp_path: Path) -> None:
    write_spec(tmp_path, BEST_EFFORT)
    done = fanout(tmp_path, "-o", "merged.txt", "--report", "report.json")
    assert done.returncode == 3, done.stderr
    assert done.stdout == "A\n[missing: chapter-3 — failed: exit code 7]\nC\n"
    assert (tmp_path / "merged.txt").read_text() == done.stdout
    assert "chapter-3  failed     attempt 1/1" in done.stderr
    assert "exit code 7" in done.stderr
    assert "   policy: merged — 1 flagged" in done.stderr
    assert "   flagged:\n     chapter-3  failed: exit code 7\n" in done.stderr
    report = read_json(tmp_path / "report.json")
    assert report["outcome"] == {"exit_code": 3, "status": "partial"}
    assert report["missing"] == report["flagged"] == ["chapter-3"]
    failed = report["branches"][1]
    assert (failed["status"], failed["error"], failed["flagged"]) == (
        "failed",
        "exit code 7",
        True,
    )
    assert report["merged"] == "A\n[missing: chapter-3 — failed: exit code 7]\nC"


def test_policy_not_satisfied_exits_1_with_nothing_on_stdout(tmp_path: Path) -> None:
    write_spec(tmp_path, BEST_EFFORT.replace("best_effort, min_success: 2", "all_or_nothing"))
    done = fanout(tmp_path, "-o", "merged.txt", "--report", "report.json")
    assert done.returncode == 1, done.stderr
    assert done.stdout == ""
    assert not (tmp_path / "merged.txt").exists()
    assert "   policy: blocked: 1 failed: chapter-3" in done.stderr
    report = read_json(tmp_path / "report.json")
    assert report["outcome"] == {"exit_code": 1, "status": "failed"}
    assert report["policy"]["state"] == "blocked"
    assert report["merged"] is None


def test_key_merge_prints_json(tmp_path: Path) -> None:
    write_spec(
        tmp_path,
        """\
        name: keyed
        branches:
          - id: one
            run: 'echo ''{"doc": "intro", "words": 3}'''
            output: {format: json}
          - id: two
            run: 'echo ''[{"doc": "ch1", "words": 5}, {"doc": "intro", "title": "Hi"}]'''
            output: {format: json}
        merge: {strategy: key, key: doc}
        """,
    )
    done = fanout(tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "intro": {"doc": "intro", "words": 3, "title": "Hi"},
        "ch1": {"doc": "ch1", "words": 5},
    }
    assert done.stdout.startswith('{\n  "intro": {')


def test_key_conflict_fails_the_merge_naming_both_branches(tmp_path: Path) -> None:
    write_spec(
        tmp_path,
        """\
        name: clash
        branches:
          - {id: one, run: 'echo ''{"doc": "x", "v": 1}''', output: {format: json}}
          - {id: two, run: 'echo ''{"doc": "x", "v": 2}''', output: {format: json}}
        merge: {strategy: key, key: doc, on_conflict: error}
        """,
    )
    done = fanout(tmp_path, "--report", "report.json")
    assert done.returncode == 1, done.stderr
    assert done.stdout == ""
    assert "merge failed: branches 'one' and 'two' disagree on field 'v'" in done.stderr
    assert "disagree" in read_json(tmp_path / "report.json")["merge_error"]


def test_concurrency_override_runs_one_branch_at_a_time(tmp_path: Path) -> None:
    branches = "\n".join(
        f'  - {{id: b{i}, run: "echo start >> trace; sleep 0.05; echo end >> trace"}}'
        for i in range(4)
    )
    write_spec(tmp_path, f"name: capped\nbranches:\n{branches}\n")
    done = fanout(tmp_path, "--concurrency", "1")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "trace").read_text().split() == ["start", "end"] * 4


UNTIL_THREE_STARTED = "until [ $(grep -c start trace) -ge 3 ]; do sleep 0.01; done"


def test_without_the_override_branches_overlap(tmp_path: Path) -> None:
    branches = "\n".join(
        # Each branch waits until all three started: only overlapping branches finish.
        f'  - {{id: b{i}, run: "echo start >> trace; {UNTIL_THREE_STARTED}; echo end >> trace"}}'
        for i in range(3)
    )
    write_spec(tmp_path, f"name: free\ndefaults: {{timeout: 20s}}\nbranches:\n{branches}\n")
    done = fanout(tmp_path)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "trace").read_text().split()[:3] == ["start"] * 3


def test_more_branches_than_open_files_allow_wait_their_turn_instead_of_failing(
    tmp_path: Path,
) -> None:
    # 160 descriptors fit 10 attempts; 80 unthrottled branches would need at least 240.
    # Spawning them all takes less than the 0.2 s each lives: they would overlap.
    branches = "\n".join(f'  - {{id: b{i}, run: "sleep 0.2"}}' for i in range(80))
    write_spec(tmp_path, f"name: many\nbranches:\n{branches}\n")
    done = fanout(tmp_path, shell='ulimit -n 160 && exec "$@"')
    assert done.returncode == 0, done.stderr
    assert "   80 succeeded" in done.stderr.splitlines()


def test_a_bad_spec_exits_2_with_one_message_and_no_traceback(tmp_path: Path) -> None:
    write_spec(tmp_path, "name: bad\nbranchs: []\n")
    done = fanout(tmp_path)
    assert done.returncode == 2
    assert done.stdout == ""
    assert "spec.yaml" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_missing_spec_exits_2(tmp_path: Path) -> None:
    done = fanout(tmp_path)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("args", [["--concurrency", "0"], ["--no-such-option"]])
def test_bad_usage_exits_2(tmp_path: Path, args: list[str]) -> None:
    write_spec(tmp_path, THREE_TEXT_BRANCHES)
    done = fanout(tmp_path, *args)
    assert done.returncode == 2
    assert done.stdout == ""
    assert "usage:" in done.stderr


SECRET = "s3cr3t-" + uuid.uuid4().hex


def test_secret_values_are_masked_everywhere(tmp_path: Path) -> None:
    write_spec(
        tmp_path,
        """\
        name: secretive
        secrets: [FANOUT_TEST_TOKEN]
        branches:
          - {id: echoes, run: 'echo "token=$FANOUT_TEST_TOKEN"; echo "$FANOUT_TEST_TOKEN" >&2'}
          - id: breaks
            run: 'echo "not json $FANOUT_TEST_TOKEN"'
            output: {format: json}
          - {id: fails, run: 'echo "$FANOUT_TEST_TOKEN" >&2; exit 4'}
        policy: {mode: best_effort, min_success: 1}
        """,
    )
    done = fanout(
        tmp_path,
        "-o",
        "merged.txt",
        "--report",
        "report.json",
        env={"FANOUT_TEST_TOKEN": SECRET},
    )
    assert done.returncode == 3, done.stderr
    assert done.stdout.startswith("token=***\n")
    for text in (
        done.stdout,
        done.stderr,
        (tmp_path / "merged.txt").read_text(),
        (tmp_path / "report.json").read_text(),
    ):
        assert SECRET not in text
    assert read_json(tmp_path / "report.json")["branches"][0]["result"] == "token=***\n"


def test_a_secret_too_short_to_hide_is_refused_before_anything_runs(tmp_path: Path) -> None:
    write_spec(
        tmp_path,
        """\
        name: short-secret
        secrets: [FANOUT_TEST_TOKEN, FANOUT_TEST_UNSET]
        branches:
          - {id: echoes, run: 'echo "$FANOUT_TEST_TOKEN" > ran'}
        """,
    )
    done = fanout(tmp_path, env={"FANOUT_TEST_TOKEN": "abc"})
    assert done.returncode == 2
    assert done.stderr.startswith(
        "fanout-tui: the secret FANOUT_TEST_TOKEN is shorter than 4 characters"
    )
    assert not (tmp_path / "ran").exists()
    checked = subprocess.run(
        [sys.executable, "-m", "fanout_tui", "check", "spec.yaml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "FANOUT_TEST_TOKEN": "abc"},
        check=False,
    )
    assert (checked.returncode, checked.stderr) == (2, done.stderr)


def test_in_process_main_returns_the_exit_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_spec(tmp_path, BEST_EFFORT)
    monkeypatch.chdir(tmp_path)
    assert main(["spec.yaml", "--headless", "--no-journal"]) == 3
    captured = capsys.readouterr()
    assert captured.out == "A\n[missing: chapter-3 — failed: exit code 7]\nC\n"
    assert "── partial: partial (exit 3)" in captured.err


def test_in_process_main_leaves_the_garbage_collector_as_it_was(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_spec(tmp_path, BEST_EFFORT)
    monkeypatch.chdir(tmp_path)
    assert gc.isenabled()
    assert main(["spec.yaml", "--headless", "--no-journal"]) == 3
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0


# --- interruption ----------------------------------------------------------------------


def processes_marked(marker: str, *, command: bytes = b"") -> list[int]:
    """Pids of live processes whose environment holds ``marker`` (zombies have none).

    With ``command``, only those whose command line (NUL-separated) starts with it.
    """
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if marker.encode() in environ and cmdline.startswith(command):
            pids.append(int(entry.name))
    return pids


SLEEPING = {"sleeper": 2, "ignores-int": 1, "ignores-term": 2}
"""The long branches of the sleepers spec, and how many ``sleep 30`` each starts."""


def start_sleepers(folder: Path) -> tuple[subprocess.Popen[str], str]:
    """Start a headless run whose branches (and their children) sleep; wait until they run.

    One branch ignores SIGINT, one ignores SIGTERM (so only SIGKILL, after the 300 ms
    grace, ends it), and two of them leave a grandchild sleeping.
    """
    marker = f"FANOUT_TEST_MARK={uuid.uuid4().hex}"
    name, value = marker.split("=")
    write_spec(
        folder,
        f"""\
        name: sleepers
        defaults: {{env: {{{name}: "{value}"}}, kill_grace: 300ms}}
        branches:
          - {{id: quick, run: "echo done"}}
          - {{id: sleeper, run: "sleep 30 & sleep 30; wait"}}
          - {{id: ignores-int, run: "trap '' INT; sleep 30"}}
          - {{id: ignores-term, run: "trap '' TERM; sleep 30 & sleep 30; wait"}}
        """,
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "fanout_tui", "spec.yaml", "--no-journal", "--headless"],
        cwd=folder,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    running: set[str] = set()
    seen = []
    deadline = time.monotonic() + TIMEOUT_S
    while running != set(SLEEPING) and time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        seen.append(line)
        fields = line.split()
        if len(fields) > 3 and fields[3] == "running" and fields[2] in SLEEPING:
            running.add(fields[2])
    assert running == set(SLEEPING), "".join(seen)
    # "running" is announced as the process starts; wait until every sleep exists
    # (grandchildren included), so the signal finds the whole tree.
    while len(processes_marked(marker, command=b"sleep\x0030\x00")) < sum(SLEEPING.values()):
        assert time.monotonic() < deadline, "the branches' sleeps never appeared in /proc"
        time.sleep(0.01)
    return process, marker


@pytest.mark.parametrize(
    "signals",
    [[signal.SIGINT], [signal.SIGTERM], [signal.SIGINT, signal.SIGINT]],
    ids=["sigint", "sigterm", "sigint-twice"],
)
def test_a_signal_ends_every_branch_and_exits_130(
    tmp_path: Path, signals: list[signal.Signals]
) -> None:
    process, marker = start_sleepers(tmp_path)
    assert process.stderr is not None
    noted: list[str] = []
    try:
        started = time.monotonic()
        for signum in signals:
            process.send_signal(signum)
            # Wait for the note, so a second signal lands while branches are being ended.
            while not (line := process.stderr.readline()).split("] ")[-1].startswith("SIG"):
                assert line, "the run ended without noting the signal"
            noted.append(line)
        stdout, rest = process.communicate(timeout=TIMEOUT_S)
        took = time.monotonic() - started
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 130, rest
    assert stdout == ""
    assert processes_marked(marker) == []
    assert f"{signals[0].name}: ending every branch" in noted[0]
    if len(signals) > 1:  # the second one cut the grace short
        assert f"{signals[1].name} again: SIGKILL to every process still running" in noted[1]
    else:
        assert took >= 0.3  # the branch that ignores SIGTERM needed the grace, then SIGKILL
    assert "ignores-term  cancelled" in rest
    assert "── sleepers: interrupted (exit 130)" in rest
    assert "Traceback" not in rest


def test_a_journaled_run_resumes_and_says_what_it_reused(tmp_path: Path) -> None:
    write_spec(
        tmp_path,
        """\
        name: resumable
        branches:
          - {id: once, run: "echo run >> once.count; echo A"}
          - {id: flaky, run: "test -f ok || { touch ok; exit 9; }; echo B"}
        """,
    )
    command = [sys.executable, "-m", "fanout_tui", "spec.yaml", "--headless"]
    first = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert first.returncode == 1, first.stderr
    assert (tmp_path / ".fanout").is_dir()
    second = subprocess.run(
        [*command, "--resume"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert second.returncode == 0, second.stderr
    assert second.stdout == "A\nB\n"
    first_run = (
        subprocess.run(
            [sys.executable, "-m", "fanout_tui", "runs"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
        )
        .stdout.splitlines()[-1]
        .split()[0]
    )
    assert f"once   succeeded  reused from run {first_run}\n" in second.stderr
    assert "   2 succeeded (1 reused)" in second.stderr
    assert (tmp_path / "once.count").read_text() == "run\n"


def test_a_reader_that_stops_early_gets_no_traceback(tmp_path: Path) -> None:
    write_spec(
        tmp_path,
        """\
        name: many-lines
        branches:
          - {id: lines, run: "seq 1 200000"}
        """,
    )
    command = [sys.executable, "-m", "fanout_tui", "spec.yaml", "--no-journal", "--headless"]
    with subprocess.Popen(
        command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        assert proc.stdout.readline() == b"1\n"
        proc.stdout.close()  # like `| head -1`
        errors = proc.stderr.read().decode()
        code = proc.wait(timeout=TIMEOUT_S)
    assert code == 0
    assert "Traceback" not in errors and "BrokenPipe" not in errors
    assert "succeeded" in errors


PARTIAL = """\
    name: partial
    branches:
      - {id: a, run: "echo a"}
      - {id: b, run: "exit 7"}
    policy: {mode: best_effort}
    """


def test_a_reader_that_stops_early_leaves_the_exit_code_as_the_run_decided(
    tmp_path: Path,
) -> None:
    write_spec(tmp_path, PARTIAL)
    command = [sys.executable, "-m", "fanout_tui", "spec.yaml", "--no-journal", "--headless"]
    with subprocess.Popen(
        command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        proc.stdout.close()  # like `| true`: nobody reads the result
        errors = proc.stderr.read().decode()
        code = proc.wait(timeout=TIMEOUT_S)
    assert code == 3
    assert "Traceback" not in errors


def test_stdout_that_cannot_take_the_result_is_said_and_fails_the_run(tmp_path: Path) -> None:
    write_spec(tmp_path, PARTIAL)
    command = [sys.executable, "-m", "fanout_tui", "spec.yaml", "--no-journal", "--headless"]
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            command, cwd=tmp_path, stdout=full, stderr=subprocess.PIPE, text=True, check=False
        )
    assert done.returncode == 1
    assert "fanout-tui: cannot print the merged result: No space left on device" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("closed", [">&-", "2>&-"])
def test_a_closed_stdout_or_stderr_still_runs_every_branch(tmp_path: Path, closed: str) -> None:
    write_spec(tmp_path, PARTIAL.replace('"echo a"', '"echo a; touch a.ran"'))
    done = fanout(tmp_path, shell=f'exec "$@" {closed}')
    assert done.returncode == 3, done.stderr
    assert (tmp_path / "a.ran").exists()
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--report", "folder"], "fanout-tui: --report folder: is a folder"),
        (["-o", "folder"], "fanout-tui: --output folder: is a folder"),
        (["-o", "spec.yaml/out.txt"], "fanout-tui: --output spec.yaml/out.txt: spec.yaml is not"),
    ],
)
def test_an_output_path_that_cannot_be_written_is_refused_before_the_run(
    tmp_path: Path, args: list[str], message: str
) -> None:
    write_spec(tmp_path, PARTIAL.replace('"echo a"', '"echo a; touch a.ran"'))
    (tmp_path / "folder").mkdir()
    done = fanout(tmp_path, *args)
    assert done.returncode == 2
    assert done.stderr.startswith(message)
    assert not (tmp_path / "a.ran").exists()


def test_a_run_without_a_merged_result_removes_an_earlier_output_file(tmp_path: Path) -> None:
    write_spec(tmp_path, PARTIAL.replace("best_effort", "all_or_nothing"))
    (tmp_path / "merged.txt").write_text("a complete result of an earlier run\n")
    done = fanout(tmp_path, "-o", "merged.txt")
    assert done.returncode == 1
    assert not (tmp_path / "merged.txt").exists()
    assert "fanout-tui: removed merged.txt, an earlier run's result" in done.stderr


def test_check_into_a_full_disk_says_so_without_a_traceback(tmp_path: Path) -> None:
    write_spec(tmp_path, PARTIAL)
    with open("/dev/full", "w") as full:
        done = subprocess.run(
            [sys.executable, "-m", "fanout_tui", "check", "spec.yaml"],
            cwd=tmp_path,
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
    assert done.returncode == 2
    assert done.stderr == "fanout-tui: cannot write: No space left on device\n"
