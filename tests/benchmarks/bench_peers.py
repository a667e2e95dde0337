"""fanout-tui against its peers and floors, whole process, paired medians (issues 19 and 14).

Run it as a script (pytest does not collect it; ``.ci/run`` does not run it)::

    /work/venv/bin/python tests/benchmarks/bench_peers.py [--runs 3] [--only NAME ...]

Every row runs fanout-tui (A) and its peer or floor (B) in turn, A B A B ..., each as a
whole process started here and reaped with ``os.wait4``: wall time from just before the
start to just after the reap, CPU (user + system) and peak RSS from the kernel's own
accounting of the finished process tree (the largest single process, not their sum).
The ratio A/B is taken pair by pair and its median printed, so drift on the machine
moves both sides alike. The peers: GNU ``parallel`` (skipped when not installed),
``xargs``, a shell pipe, and bare-Python floors written by this script (an asyncio
reader of pipes; anyio with a semaphore starting processes).

Rows beyond the peers (issue 14) print their own figures: 2000 branches x 10k lines
(peak RSS, and the seconds from the last branch's end to the run's end) and 200 MB of
binary output (the size of its log, which must stay 200 MB).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
FANOUT = [PYTHON, "-m", "fanout_tui"]
ENV = {
    **{name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"},
    "PYTHONPATH": str(REPO),
}
"""As installed: compiled modules are cached (the warm-up run of each row writes them, under
``PYTHONPYCACHEPREFIX`` in the work folder), so no side compiles its sources on every run."""

FLOOR_READER = """
import asyncio, sys
async def one(cmd):
    proc = await asyncio.create_subprocess_shell(cmd, stdout=asyncio.subprocess.PIPE)
    lines = 0
    while data := await proc.stdout.read(256 * 1024):
        lines += data.count(b"\\n")
    await proc.wait()
    return lines
async def main():
    await asyncio.gather(*(one(sys.argv[1]) for _ in range(int(sys.argv[2]))))
asyncio.run(main())
"""

FLOOR_DISPATCH = """
import sys, anyio
async def main(count, limit):
    gate = anyio.Semaphore(limit)
    async def one():
        async with gate:
            await anyio.run_process(["true"], check=False)
    async with anyio.create_task_group() as tg:
        for _ in range(count):
            tg.start_soon(one)
anyio.run(main, int(sys.argv[1]), int(sys.argv[2]))
"""


@dataclass(frozen=True)
class Run:
    """One finished process: wall and CPU seconds, peak RSS in MB, exit code."""

    wall: float
    cpu: float
    rss_mb: float
    code: int


def measure(argv: list[str], cwd: Path, *, stdout: int | None = subprocess.DEVNULL) -> Run:
    """Start ``argv`` and reap it, with the kernel's accounting of its process tree."""
    started = time.perf_counter()
    proc = subprocess.Popen(
        argv,
        cwd=cwd,
        env=ENV,
        stdin=subprocess.DEVNULL,
        stdout=stdout,
        stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, proc.returncode)


def spec(path: Path, branches: list[str], concurrency: int, extra: str = "") -> Path:
    """Write a spec of shell-command branches; return its path."""
    lines = ["version: 1", "name: bench", f"concurrency: {concurrency}", extra, "branches:"]
    lines += [f"  - id: b{i}\n    run: {command!r}" for i, command in enumerate(branches)]
    path.write_text("\n".join(lines) + "\n")
    return path


def fanout(spec_path: Path) -> list[str]:
    """The headless fanout-tui command for ``spec_path`` (journal and logs as by default)."""
    return [*FANOUT, str(spec_path), "--headless"]


@dataclass
class Row:
    """One line of the table: fanout-tui and its peers on the same work."""

    name: str
    work: str
    ours: Callable[[Path], list[str]]
    peers: dict[str, Callable[[Path], list[str]]]


