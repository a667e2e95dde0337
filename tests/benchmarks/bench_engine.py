"""Benchmark the scheduler: dispatch overhead against xargs and GNU parallel, and fan-out latency.

Run it with ``python tests/benchmarks/bench_engine.py`` (not collected by pytest). It prints
one line per measurement, the best of ``--repeat`` runs (default 3) of wall time:

1. 500 branches of ``true`` at concurrency 8, headless, the whole ``fanout-tui`` process,
   against ``xargs -P8`` and GNU ``parallel -j8`` on the same work (parallel is skipped
   when it is not installed). Target: at most half of GNU parallel's wall time.
2. 50 branches of ``sleep 1`` at concurrency 50, the whole process. Target: at most 1.3 s.
3. The same two workloads run by the engine in-process (no interpreter start, no spec
   loading, no log files), and 500 scripted attempts that start no process at all, to
   show what the scheduler itself costs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import anyio

from fanout_tui.engine import Engine, Event
from fanout_tui.engine.testing import ScriptedExecutor
from fanout_tui.spec._plan import BranchPlan, Plan

FANOUT = [sys.executable, "-m", "fanout_tui"]


def spec_text(count: int, command: list[str], concurrency: int) -> str:
    """A spec of ``count`` branches running ``command`` directly (no shell)."""
    lines = ["version: 1", "name: bench", f"concurrency: {concurrency}", "branches:"]
    run = "[" + ", ".join(f'"{part}"' for part in command) + "]"
    lines += [f"  - id: b{i}\n    run: {run}" for i in range(count)]
    return "\n".join(lines) + "\n"


def best_of(repeat: int, action: Callable[[], None]) -> float:
    """The shortest wall time of ``repeat`` runs of ``action``."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return min(times)


def run_quietly(argv: list[str], *, stdin: str | None = None, cwd: Path | None = None) -> None:
    """Run a command to the end; fail loudly when it fails."""
    subprocess.run(
        argv,
        input=stdin,
        text=True,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=cwd,
    )


def whole_process(spec: Path, workdir: Path) -> Callable[[], None]:
    return lambda: run_quietly([*FANOUT, str(spec), "--headless", "--no-journal"], cwd=workdir)


def in_process(
    count: int, command: tuple[str, ...], concurrency: int, *, scripted: bool = False
) -> Callable[[], None]:
    """Run the engine in this process; ``scripted`` replaces processes by instant results."""

    def action() -> None:
        branches = tuple(
            BranchPlan(id=f"b{i}", index=i, run=command, cwd=Path.cwd()) for i in range(count)
        )
        plan = Plan(name="bench", branches=branches, concurrency=concurrency)
        engine = Engine(plan, executor=ScriptedExecutor()) if scripted else Engine(plan)
        events: list[Event] = []
        engine.add_listener(events.append)  # a listener as cheap as the dashboard's
        outcome = anyio.run(engine.run)
        assert outcome.exit_code == 0, outcome.merge.describe()

    return action


def report(label: str, seconds: float, note: str = "") -> None:
    print(f"{label:<52} {seconds:7.3f} s  {note}".rstrip(), flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (best is kept)")
    args = parser.parse_args()
    repeat: int = args.repeat
    print(f"{os.cpu_count()} cores, Python {sys.version.split()[0]}, best of {repeat}")

    with tempfile.TemporaryDirectory(prefix="fanout-bench-") as folder:
        work = Path(folder)
        trues = work / "trues.yaml"
        trues.write_text(spec_text(500, ["true"], 8))
        sleeps = work / "sleeps.yaml"
        sleeps.write_text(spec_text(50, ["sleep", "1"], 50))
        numbers = "".join(f"{i}\n" for i in range(500))

        print("1. 500 x true at concurrency 8")
        ours = best_of(repeat, whole_process(trues, work))
        report("   fanout-tui --headless (whole process)", ours)
        xargs = best_of(
            repeat, lambda: run_quietly(["xargs", "-P8", "-I{}", "true"], stdin=numbers)
        )
        report("   xargs -P8", xargs)
        if shutil.which("parallel"):
            gnu = best_of(repeat, lambda: run_quietly(["parallel", "-j8", "true"], stdin=numbers))
            verdict = "met" if ours <= gnu / 2 else "MISSED"
            report("   GNU parallel -j8", gnu, f"(target {gnu / 2:.3f} s: {verdict})")
        else:
            print("   GNU parallel -j8: not installed, skipped")

        print("2. 50 x sleep 1 at concurrency 50")
        fan = best_of(repeat, whole_process(sleeps, work))
        report(
            "   fanout-tui --headless (whole process)",
            fan,
            f"(target 1.3 s: {'met' if fan <= 1.3 else 'MISSED'})",
        )

        print("3. the engine in-process (no interpreter start, no spec loading, no log files)")
        report("   500 x true at concurrency 8", best_of(repeat, in_process(500, ("true",), 8)))
        scheduling = best_of(repeat, in_process(500, ("true",), 8, scripted=True))
        report("   500 scripted attempts (scheduling alone)", scheduling)
        report(
            "   50 x sleep 1 at concurrency 50", best_of(repeat, in_process(50, ("sleep", "1"), 50))
        )
        started = time.perf_counter()
        run_quietly([sys.executable, "-c", "import fanout_tui.launch"])
        report("   (interpreter start + imports, for reference)", time.perf_counter() - started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
