"""One attempt of a ``run`` branch, with real processes: results, failures, output, endings."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import pytest

from fanout_tui.engine import _procfs as procfs
from fanout_tui.engine._attempt import AttemptResult, attempt_log_paths, execute_attempt
from fanout_tui.engine._clock import Clock, SystemClock
from fanout_tui.engine._events import BranchStatus, Event, OutputLines, ProcessStarted
from fanout_tui.engine._streams import TAIL_LINES
from fanout_tui.spec._masking import Masker
from fanout_tui.spec._plan import BranchPlan, OutputContract, OutputFormat

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class Attempt:
    """What one attempt returned and emitted."""

    result: AttemptResult
    events: list[Event] = field(default_factory=list)

    def count(self, stream: str) -> int:
        """Lines of ``stream`` shown or only counted (a flood shows its tail)."""
        return sum(
            len(event.lines) + event.skipped
            for event in self.events
            if isinstance(event, OutputLines) and event.stream == stream
        )

    def lines(self, stream: str) -> list[str]:
        return [
            line
            for event in self.events
            if isinstance(event, OutputLines) and event.stream == stream
            for line in event.lines
        ]

    @property
    def process(self) -> ProcessStarted:
        (started,) = [e for e in self.events if isinstance(e, ProcessStarted)]
        return started


def _branch(tmp_path: Path, run: str | tuple[str, ...], **fields: Any) -> BranchPlan:
    return BranchPlan(id="b", index=0, run=run, cwd=tmp_path, **fields)


async def _attempt(
    branch: BranchPlan,
    *,
    masker: Masker | None = None,
    clock: Clock | None = None,
    log_dir: Path | None = None,
    stdin: bytes | None = None,
) -> Attempt:
    events: list[Event] = []
    with anyio.fail_after(20):
        result = await execute_attempt(
            branch,
            1,
            emit=events.append,
            masker=masker or Masker({}),
            clock=clock or SystemClock(),
            log_dir=log_dir,
            stdin=stdin,
        )
    return Attempt(result, events)


class TriggeredClock:
    """A clock whose sleeps end only when the test fires it."""

    def __init__(self) -> None:
        self.slept: list[float] = []
        self._fired = anyio.Event()

    def now(self) -> float:
        return 0.0

    def wall(self) -> float:
        return 0.0

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        await self._fired.wait()

    def fire(self) -> None:
        self._fired.set()


# --- results and exit codes ----------------------------------------------------------------


async def test_stdout_is_the_result_and_stderr_only_log(tmp_path: Path) -> None:
    run = await _attempt(_branch(tmp_path, "echo out; echo err >&2"))
    assert run.result == AttemptResult(BranchStatus.SUCCEEDED, None, 0, "out\n")
    assert run.lines("stdout") == ["out"]
    assert run.lines("stderr") == ["err"]


async def test_process_started_names_the_leader_its_group_and_start_time(tmp_path: Path) -> None:
    run = await _attempt(_branch(tmp_path, ("sh", "-c", "cat /proc/$$/stat")))
    fields = run.result.result.rsplit(")", 1)[1].split()
    started = run.process
    assert started.pid == started.pgid
    assert int(fields[2]) == started.pgid  # the group it ran in is its own
    assert int(fields[19]) == started.start_time


async def test_a_list_is_executed_directly_with_cwd_and_env(tmp_path: Path) -> None:
    branch = _branch(
        tmp_path, ("sh", "-c", 'echo "$PWD $GREETING ${HOME:+home}"'), env={"GREETING": "hi"}
    )
    run = await _attempt(branch)
    assert run.result.result == f"{tmp_path} hi home\n"


async def test_an_exit_code_outside_the_success_codes_fails(tmp_path: Path) -> None:
    run = await _attempt(_branch(tmp_path, "exit 7"))
    assert run.result == AttemptResult(BranchStatus.FAILED, "exit code 7", 7, None)
    ok = await _attempt(_branch(tmp_path, "exit 7", success_exit_codes=frozenset({0, 7})))
    assert ok.result.status is BranchStatus.SUCCEEDED


@pytest.mark.parametrize(
    ("codes", "reason"),
    [({3}, "exit code 0 (success is 3)"), ({4, 3}, "exit code 0 (success is 3 or 4)")],
)
async def test_a_failing_exit_code_says_which_codes_succeed_when_not_just_0(
    tmp_path: Path, codes: set[int], reason: str
) -> None:
    run = await _attempt(_branch(tmp_path, "exit 0", success_exit_codes=frozenset(codes)))
    assert run.result.reason == reason


async def test_a_process_killed_by_a_signal_says_which(tmp_path: Path) -> None:
    run = await _attempt(_branch(tmp_path, ("sh", "-c", "kill -KILL $$")))
    assert run.result.reason == "killed by SIGKILL"


# --- start failures --------------------------------------------------------------------------


async def test_a_missing_command_is_a_failure_not_a_crash(tmp_path: Path) -> None:
    run = await _attempt(_branch(tmp_path, ("no-such-command-xyz", "arg")))
    assert run.result == AttemptResult(
        BranchStatus.FAILED, "command not found: no-such-command-xyz"
    )
    assert run.events == []


async def test_a_missing_command_under_the_shell_says_so(tmp_path: Path) -> None:
    run = await _attempt(_branch(tmp_path, "no-such-command-xyz"))
    assert run.result.reason == "exit code 127 (command not found)"


async def test_a_file_that_is_not_executable_is_a_failure(tmp_path: Path) -> None:
    script = tmp_path / "script.sh"
    script.write_text("#!/bin/sh\necho hi\n")
    script.chmod(stat.S_IRUSR | stat.S_IWUSR)
    run = await _attempt(_branch(tmp_path, (str(script),)))
    assert run.result.reason == f"not executable: {script}"


async def test_a_missing_working_folder_is_a_failure(tmp_path: Path) -> None:
    run = await _attempt(_branch(tmp_path / "gone", "true"))
    assert run.result.reason == f"working folder does not exist: {tmp_path / 'gone'}"


async def test_an_empty_command_is_a_failure(tmp_path: Path) -> None:
    run = await _attempt(_branch(tmp_path, ()))
    assert run.result.reason == "the command is empty"


# --- the output contract ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("script", "fmt", "expected"),
    [
        ("printf 'a\\nb\\n'", OutputFormat.TEXT, "a\nb\n"),
        ("printf 'a\\nb\\n'", OutputFormat.LINES, ["a", "b"]),
        ('echo \'{"doc": "x"}\'', OutputFormat.JSON, {"doc": "x"}),
        ('printf \'{"doc": 1}\\n\\n{"doc": 2}\\n\'', OutputFormat.JSONL, [{"doc": 1}, {"doc": 2}]),
    ],
)
async def test_each_format_gives_its_result(
    tmp_path: Path, script: str, fmt: OutputFormat, expected: Any
) -> None:
    run = await _attempt(_branch(tmp_path, script, output=OutputContract(format=fmt)))
    assert run.result.status is BranchStatus.SUCCEEDED
    assert run.result.result == expected


@pytest.mark.parametrize(
    ("script", "fmt", "schema", "reason"),
    [
        (
            "echo nope",
            OutputFormat.JSON,
            None,
            "output is not JSON: expecting value at line 1, column 1",
        ),
        (
            "printf '1\\n{\\n'",
            OutputFormat.JSONL,
            None,
            "output line 2 is not JSON: expecting property name enclosed in double quotes"
            " at line 1, column 2",
        ),
        (
            "echo '{\"summary\": 1}'",
            OutputFormat.JSON,
            {"required": ["doc"]},
            "output breaks the schema: 'doc' is a required property",
        ),
        (
            "printf '{\"doc\": 1}\\n{}\\n'",
            OutputFormat.JSONL,
            {"required": ["doc"]},
            "output item 2 breaks the schema: 'doc' is a required property",
        ),
    ],
)
async def test_output_breaking_the_contract_fails_with_a_short_reason(
    tmp_path: Path, script: str, fmt: OutputFormat, schema: dict[str, Any] | None, reason: str
) -> None:
    branch = _branch(tmp_path, script, output=OutputContract(format=fmt, schema=schema))
    run = await _attempt(branch)
    assert run.result == AttemptResult(BranchStatus.FAILED, reason, 0, None, contract=True)


async def test_the_exit_code_is_judged_before_the_output(tmp_path: Path) -> None:
    branch = _branch(tmp_path, "echo nope; exit 3", output=OutputContract(format=OutputFormat.JSON))
    assert (await _attempt(branch)).result.reason == "exit code 3"


async def test_a_result_over_the_cap_fails_but_the_log_gets_everything(tmp_path: Path) -> None:
    size = 17 * 1024 * 1024
    run = await _attempt(
        _branch(tmp_path, f"head -c {size} /dev/zero | tr '\\0' x"), log_dir=tmp_path
    )
    assert run.result.reason == "output is larger than 16 MiB"
    stdout_log, _ = attempt_log_paths(tmp_path, "b", 1)
    assert stdout_log is not None and stdout_log.stat().st_size == size


@pytest.mark.parametrize(("extra", "succeeds"), [(0, True), (1, False)])
async def test_the_result_cap_is_exactly_16_mib(tmp_path: Path, extra: int, succeeds: bool) -> None:
    size = 16 * 1024 * 1024 + extra
    run = await _attempt(_branch(tmp_path, f"head -c {size} /dev/zero | tr '\\0' x"))
    assert (run.result.status is BranchStatus.SUCCEEDED) is succeeds
    if succeeds:
        assert len(run.result.result) == size


# --- streaming -------------------------------------------------------------------------------


async def test_megabytes_of_stderr_before_any_stdout_do_not_deadlock(tmp_path: Path) -> None:
    run = await _attempt(_branch(tmp_path, "yes err | head -c 8000000 >&2; echo done"))
    assert run.result.result == "done\n"
    assert run.count("stderr") == 2_000_000


async def test_lines_arrive_in_batches_not_one_event_per_line(tmp_path: Path) -> None:
    run = await _attempt(_branch(tmp_path, "seq 1 100000"), log_dir=tmp_path)
    batches = [e for e in run.events if isinstance(e, OutputLines)]
    assert run.count("stdout") == 100_000
    shown = run.lines("stdout")
    assert shown[-TAIL_LINES:] == [str(n) for n in range(100_001 - TAIL_LINES, 100_001)]
    assert len(batches) < 1000
    log = tmp_path / "b.attempt-1.stdout"
    assert log.read_bytes() == b"".join(b"%d\n" % n for n in range(1, 100_001))


async def test_a_flood_shows_only_the_tail_of_each_read(tmp_path: Path) -> None:
    run = await _attempt(_branch(tmp_path, "seq 1 1000000"))
    assert run.count("stdout") == 1_000_000
    assert len(run.lines("stdout")) < 1_000_000 // 10


async def test_invalid_utf8_is_replaced(tmp_path: Path) -> None:
    run = await _attempt(_branch(tmp_path, "printf 'caf\\303\\251 \\377\\376ok\\n'"))
    assert run.lines("stdout") == ["café \ufffd\ufffdok"]
    assert run.result.result == "café \ufffd\ufffdok\n"


async def test_a_very_long_line_is_capped_for_display_but_whole_in_log_and_result(
    tmp_path: Path,
) -> None:
    script = "head -c 200000 /dev/zero | tr '\\0' x; echo; echo next"
    run = await _attempt(_branch(tmp_path, script), log_dir=tmp_path)
    shown = run.lines("stdout")
    assert shown[0] == "x" * 65536 + f" … [{200000 - 65536} more characters dropped]"
    assert shown[1] == "next"
    assert run.result.result == "x" * 200000 + "\nnext\n"
    stdout_log, _ = attempt_log_paths(tmp_path, "b", 1)
    assert stdout_log is not None and stdout_log.read_text() == run.result.result


async def test_a_single_line_json_document_of_megabytes_is_a_result(tmp_path: Path) -> None:
    script = "printf '[\"'; head -c 3000000 /dev/zero | tr '\\0' x; printf '\"]'"
    branch = _branch(tmp_path, script, output=OutputContract(format=OutputFormat.JSON))
    run = await _attempt(branch)
    assert run.result.result == ["x" * 3000000]


async def test_carriage_return_progress_shows_its_last_state(tmp_path: Path) -> None:
    run = await _attempt(
        _branch(tmp_path, "printf '10%%\\r20%%\\r30%%\\r\\ndone\\r\\n'"), log_dir=tmp_path
    )
    assert run.lines("stdout") == ["30%", "done"]
    stdout_log, _ = attempt_log_paths(tmp_path, "b", 1)
    assert stdout_log is not None
    assert stdout_log.read_bytes() == b"10%\r20%\r30%\r\ndone\r\n"


async def test_a_last_line_without_newline_is_delivered(tmp_path: Path) -> None:
    run = await _attempt(_branch(tmp_path, "printf 'a\\nb'; printf 'c' >&2"))
    assert run.lines("stdout") == ["a", "b"]
    assert run.lines("stderr") == ["c"]


async def test_stdin_receives_the_given_bytes(tmp_path: Path) -> None:
    document = b'{"name": "run", "branches": []}' * 10000
    run = await _attempt(_branch(tmp_path, "wc -c"), stdin=document)
    assert run.result.result.strip() == str(len(document))


async def test_a_process_that_ignores_stdin_still_succeeds(tmp_path: Path) -> None:
    run = await _attempt(_branch(tmp_path, "echo ignored"), stdin=b"x" * 1_000_000)
    assert run.result.result == "ignored\n"


async def test_without_stdin_the_process_reads_nothing(tmp_path: Path) -> None:
    run = await _attempt(_branch(tmp_path, "cat"))
    assert run.result.result == ""


async def test_logs_hold_both_streams_per_attempt(tmp_path: Path) -> None:
    run = await _attempt(_branch(tmp_path, "echo out; echo err >&2"), log_dir=tmp_path / "logs")
    assert run.result.status is BranchStatus.SUCCEEDED
    assert (tmp_path / "logs" / "b.attempt-1.stdout").read_text() == "out\n"
    assert (tmp_path / "logs" / "b.attempt-1.stderr").read_text() == "err\n"


async def test_a_start_failure_is_noted_in_the_stderr_log(tmp_path: Path) -> None:
    await _attempt(_branch(tmp_path, ("no-such-command-xyz",)), log_dir=tmp_path)
    _, stderr_log = attempt_log_paths(tmp_path, "b", 1)
    assert stderr_log is not None
    assert stderr_log.read_text() == "[fanout-tui] command not found: no-such-command-xyz\n"


def test_without_a_log_folder_there_are_no_log_paths() -> None:
    assert attempt_log_paths(None, "b", 2) == (None, None)
    assert attempt_log_paths(Path("/l"), "b", 2) == (
        Path("/l/b.attempt-2.stdout"),
        Path("/l/b.attempt-2.stderr"),
    )


# --- masking ---------------------------------------------------------------------------------


async def test_secrets_are_masked_in_lines_logs_results_and_reasons(tmp_path: Path) -> None:
    secret = "tok-12345"
    masker = Masker({"API_TOKEN": secret})
    script = 'echo "{\\"key\\": \\"$API_TOKEN\\"}"; echo "using $API_TOKEN" >&2'
    branch = _branch(
        tmp_path, script, env={"API_TOKEN": secret}, output=OutputContract(format=OutputFormat.JSON)
    )
    run = await _attempt(branch, masker=masker, log_dir=tmp_path / "logs")
    assert run.result.result == {"key": "***"}
    assert run.lines("stderr") == ["using ***"]
    assert run.lines("stdout") == ['{"key": "***"}']
    logs = b"".join(p.read_bytes() for p in (tmp_path / "logs").glob("*.attempt-*"))
    assert secret.encode() not in logs and b"***" in logs

    failing = _branch(tmp_path, (f"/nonexistent/{secret}",))
    assert (
        await _attempt(failing, masker=masker)
    ).result.reason == "command not found: /nonexistent/***"


async def test_a_secret_escaped_inside_json_is_masked_in_the_parsed_result(tmp_path: Path) -> None:
    masker = Masker({"T": "ab/cd"})
    branch = _branch(
        tmp_path, "echo '[\"ab\\/cd\"]'", output=OutputContract(format=OutputFormat.JSON)
    )
    assert (await _attempt(branch, masker=masker)).result.result == ["***"]


# --- ending processes --------------------------------------------------------------------------


async def test_a_timeout_on_the_engine_clock_ends_the_whole_group(tmp_path: Path) -> None:
    clock = TriggeredClock()
    events: list[Event] = []

    def emit(event: Event) -> None:
        events.append(event)
        if isinstance(event, OutputLines) and "ready" in event.lines:
            clock.fire()

    script = "sleep 30 & (sleep 30; true) & echo ready; wait"
    branch = _branch(tmp_path, script, timeout_s=30, kill_grace_s=2)
    with anyio.fail_after(10):
        result = await execute_attempt(
            branch, 1, emit=emit, masker=Masker({}), clock=clock, log_dir=None
        )
    assert result == AttemptResult(BranchStatus.TIMED_OUT, "timed out after 30s")
    assert clock.slept == [30]
    (started,) = [e for e in events if isinstance(e, ProcessStarted)]
    assert procfs.group_members(started.pgid) == []


async def test_a_real_timeout_formats_the_duration_as_written(tmp_path: Path) -> None:
    run = await _attempt(_branch(tmp_path, "sleep 30", timeout_s=0.2, kill_grace_s=1))
    assert run.result.reason == "timed out after 200ms"
    assert procfs.group_members(run.process.pgid) == []


async def test_cancellation_from_outside_kills_a_grandchild_that_ignores_sigterm(
    tmp_path: Path,
) -> None:
    events: list[Event] = []
    scope = anyio.CancelScope()

    def emit(event: Event) -> None:
        events.append(event)
        if isinstance(event, OutputLines) and "ready" in event.lines:
            scope.cancel()

    script = "sh -c 'trap \"\" TERM; echo ready; sleep 30' & wait"
    branch = _branch(tmp_path, script, kill_grace_s=0.2)
    started_at = anyio.current_time()
    with anyio.fail_after(10), scope:
        await execute_attempt(
            branch, 1, emit=emit, masker=Masker({}), clock=SystemClock(), log_dir=None
        )
        pytest.fail("a cancelled attempt must not return")
    assert scope.cancelled_caught
    assert anyio.current_time() - started_at >= 0.2  # SIGTERM was not enough: SIGKILL followed
    (started,) = [e for e in events if isinstance(e, ProcessStarted)]
    assert procfs.group_members(started.pgid) == []


async def test_a_grandchild_holding_stdout_does_not_hang_the_branch(tmp_path: Path) -> None:
    run = await _attempt(_branch(tmp_path, "sleep 30 & echo done", kill_grace_s=1))
    assert run.result == AttemptResult(BranchStatus.SUCCEEDED, None, 0, "done\n")
    assert procfs.group_members(run.process.pgid) == []


async def test_a_background_job_left_behind_is_ended_too(tmp_path: Path) -> None:
    run = await _attempt(_branch(tmp_path, "sleep 30 >/dev/null 2>&1 & echo $!"))
    assert run.result.status is BranchStatus.SUCCEEDED
    job = procfs.read_stat(int(run.result.result))
    assert job is None or not job.alive
    assert procfs.group_members(run.process.pgid) == []


async def test_a_stopped_group_is_still_ended(tmp_path: Path) -> None:
    run = await _attempt(
        _branch(tmp_path, "sleep 30 & kill -STOP $!; echo stopped", kill_grace_s=5)
    )
    assert run.result.result == "stopped\n"
    assert procfs.group_members(run.process.pgid) == []


def test_no_file_descriptors_leak(tmp_path: Path) -> None:
    before = len(os.listdir("/proc/self/fd"))

    async def many() -> None:
        for _ in range(20):
            await _attempt(_branch(tmp_path, "echo x; echo y >&2"), stdin=b"in", log_dir=tmp_path)
            await _attempt(_branch(tmp_path, ("no-such-command-xyz",)), stdin=b"in")

    anyio.run(many)
    assert len(os.listdir("/proc/self/fd")) == before


async def test_a_log_that_cannot_be_written_says_so_and_the_branch_goes_on(
    tmp_path: Path,
) -> None:
    stdout_log, _ = attempt_log_paths(tmp_path, "b", 1)
    assert stdout_log is not None
    stdout_log.parent.mkdir(parents=True, exist_ok=True)
    stdout_log.symlink_to("/dev/full")  # every write fails: no space left on device
    run = await _attempt(_branch(tmp_path, "echo one; echo two"), log_dir=tmp_path)
    assert run.result.result == "one\ntwo\n"
    note = (
        "[fanout-tui] the log of this attempt could not be written: No space left on device; "
        "the branch goes on, and the log will say where it was cut"
    )
    lines = run.lines("stdout")  # the note comes when the log is first written out
    assert lines.count(note) == 1
    assert [line for line in lines if line != note] == ["one", "two"]


async def test_a_log_folder_that_cannot_be_made_says_so_and_the_branch_goes_on(
    tmp_path: Path,
) -> None:
    (tmp_path / "file").write_text("")
    run = await _attempt(_branch(tmp_path, "echo one"), log_dir=tmp_path / "file")
    assert run.result.result == "one\n"
    assert run.lines("stdout") == [
        "one",
        "[fanout-tui] the log of this attempt could not be written: Not a directory; "
        "the branch goes on, and the log will say where it was cut",
    ]


async def test_an_attempt_that_prints_nothing_leaves_no_log_file(tmp_path: Path) -> None:
    run = await _attempt(_branch(tmp_path, "true"), log_dir=tmp_path / "logs")
    assert run.result.status is BranchStatus.SUCCEEDED
    assert not (tmp_path / "logs").exists()


async def test_log_files_and_their_folder_are_private(tmp_path: Path) -> None:
    await _attempt(_branch(tmp_path, "echo out; echo err >&2"), log_dir=tmp_path / "logs")
    stdout_log, stderr_log = attempt_log_paths(tmp_path / "logs", "b", 1)
    assert stdout_log is not None and stderr_log is not None
    assert stdout_log.read_text() == "out\n" and stderr_log.read_text() == "err\n"
    assert stat.S_IMODE(stdout_log.parent.stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in (stdout_log, stderr_log)} == {0o600}


async def test_the_branch_environment_goes_over_the_inherited_one(tmp_path: Path) -> None:
    branch = _branch(tmp_path, 'echo "$MARK $BASE"', env={"MARK": "branch"})
    inherited = {**os.environ, "MARK": "run", "BASE": "kept"}
    with anyio.fail_after(20):
        result = await execute_attempt(
            branch,
            1,
            emit=lambda _: None,
            masker=Masker({}),
            clock=SystemClock(),
            log_dir=None,
            environment=inherited,
        )
    assert result.result == "branch kept\n"
