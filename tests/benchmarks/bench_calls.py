"""Benchmark ``call`` branches: 200 async calls of ``await anyio.sleep(0.05)`` at concurrency 20.

Run it with ``python tests/benchmarks/bench_calls.py`` (not collected by pytest). It prints
the best of ``--repeat`` runs (default 3) of wall time for:

1. the whole ``fanout-tui --headless --no-journal`` process on that spec;
2. the engine in-process on the same plan (no interpreter start, no spec loading);
3. the same with a plain (sync) function that sleeps 50 ms, for comparison.

The floor is 10 rounds of 50 ms = 0.5 s. ``--write DIR`` only writes the spec and its
module into ``DIR`` and prints the command line, to time it with an outside tool
(``/usr/bin/time -v``, or a harness of your own).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import anyio

from fanout_tui.engine import Engine
from fanout_tui.spec._plan import BranchPlan, Plan

COUNT = 200
CONCURRENCY = 20
MODULE = "bench_naps"
SOURCE = """\
import time

import anyio


async def nap():
    await anyio.sleep(0.05)
    return "ok"


def sync_nap():
    time.sleep(0.05)
    return "ok"
"""


def write(folder: Path, function: str = "nap") -> Path:
    """Write the module and a spec calling ``function`` ``COUNT`` times; return the spec."""
    (folder / f"{MODULE}.py").write_text(SOURCE)
    lines = ["version: 1", "name: bench-calls", f"concurrency: {CONCURRENCY}", "branches:"]
    lines += [f"  - id: c{i}\n    call: {MODULE}:{function}" for i in range(COUNT)]
    spec = folder / f"{function}.yaml"
    spec.write_text("\n".join(lines) + "\n")
    return spec


def command(spec: Path) -> list[str]:
    """The whole-process command line for ``spec``."""
    return [sys.executable, "-m", "fanout_tui", str(spec), "--headless", "--no-journal"]


def best_of(repeat: int, action: Callable[[], None]) -> float:
    """The shortest wall time of ``repeat`` runs of ``action``."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return min(times)


def in_process(folder: Path, function: str) -> Callable[[], None]:
    """Run the plan with the engine in this process."""

    def action() -> None:
        branches = tuple(
            BranchPlan(
                id=f"c{i}",
                index=i,
                call=f"{MODULE}:{function}",
                cwd=folder,
                python_path=(folder,),
            )
            for i in range(COUNT)
        )
        plan = Plan(name="bench", branches=branches, concurrency=CONCURRENCY)
        outcome = anyio.run(Engine(plan).run)
        assert outcome.exit_code == 0, outcome.merge.describe()

    return action


def whole_process(spec: Path) -> Callable[[], None]:
    return lambda: (
        subprocess.run(
            command(spec),
            check=True,
            cwd=spec.parent,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        and None
    )


def report(label: str, seconds: float) -> None:
    print(f"{label:<56} {seconds:7.3f} s", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement (best kept)")
    parser.add_argument("--write", type=Path, help="only write the spec into this folder")
    args = parser.parse_args()
    if args.write is not None:
        args.write.mkdir(parents=True, exist_ok=True)
        print(" ".join(command(write(args.write.resolve()))))
        return 0
    print(f"{os.cpu_count()} cores, Python {sys.version.split()[0]}, best of {args.repeat}")
    with tempfile.TemporaryDirectory(prefix="fanout-bench-calls-") as name:
        folder = Path(name)
        spec = write(folder)
        write(folder, "sync_nap")
        print(f"{COUNT} calls of a 50 ms nap at concurrency {CONCURRENCY} (floor 0.5 s)")
        report(
            "1. async, fanout-tui --headless (whole process)",
            best_of(args.repeat, whole_process(spec)),
        )
        report("2. async, the engine in-process", best_of(args.repeat, in_process(folder, "nap")))
        report(
            "3. sync, the engine in-process", best_of(args.repeat, in_process(folder, "sync_nap"))
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
