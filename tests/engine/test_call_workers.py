"""Hostile ``call`` modules: whatever they do at import or in a call, only their worker
goes down, the reason says what happened, and fanout-tui itself carries on."""

from __future__ import annotations

import os
import textwrap
import time
import uuid
from pathlib import Path

import anyio
import pytest

from fanout_tui.engine._attempt import AttemptResult, execute_attempt
from fanout_tui.engine._call import CALL_WORKERS, CallPool
from fanout_tui.engine._clock import SystemClock
from fanout_tui.engine._events import BranchStatus, Event, OutputLines, ProcessStarted
from fanout_tui.engine._runner import Engine
from fanout_tui.spec._masking import Masker
from fanout_tui.spec._plan import BranchPlan, Plan

pytestmark = pytest.mark.anyio


def _module(tmp_path: Path, source: str) -> str:
    name = f"hostile_{uuid.uuid4().hex}"
    (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
    return name


def _call(tmp_path: Path, target: str, **fields: object) -> BranchPlan:
    return BranchPlan(
        id="c",
        index=0,
        call=target,
        cwd=tmp_path,
        python_path=(tmp_path,),
        **fields,  # type: ignore[arg-type]
    )


async def _attempt(branch: BranchPlan) -> tuple[AttemptResult, list[Event]]:
    events: list[Event] = []
    with anyio.fail_after(20):
        result = await execute_attempt(
            branch, 1, emit=events.append, masker=Masker({}), clock=SystemClock(), log_dir=None
        )
    return result, events


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("import sys\nsys.exit(9)\n", "the worker exited with code 9 while importing {m}"),
        ("import os\nos._exit(4)\n", "the worker exited with code 4 while importing {m}"),
        ("raise KeyboardInterrupt\n", "the worker was killed by SIGINT while importing {m}"),
        (
            "import ctypes\nctypes.string_at(0)\n",
            "the worker was killed by SIGSEGV while importing {m}",
        ),
    ],
)
async def test_a_module_that_leaves_at_import_fails_only_its_attempt(
    tmp_path: Path, source: str, reason: str
) -> None:
    name = _module(tmp_path, source + "def run():\n    return 1\n")
    result, _ = await _attempt(_call(tmp_path, f"{name}:run"))
    assert result == AttemptResult(BranchStatus.FAILED, reason.format(m=name))


async def test_the_timeout_covers_the_import(tmp_path: Path) -> None:
    name = _module(tmp_path, "import time\ntime.sleep(60)\ndef run():\n    return 1\n")
    started = time.monotonic()
    result, _ = await _attempt(_call(tmp_path, f"{name}:run", timeout_s=0.5, kill_grace_s=0.1))
    assert result == AttemptResult(BranchStatus.TIMED_OUT, "timed out after 500ms")
    assert time.monotonic() - started < 5


CALLS = """
import os, sys, time, anyio
from fanout_tui import signals

async def nap(n, seconds=0.2):
    print("nap", n, os.getpid())
    await anyio.sleep(seconds)
    return n

async def blocks():
    print("ready")
    time.sleep(60)

async def exits():
    os._exit(4)

async def signalled():
    signals.usage(input_tokens=3)
    return "ok"

async def big():
    return "x" * (17 * 1024 * 1024)

IMPORTS = int(os.environ.get("IMPORTS", "0")) + 1
os.environ["IMPORTS"] = str(IMPORTS)

async def imports():
    return IMPORTS
"""


def _lines(events: list[Event], stream: str) -> list[str]:
    return [
        line
        for e in events
        if isinstance(e, OutputLines) and e.stream == stream
        for line in e.lines
    ]


async def _many(
    pool: CallPool, branches: list[BranchPlan], *, close: bool = True
) -> list[tuple[AttemptResult, list[Event]]]:
    """Run ``branches`` at once on ``pool`` (closed after, unless ``close`` is False)."""
    results: list[tuple[AttemptResult, list[Event]]] = [None] * len(branches)  # type: ignore[list-item]

    async def one(index: int) -> None:
        results[index] = await _attempt(branches[index])

    token = CALL_WORKERS.set(pool)
    try:
        async with anyio.create_task_group() as tg:
            for index in range(len(branches)):
                tg.start_soon(one, index)
    finally:
        CALL_WORKERS.reset(token)
        if close:
            await pool.close(0.5)
    return results


