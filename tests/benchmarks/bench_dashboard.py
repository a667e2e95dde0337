"""Measure the dashboard: first paint, keypress latency under load, overhead against headless.

Run it as a script (pytest does not collect it)::

    /work/venv/bin/python tests/benchmarks/bench_dashboard.py [--quick]

1. First paint with 1000 branches: from building the app until the first frame is composed,
   and until the first frame that shows every branch's scripted state.
2. Keypress-to-screen latency while 200 branches each print 1000 lines a second: a scripted
   engine on the app's own event loop emits the output; each press of j / k is timed from
   the key until the first composed frame that shows the moved cursor.
3. Total run time of one real spec (real processes, the real engine) with the dashboard
   against headless mode.

The app runs with Textual's headless driver: every frame is composed (every visible line
rendered) exactly as in a terminal, only the final write of escape codes is skipped.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import io
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from fanout_tui.engine import Engine  # noqa: E402
from fanout_tui.engine._events import BranchStatus, Event, OutputLines  # noqa: E402
from fanout_tui.headless import run_headless  # noqa: E402
from fanout_tui.spec._plan import BranchPlan, Plan  # noqa: E402
from fanout_tui.ui.app import GC_THRESHOLDS, FanoutApp, create_app  # noqa: E402
from tests.ui.fakes import ScriptedEngine, make_plan, output, started, state  # noqa: E402
from tests.ui.scenarios import dashboard  # noqa: E402

SIZE = (160, 50)


def watch_frames(app: FanoutApp, on_frame: Callable[[], None]) -> None:
    """Call ``on_frame`` after every frame the app composes."""
    display = app._display

    def timed_display(screen: Any, renderable: Any) -> None:
        display(screen, renderable)
        if renderable is not None:
            on_frame()

    app._display = timed_display  # type: ignore[method-assign]


# -- 1. first paint --------------------------------------------------------------------


async def first_paint(count: int) -> tuple[float, float]:
    """Seconds to the first frame, and to the first frame with every state drawn."""
    ids = [f"item-{n:04d}" for n in range(count)]
    cycle = [
        BranchStatus.RUNNING,
        BranchStatus.SUCCEEDED,
        BranchStatus.WAITING,
        BranchStatus.FAILED,
    ]
    script: list[Event] = []
    for n, branch_id in enumerate(ids):
        status = cycle[n % len(cycle)]
        script.append(
            state(
                branch_id, status, reason="exit code 1" if status is BranchStatus.FAILED else None
            )
        )
        if status is BranchStatus.RUNNING:
            script += [started(branch_id), output(branch_id, [f"{branch_id} working"])]
    begin = time.perf_counter()
    app = create_app(ScriptedEngine(make_plan(ids, name="first-paint"), script))
    marks: dict[str, float] = {}

    def on_frame() -> None:
        now = time.perf_counter()
        marks.setdefault("first", now)
        if dashboard(app).model.settled == count // 2 and "complete" not in marks:
            marks["complete"] = now

    watch_frames(app, on_frame)
    async with app.run_test(size=SIZE) as pilot:
        while "complete" not in marks:
            await pilot.pause(0.01)
        assert dashboard(app).grid.layout_mode == "dense"
    return marks["first"] - begin, marks["complete"] - begin


# -- 2. latency under load --------------------------------------------------------------


async def latency_under_load(
    branches: int, lines_per_s: int, presses: int
) -> tuple[list[float], float]:
    """Keypress-to-frame latencies (seconds) and the output rate actually delivered."""
    ids = [f"worker-{n:03d}" for n in range(branches)]
    script: list[Event] = []
    for branch_id in ids:
        script += [state(branch_id, BranchStatus.RUNNING), started(branch_id)]
    engine = ScriptedEngine(make_plan(ids, name="load"), script)
    app = create_app(engine)
    pending: dict[str, Any] = {}

    def on_frame() -> None:
        before = pending.get("before")
        focused = dashboard(app).grid.current
        if before is not None and focused is not None and focused.id != before:
            pending["latency"] = time.perf_counter() - pending["pressed"]
            pending["before"] = None
            pending["shown"].set()

    watch_frames(app, on_frame)
    emitted = 0
    tick = 0.01
    per_tick = max(1, round(lines_per_s * tick))

    async def load() -> None:
        nonlocal emitted
        serial = 0
        next_at = time.perf_counter()
        while True:
            for branch_id in ids:
                lines = tuple(f"{branch_id} line {serial + i}" for i in range(per_tick))
                engine.emit(OutputLines(branch_id, 1, "stdout", lines))
            serial += per_tick
            emitted += per_tick * len(ids)
            next_at += tick
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))

    latencies: list[float] = []
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.2)
        loader = asyncio.create_task(load())
        await asyncio.sleep(1.0)  # warm up under full load
        started_at, emitted_before = time.perf_counter(), emitted
        for n in range(presses):
            key = "j" if n % 2 == 0 else "k"
            assert dashboard(app).grid.current is not None
            pending.update(
                before=dashboard(app).grid.current.id,
                shown=asyncio.Event(),
                pressed=time.perf_counter(),
            )
            app.post_message(_key(key))
            await pending["shown"].wait()
            latencies.append(pending["latency"])
            await asyncio.sleep(0.05)
        rate = (emitted - emitted_before) / (time.perf_counter() - started_at)
        loader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await loader
    return latencies, rate


def _key(key: str) -> Any:
    from textual import events

    return events.Key(key, key)


# -- 3. dashboard against headless ------------------------------------------------------


def printing_plan(branches: int, seconds: float, rate: int, folder: Path) -> Plan:
    """Branches that each print ``rate`` lines a second for ``seconds`` (real processes)."""
    script = (
        "import sys, time\n"
        f"n, rate, seconds = sys.argv[1], {rate}, {seconds}\n"
        "start = time.monotonic()\n"
        "for i in range(int(rate * seconds)):\n"
        "    print(f'branch {n} line {i}')\n"
        "    if i % 50 == 49:\n"
        "        sys.stdout.flush()\n"
        "        time.sleep(max(0.0, start + (i + 1) / rate - time.monotonic()))\n"
        "print('done', flush=True)\n"
    )
    path = folder / "printer.py"
    path.write_text(script, encoding="utf-8")
    return Plan(
        name="printers",
        branches=tuple(
            BranchPlan(id=f"p{n:03d}", index=n, run=(sys.executable, str(path), str(n)), cwd=folder)
            for n in range(branches)
        ),
    )


def time_headless(plan: Plan, logs: Path) -> float:
    engine = Engine(plan, log_dir=logs)
    begin = time.perf_counter()
    with contextlib.redirect_stderr(io.StringIO()):
        outcome = run_headless(engine)
    assert outcome.exit_code == 0, outcome.exit_code
    return time.perf_counter() - begin


async def time_dashboard(plan: Plan, logs: Path) -> float:
    engine = Engine(plan, log_dir=logs)
    begin = time.perf_counter()
    app = create_app(engine)
    async with app.run_test(size=SIZE) as pilot:
        while dashboard(app).model.active or dashboard(app).model.merge.state.value == "waiting":
            await pilot.pause(0.02)
        app.begin_quit()
        while app.return_value is None:
            await pilot.pause(0.01)
    assert app.return_value.exit_code == 0, app.return_value.exit_code
    return time.perf_counter() - begin


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller, faster runs")
    args = parser.parse_args()

    paint, complete = asyncio.run(first_paint(1000))
    print(
        f"first paint, 1000 branches:        {paint:.3f} s "
        f"(every state drawn: {complete:.3f} s; target <= 1.5 s)"
    )

    presses = 10 if args.quick else 40
    gc.set_threshold(*GC_THRESHOLDS)  # as run_dashboard does
    latencies, rate = asyncio.run(latency_under_load(200, 1000, presses))
    latencies_ms = sorted(x * 1000 for x in latencies)
    p95 = latencies_ms[min(len(latencies_ms) - 1, int(len(latencies_ms) * 0.95))]
    print(
        f"keypress latency, 200 branches printing (delivered {rate:,.0f} lines/s): "
        f"median {statistics.median(latencies_ms):.1f} ms, p95 {p95:.1f} ms, "
        f"max {latencies_ms[-1]:.1f} ms (target < 100 ms)"
    )

    branches, seconds = (40, 2.0) if args.quick else (100, 4.0)
    with tempfile.TemporaryDirectory(prefix="fanout-bench-") as tmp:
        folder = Path(tmp)
        plan = printing_plan(branches, seconds, 1000, folder)
        (folder / "h").mkdir()
        (folder / "d").mkdir()
        headless = time_headless(plan, folder / "h")
        dashboard = anyio.run(time_dashboard, plan, folder / "d")
    print(
        f"total run time, {branches} real branches x 1000 lines/s x {seconds:g} s: "
        f"headless {headless:.2f} s, dashboard {dashboard:.2f} s, "
        f"ratio {dashboard / headless:.2f} (target <= 1.5)"
    )


if __name__ == "__main__":
    main()