def rows(tmp: Path) -> list[Row]:
    """The table of issue 19."""
    big = "yes 'some line of text' | head -c 1G"
    quarter = "yes 'some line of text' | head -c 256M"
    floor_reader = tmp / "floor_reader.py"
    floor_reader.write_text(FLOOR_READER)
    floor_dispatch = tmp / "floor_dispatch.py"
    floor_dispatch.write_text(FLOOR_DISPATCH)
    have_parallel = shutil.which("parallel") is not None

    def parallel(jobs: int, command: str, count: int) -> Callable[[Path], list[str]]:
        return lambda d: ["sh", "-c", f"seq {count} | parallel --will-cite -j{jobs} -N0 {command}"]

    def true_spec(count: int, limit: int) -> Callable[[Path], list[str]]:
        return lambda d: fanout(spec(d / f"true{count}.yaml", ["true"] * count, limit))

    def floor(count: int, limit: int) -> Callable[[Path], list[str]]:
        return lambda d: [PYTHON, str(floor_dispatch), str(count), str(limit)]

    table = [
        Row(
            "stream-1g",
            "1 GiB of lines from one branch, to /dev/null",
            lambda d: fanout(spec(d / "big.yaml", [big], 1)),
            {
                "parallel": lambda d: ["parallel", "--will-cite", "-j1", ":::", big],
                "pipe": lambda d: ["sh", "-c", "yes 'some line of text' | head -c 1G | cat"],
            },
        ),
        Row(
            "stream-8x256m",
            "8 branches x 256 MB",
            lambda d: fanout(spec(d / "eight.yaml", [quarter] * 8, 8)),
            {"asyncio-reader": lambda d: [PYTHON, str(floor_reader), quarter, "8"]},
        ),
        Row(
            "true-500",
            "500 x true, 8 at a time",
            true_spec(500, 8),
            {"floor": floor(500, 8), "parallel": parallel(8, "true", 500)},
        ),
        Row(
            "true-10k",
            "10,000 x true, 16 at a time",
            true_spec(10_000, 16),
            {"floor": floor(10_000, 16)},
        ),
        Row(
            "true-1",
            "one branch of true",
            true_spec(1, 1),
            {"floor": floor(1, 1)},
        ),
        Row(
            "cpu-1000",
            "1000 attempts (compare cpu)",
            true_spec(1000, 8),
            {"xargs": lambda d: ["sh", "-c", "seq 1000 | xargs -P8 -n1 sh -c true"]},
        ),
    ]
    if not have_parallel:
        for row in table:
            row.peers.pop("parallel", None)
    return table


def paired(row: Row, runs: int, work: Path) -> None:
    """Run ``row`` A B A B ... and print medians and pairwise ratios."""
    commands = {"fanout-tui": row.ours(work), **{n: f(work) for n, f in row.peers.items()}}
    results: dict[str, list[Run]] = {name: [] for name in commands}
    for argv in commands.values():  # one warm-up each (plan cache, page cache)
        measure(argv, work)
    for _ in range(runs):
        for name, argv in commands.items():
            shutil.rmtree(work / ".fanout", ignore_errors=True)
            results[name].append(measure(argv, work))
    print(f"\n{row.name}: {row.work}")
    ours = results["fanout-tui"]
    for name, found in results.items():
        wall = statistics.median(r.wall for r in found)
        cpu = statistics.median(r.cpu for r in found)
        rss = statistics.median(r.rss_mb for r in found)
        codes = sorted({r.code for r in found})
        line = f"  {name:<15} wall {wall:7.3f} s  cpu {cpu:7.3f} s  peak {rss:7.1f} MB"
        line += f"  exit {codes}"
        if name != "fanout-tui":
            pairs = list(zip(ours, found, strict=True))
            wall_ratio = statistics.median(a.wall / b.wall for a, b in pairs)
            cpu_ratio = statistics.median(a.cpu / b.cpu for a, b in pairs)
            line += f"   ratio wall {wall_ratio:5.2f}x  cpu {cpu_ratio:5.2f}x"
        print(line, flush=True)


def many_lines(runs: int, work: Path) -> None:
    """Issue 14: 2000 branches x 10k lines; peak RSS and the tail after the last branch."""
    stamps = work / "stamps"
    command = f"seq 10000; date +%s.%N >> {stamps}"
    path = spec(work / "lines.yaml", [command] * 2000, 16)
    print("\nmany-lines: 2000 branches x 10k lines (targets: peak < 400 MB, tail < 3 s)")
    for _ in range(runs):
        shutil.rmtree(work / ".fanout", ignore_errors=True)
        stamps.unlink(missing_ok=True)
        run = measure(fanout(path), work)
        ended = time.time()
        last = max(float(line) for line in stamps.read_text().split())
        print(
            f"  wall {run.wall:6.2f} s  peak {run.rss_mb:7.1f} MB  tail {ended - last:5.2f} s"
            f"  exit {run.code}",
            flush=True,
        )


def binary_log(work: Path) -> None:
    """Issue 14: 200 MB of binary output; its log must hold the bytes as they came."""
    path = spec(work / "binary.yaml", ["head -c 200M /dev/urandom >&2"], 1)
    shutil.rmtree(work / ".fanout", ignore_errors=True)
    run = measure(fanout(path), work)
    logs = sorted((work / ".fanout").rglob("*.stderr"))
    size = sum(log.stat().st_size for log in logs) / 1e6
    print(
        f"\nbinary-log: 200 MB of binary on stderr: wall {run.wall:.2f} s, peak "
        f"{run.rss_mb:.1f} MB, log {size:.1f} MB in {len(logs)} file(s)",
        flush=True,
    )


def main() -> None:
    """Parse the options, run the rows, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="pairs per row (median shown)")
    parser.add_argument("--only", nargs="*", help="row names to run (default: all)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-peers-") as name:
        work = Path(name)
        ENV["PYTHONPYCACHEPREFIX"] = str(work / "pycache")
        wanted = set(args.only or [])
        for row in rows(work):
            if not wanted or row.name in wanted:
                paired(row, args.runs, work)
        if not wanted or "many-lines" in wanted:
            many_lines(args.runs, work)
        if not wanted or "binary-log" in wanted:
            binary_log(work)


if __name__ == "__main__":
    main()