async def test_async_calls_share_one_worker_and_import_once(tmp_path: Path) -> None:
    name = _module(tmp_path, CALLS)
    pool = CallPool()
    branches = [_call(tmp_path, f"{name}:nap", with_args={"n": n}) for n in range(10)]
    started = time.monotonic()
    results = await _many(pool, branches, close=False)
    assert time.monotonic() - started < 5
    assert [r.result for r, _ in results] == list(range(10))
    (pid,) = {e.pid for _, events in results for e in events if isinstance(e, ProcessStarted)}
    assert pid != os.getpid()
    for n, (_, events) in enumerate(results):
        assert _lines(events, "stdout") == [f"nap {n} {pid}"]
    (again,) = await _many(pool, [_call(tmp_path, f"{name}:imports")])
    assert again[0].result == 1


async def test_a_call_that_blocks_its_worker_times_out_and_the_others_fail_clearly(
    tmp_path: Path,
) -> None:
    name = _module(tmp_path, CALLS)
    pool = CallPool()
    blocks = _call(tmp_path, f"{name}:blocks", timeout_s=0.5, kill_grace_s=0.1)
    nap = _call(tmp_path, f"{name}:nap", with_args={"n": 0, "seconds": 30})
    # Once both are known to be async, they share a worker.
    await _many(pool, [blocks, _call(tmp_path, f"{name}:nap", with_args={"n": 0})], close=False)
    started = time.monotonic()
    (blocked, napped) = await _many(pool, [blocks, nap])
    assert time.monotonic() - started < 10
    assert blocked[0] == AttemptResult(BranchStatus.TIMED_OUT, "timed out after 500ms")
    assert napped[0] == AttemptResult(
        BranchStatus.FAILED, f"the worker was ended: another call on it ({name}:blocks) blocked it"
    )


async def test_a_worker_that_dies_in_an_async_call_fails_it_and_is_replaced(
    tmp_path: Path,
) -> None:
    name = _module(tmp_path, CALLS)
    pool = CallPool()
    results = await _many(pool, [_call(tmp_path, f"{name}:exits")], close=False)
    assert results[0][0].reason == f"the worker exited with code 4 while calling {name}:exits"
    results = await _many(pool, [_call(tmp_path, f"{name}:nap", with_args={"n": 1})])
    assert results[0][0].result == 1


async def test_signal_lines_of_a_call_reach_its_stderr_lines(tmp_path: Path) -> None:
    name = _module(tmp_path, CALLS)
    result, events = await _attempt(_call(tmp_path, f"{name}:signalled"))
    assert result.result == "ok"
    stderr = _lines(events, "stderr")
    assert len(stderr) == 1 and stderr[0].startswith("::fanout::")


async def test_the_result_cap_holds_in_a_worker(tmp_path: Path) -> None:
    name = _module(tmp_path, CALLS)
    result, _ = await _attempt(_call(tmp_path, f"{name}:big"))
    assert result == AttemptResult(BranchStatus.FAILED, "result is larger than 16 MiB")


async def test_a_blocking_async_call_cannot_stop_the_engine(tmp_path: Path) -> None:
    name = _module(tmp_path, CALLS)
    branches = (
        BranchPlan(
            id="blocks",
            index=0,
            call=f"{name}:blocks",
            cwd=tmp_path,
            python_path=(tmp_path,),
            timeout_s=1.0,
            kill_grace_s=0.1,
        ),
    )
    engine = Engine(Plan(name="t", branches=branches))
    with anyio.fail_after(15):
        outcome = await engine.run()
    (report,) = outcome.branches
    assert report.status is BranchStatus.TIMED_OUT
