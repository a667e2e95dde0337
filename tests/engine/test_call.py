"""``call`` branches: sync and async functions alike run in worker processes."""

from __future__ import annotations

import os
import textwrap
import uuid
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import anyio
import pytest

from fanout_tui.engine import _procfs as procfs
from fanout_tui.engine._attempt import AttemptResult, attempt_log_paths, execute_attempt
from fanout_tui.engine._clock import SystemClock
from fanout_tui.engine._events import BranchStatus, Event, OutputLines, ProcessStarted
from fanout_tui.spec._masking import Masker
from fanout_tui.spec._plan import BranchPlan, OutputContract, OutputFormat

pytestmark = pytest.mark.anyio

TASKS = """
import os, time, anyio

def add(a, b):
    print("adding", a, b)
    print("to stderr", file=__import__("sys").stderr)
    return {"sum": a + b}

async def add_later(a, b):
    await anyio.sleep(0)
    return [a, b, a + b]

def boom():
    raise ValueError("the input is bad")

def silent_boom():
    raise KeyError()

async def async_returns_a_set():
    return {1, 2}

def returns_a_set():
    return {1, 2}

def nan():
    return float("nan")

def sleepy():
    print("ready")
    time.sleep(30)

def spawns_and_sleeps():
    import subprocess
    subprocess.Popen(["sh", "-c", "trap '' TERM; sleep 30"])
    print("ready")
    time.sleep(30)

async def async_sleepy():
    await anyio.sleep(30)

async def async_chatty(token):
    print("starting with", token)
    print("a warning", file=__import__("sys").stderr)
    async with anyio.create_task_group() as tg:
        tg.start_soon(_helper)
    await anyio.to_thread.run_sync(lambda: print("from a thread"))
    return "done"

async def _helper():
    print("from a child task")

async def async_named(name):
    for n in range(3):
        print(name, n)
        await anyio.sleep(0)
    return name

async def async_boom():
    raise RuntimeError("async trouble")

def env_and_cwd():
    return [os.getcwd(), os.environ["CALL_GREETING"]]

def secret():
    return {"token": os.environ["CALL_TOKEN"]}

def exits():
    raise SystemExit(4)

def dies():
    os._exit(9)

not_a_function = 42
"""


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def tasks(tmp_path: Path) -> str:
    """A fresh module of test functions (unique name: the engine imports it in-process)."""
    name = f"tasks_{uuid.uuid4().hex}"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(TASKS))
    return name


def _call(tmp_path: Path, target: str, **fields: Any) -> BranchPlan:
    return BranchPlan(id="c", index=0, call=target, cwd=tmp_path, python_path=(tmp_path,), **fields)


async def _attempt(
    branch: BranchPlan, *, masker: Masker | None = None, log_dir: Path | None = None
) -> tuple[AttemptResult, list[Event]]:
    events: list[Event] = []
    with anyio.fail_after(20):
        result = await execute_attempt(
            branch,
            1,
            emit=events.append,
            masker=masker or Masker({}),
            clock=SystemClock(),
            log_dir=log_dir,
        )
    return result, events


def _lines(events: list[Event], stream: str) -> list[str]:
    return [
        line
        for e in events
        if isinstance(e, OutputLines) and e.stream == stream
        for line in e.lines
    ]


async def test_a_sync_function_runs_in_a_worker_and_returns_its_value(
    tmp_path: Path, tasks: str
) -> None:
    result, events = await _attempt(
        _call(tmp_path, f"{tasks}:add", with_args={"a": 2, "b": 3}), log_dir=tmp_path / "logs"
    )
    assert result == AttemptResult(BranchStatus.SUCCEEDED, result={"sum": 5})
    assert _lines(events, "stdout") == ["adding 2 3"]
    assert _lines(events, "stderr") == ["to stderr"]
    assert any(isinstance(e, ProcessStarted) for e in events)
    stdout_log, _ = attempt_log_paths(tmp_path / "logs", "c", 1)
    assert stdout_log is not None and stdout_log.read_text() == "adding 2 3\n"


async def test_an_async_function_runs_in_a_worker_too(tmp_path: Path, tasks: str) -> None:
    result, events = await _attempt(
        _call(tmp_path, f"{tasks}:add_later", with_args={"a": 1, "b": 2})
    )
    assert result == AttemptResult(BranchStatus.SUCCEEDED, result=[1, 2, 3])
    (started,) = [e for e in events if isinstance(e, ProcessStarted)]
    assert started.pid != os.getpid()


async def test_the_worker_runs_in_the_branch_folder_and_environment(
    tmp_path: Path, tasks: str
) -> None:
    branch = _call(tmp_path, f"{tasks}:env_and_cwd", env={"CALL_GREETING": "hello"})
    result, _ = await _attempt(branch)
    assert result.result == [str(tmp_path), "hello"]


@pytest.mark.parametrize(
    ("function", "reason"),
    [
        ("boom", "ValueError: the input is bad"),
        ("silent_boom", "KeyError"),
        ("async_boom", "RuntimeError: async trouble"),
        (
            "returns_a_set",
            "result is not JSON-serialisable: Object of type set is not JSON serializable",
        ),
        (
            "async_returns_a_set",
            "result is not JSON-serialisable: Object of type set is not JSON serializable",
        ),
        (
            "nan",
            "result is not JSON-serialisable: Out of range float values are not JSON compliant",
        ),
        ("exits", "the function exited (code 4)"),
        ("dies", "the worker exited with code 9 while calling {tasks}:dies"),
        ("missing", "{tasks} has no function missing"),
        ("not_a_function", "{tasks}:not_a_function is not callable"),
    ],
)
async def test_failures_of_a_function_have_a_short_reason(
    tmp_path: Path, tasks: str, function: str, reason: str
) -> None:
    result, _ = await _attempt(_call(tmp_path, f"{tasks}:{function}"))
    assert result == AttemptResult(BranchStatus.FAILED, reason.format(tasks=tasks))


async def test_a_raising_function_leaves_its_traceback_in_the_log(
    tmp_path: Path, tasks: str
) -> None:
    _, events = await _attempt(_call(tmp_path, f"{tasks}:boom"))
    assert _lines(events, "stderr")[-1] == "ValueError: the input is bad"


async def test_wrong_arguments_are_a_failure(tmp_path: Path, tasks: str) -> None:
    result, _ = await _attempt(_call(tmp_path, f"{tasks}:add", with_args={"a": 1}))
    assert result.reason == "TypeError: add() missing 1 required positional argument: 'b'"


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        (
            "no_such_module_xyz:run",
            "cannot import no_such_module_xyz: No module named 'no_such_module_xyz'",
        ),
        ("no_colon", "'no_colon' is not of the form module:function"),
        ("mod:", "'mod:' is not of the form module:function"),
    ],
)
async def test_an_unusable_target_is_a_failure(tmp_path: Path, target: str, reason: str) -> None:
    result, events = await _attempt(_call(tmp_path, target))
    assert result == AttemptResult(BranchStatus.FAILED, reason)
    assert events == []


async def test_a_module_that_fails_on_import_is_a_failure(tmp_path: Path) -> None:
    name = f"broken_{uuid.uuid4().hex}"
    (tmp_path / f"{name}.py").write_text("raise RuntimeError('no config')\n")
    result, _ = await _attempt(_call(tmp_path, f"{name}:run"))
    assert result.reason == f"cannot import {name}: no config"


async def test_the_result_is_checked_against_the_schema(tmp_path: Path, tasks: str) -> None:
    contract = OutputContract(format=OutputFormat.JSON, schema={"required": ["total"]})
    branch = _call(tmp_path, f"{tasks}:add", with_args={"a": 1, "b": 1}, output=contract)
    result, _ = await _attempt(branch)
    assert result.reason == "output breaks the schema: 'total' is a required property"


async def test_secrets_are_masked_in_the_result(tmp_path: Path, tasks: str) -> None:
    branch = _call(tmp_path, f"{tasks}:secret", env={"CALL_TOKEN": "abc-secret"})
    result, _ = await _attempt(branch, masker=Masker({"CALL_TOKEN": "abc-secret"}))
    assert result.result == {"token": "***"}


class ReadyClock:
    """A clock whose sleeps end once the function prints "ready" (it is under way)."""

    def __init__(self) -> None:
        self.ready = anyio.Event()

    def now(self) -> float:
        return 0.0

    def wall(self) -> float:
        return 0.0

    async def sleep(self, seconds: float) -> None:
        await self.ready.wait()


def _on_ready(events: list[Event], ready: anyio.Event) -> Callable[[Event], None]:
    def emit(event: Event) -> None:
        events.append(event)
        if isinstance(event, OutputLines) and "ready" in event.lines:
            ready.set()

    return emit


async def test_a_sync_timeout_ends_the_worker_group(tmp_path: Path, tasks: str) -> None:
    branch = _call(tmp_path, f"{tasks}:spawns_and_sleeps", timeout_s=90, kill_grace_s=0.2)
    events: list[Event] = []
    clock = ReadyClock()
    with anyio.fail_after(20):
        result = await execute_attempt(
            branch,
            1,
            emit=_on_ready(events, clock.ready),
            masker=Masker({}),
            clock=clock,
            log_dir=None,
        )
    assert result == AttemptResult(BranchStatus.TIMED_OUT, "timed out after 1m30s")
    (started,) = [e for e in events if isinstance(e, ProcessStarted)]
    assert procfs.group_members(started.pgid) == []


async def test_an_async_timeout_cancels_the_function(tmp_path: Path, tasks: str) -> None:
    result, _ = await _attempt(_call(tmp_path, f"{tasks}:async_sleepy", timeout_s=0.05))
    assert result == AttemptResult(BranchStatus.TIMED_OUT, "timed out after 50ms")


async def test_cancelling_a_sync_call_ends_its_worker_group(tmp_path: Path, tasks: str) -> None:
    ready = anyio.Event()
    events: list[Event] = []
    branch = _call(tmp_path, f"{tasks}:sleepy", kill_grace_s=0.2)
    with anyio.fail_after(20):
        async with anyio.create_task_group() as tg:

            async def attempt() -> None:
                await execute_attempt(
                    branch,
                    1,
                    emit=_on_ready(events, ready),
                    masker=Masker({}),
                    clock=SystemClock(),
                    log_dir=None,
                )

            tg.start_soon(attempt)
            await ready.wait()
            tg.cancel_scope.cancel()
    (started,) = [e for e in events if isinstance(e, ProcessStarted)]
    assert procfs.group_members(started.pgid) == []


async def test_cancelling_an_async_call_propagates(tmp_path: Path, tasks: str) -> None:
    branch = _call(tmp_path, f"{tasks}:async_sleepy")
    with anyio.move_on_after(0.1) as scope:
        await execute_attempt(
            branch, 1, emit=lambda e: None, masker=Masker({}), clock=SystemClock(), log_dir=None
        )
    assert scope.cancelled_caught


async def test_arguments_json_cannot_carry_reach_the_worker_as_their_text(
    tmp_path: Path, tasks: str
) -> None:
    branch = _call(tmp_path, f"{tasks}:add", with_args={"a": "2024-", "b": date(2024, 1, 2)})
    result, _ = await _attempt(branch)
    assert result.result == {"sum": "2024-2024-01-02"}


async def test_what_an_async_call_prints_is_its_own_output(
    tmp_path: Path, tasks: str, capsys: pytest.CaptureFixture[str]
) -> None:
    branch = _call(tmp_path, f"{tasks}:async_chatty", with_args={"token": "s3cr3t-value"})
    result, events = await _attempt(
        branch, masker=Masker({"T": "s3cr3t-value"}), log_dir=tmp_path / "logs"
    )
    assert result == AttemptResult(BranchStatus.SUCCEEDED, result="done")
    assert _lines(events, "stdout") == [
        "starting with ***",
        "from a child task",
        "from a thread",
    ]
    assert _lines(events, "stderr") == ["a warning"]
    stdout_log, _ = attempt_log_paths(tmp_path / "logs", "c", 1)
    assert stdout_log is not None
    assert stdout_log.read_text() == "starting with ***\nfrom a child task\nfrom a thread\n"
    print("not from a call")
    assert capsys.readouterr() == ("not from a call\n", "")


async def test_concurrent_async_calls_keep_their_prints_apart(tmp_path: Path, tasks: str) -> None:
    outputs: dict[str, list[str]] = {}

    async def one(name: str) -> None:
        branch = _call(tmp_path, f"{tasks}:async_named", with_args={"name": name})
        _, events = await _attempt(branch)
        outputs[name] = _lines(events, "stdout")

    async with anyio.create_task_group() as tg:
        tg.start_soon(one, "left")
        tg.start_soon(one, "right")
    assert outputs == {
        "left": ["left 0", "left 1", "left 2"],
        "right": ["right 0", "right 1", "right 2"],
    }


async def test_a_listener_printing_output_during_an_async_call_prints_for_real(
    tmp_path: Path, tasks: str, capsys: pytest.CaptureFixture[str]
) -> None:
    def listener(event: Event) -> None:
        if isinstance(event, OutputLines):
            print("seen:", *event.lines)

    branch = _call(tmp_path, f"{tasks}:async_named", with_args={"name": "x"})
    with anyio.fail_after(10):
        await execute_attempt(
            branch, 1, emit=listener, masker=Masker({}), clock=SystemClock(), log_dir=None
        )
    assert capsys.readouterr().out == "seen: x 0\nseen: x 1\nseen: x 2\n"


def test_calls_leak_no_file_descriptors(tmp_path: Path, tasks: str) -> None:
    async def many() -> None:
        for target in ("add", "boom", "dies", "add_later", "missing"):
            args = {"a": 1, "b": 2} if target.startswith("add") else {}
            await _attempt(_call(tmp_path, f"{tasks}:{target}", with_args=args), log_dir=tmp_path)

    anyio.run(many)  # the first round imports what it needs once
    before = len(os.listdir("/proc/self/fd"))
    anyio.run(many)
    assert len(os.listdir("/proc/self/fd")) == before
