"""What the journal costs: a many-branch run with and without it, whole process, repeated.

Run it (not collected by pytest)::

    python tests/benchmarks/bench_journal.py [--branches 500] [--concurrency 8] [--reps 11]
        [--workload quiet|talking|working|all]

Three workloads: ``quiet`` branches run ``true`` (the journal's cost per branch at its
largest share of the run), ``talking`` branches print a few lines on stdout and stderr
(log files too), and ``working`` branches take 20 ms each, still less than most real
work. Each repetition runs ``fanout-tui SPEC --headless`` (its ``main``, in a
new process) once with ``--no-journal`` and once with a fresh ``--journal`` folder, in
alternating order so that drift in the machine's load hits both alike.

It prints, per workload, the median wall time and the median CPU time of the fanout-tui
process itself (all its threads, not its branches: steadier than wall time on a busy
machine), the journal's overhead as a ratio of medians and as the median of the ratios
of each back-to-back pair (steadier when the load drifts), and whether the target is
met: the median-of-pairs wall overhead at most 10 %. Then it times, in its own process,
the journal calls a run waits for (open, start of the run, end of the run, close).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

TARGET = 0.10
"""The most the journal may add to a run's wall time."""

WORKLOADS = {
    "quiet": '["true"]',
    "talking": '["sh", "-c", "echo one; echo two; echo three >&2; echo four"]',
    "working": '["sleep", "0.02"]',
}
"""Each branch's ``run:``, by workload name."""


def write_spec(folder: Path, workload: str, branches: int, concurrency: int) -> Path:
    """A spec of ``branches`` branches that each run the ``workload``'s command."""
    lines = ["version: 1", f"name: journal-bench-{workload}", f"concurrency: {concurrency}"]
    lines.append("branches:")
    for i in range(branches):
        lines += [f"  - id: b{i:04d}", f"    run: {WORKLOADS[workload]}"]
    spec = folder / f"{workload}.yaml"
    spec.write_text("\n".join(lines) + "\n")
    return spec


@dataclass
class Samples:
    """Wall seconds, and CPU seconds (user + system) of the fanout-tui process alone."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)


# What the ``fanout-tui`` executable does (``fanout_tui.cli.entry``: main, then an exit
# that skips the interpreter's teardown), reporting the process's CPU time (not its
# children's) on the last line of stderr once the run is over. The teardown would add
# some 150 ms of noise to both sides that no user waits for.
_RUN_AND_REPORT_CPU = """\
import os, resource, sys
from fanout_tui.cli import main
code = main(sys.argv[1:])
usage = resource.getrusage(resource.RUSAGE_SELF)
sys.stdout.flush()
print(f"cpu {usage.ru_utime + usage.ru_stime}", file=sys.stderr, flush=True)
os._exit(code)
"""


def timed_run(spec: Path, journal_args: list[str], samples: Samples) -> None:
    """Time one whole headless run into ``samples``; fail loudly if the run fails."""
    command = [sys.executable, "-c", _RUN_AND_REPORT_CPU, str(spec), "--headless", *journal_args]
    started = time.perf_counter()
    result = subprocess.run(command, cwd=spec.parent, capture_output=True, text=True, check=False)
    samples.wall.append(time.perf_counter() - started)
    if result.returncode != 0:
        raise SystemExit(f"run failed ({result.returncode}): {result.stderr[-2000:]}")
    samples.cpu.append(float(result.stderr.splitlines()[-1].removeprefix("cpu ")))


def measure(spec: Path, reps: int) -> tuple[Samples, Samples]:
    """``reps`` back-to-back pairs of runs: (without the journal, with it)."""
    timed_run(spec, ["--no-journal"], Samples())  # warm the file cache and bytecode
    without = Samples()
    with_journal = Samples()
    for rep in range(reps):
        journal = ["--journal", str(spec.parent / f"journal-{spec.stem}-{rep}")]
        order = [(without, ["--no-journal"]), (with_journal, journal)]
        if rep % 2:
            order.reverse()
        for samples, journal_args in order:
            timed_run(spec, journal_args, samples)
    return without, with_journal


def report(title: str, without: Samples, with_journal: Samples) -> bool:
    """Print one workload's figures; return whether the target is met."""

    def ratios(pick: Callable[[Samples], list[float]]) -> tuple[float, float]:
        of_medians = statistics.median(pick(with_journal)) / statistics.median(pick(without))
        # Each repetition's two runs ran back to back, under about the same load.
        paired = statistics.median(
            j / n for j, n in zip(pick(with_journal), pick(without), strict=True)
        )
        return of_medians - 1, paired - 1

    wall = ratios(lambda s: s.wall)
    cpu = ratios(lambda s: s.cpu)
    met = wall[1] <= TARGET
    print(title)
    print(f"  {'':<30}{'wall':>10}{'cpu':>10}")
    for name, samples in (("--no-journal, median", without), ("--journal, median", with_journal)):
        wall_s, cpu_s = statistics.median(samples.wall), statistics.median(samples.cpu)
        print(f"  {name:<30}{wall_s:>9.3f}s{cpu_s:>9.3f}s")
    print(f"  {'overhead, ratio of medians':<30}{wall[0]:>+10.1%}{cpu[0]:>+10.1%}")
    print(f"  {'overhead, median of pairs':<30}{wall[1]:>+10.1%}{cpu[1]:>+10.1%}")
    verdict = "met" if met else "NOT met"
    print(f"  target (wall, median of pairs, at most {TARGET:.0%}): {verdict}")
    return met


def report_phases(spec: Path, reps: int) -> None:
    """Time, in this process, what a run asks of the journal outside its writer thread:
    opening a fresh journal, recording the run's start, recording its end, closing."""
    import contextlib
    import io

    from fanout_tui.engine import Engine
    from fanout_tui.headless import run_headless
    from fanout_tui.journal import Journal
    from fanout_tui.spec import load_plan

    plan = load_plan(spec)
    phases: dict[str, list[float]] = {"open": [], "start_run": [], "finish": [], "close": []}
    for rep in range(reps):
        started = time.perf_counter()
        journal = Journal.open(spec.parent / f"phases-{spec.stem}-{rep}")
        opened = time.perf_counter()
        recorder = journal.start_run(plan)
        recorded = time.perf_counter()
        engine = Engine(plan, log_dir=recorder.log_dir, run_env=recorder.marks)
        engine.add_listener(recorder.record)
        with contextlib.redirect_stderr(io.StringIO()):
            outcome = run_headless(engine)
        ran = time.perf_counter()
        recorder.finish(outcome)
        finished = time.perf_counter()
        journal.close()
        closed = time.perf_counter()
        for name, seconds in zip(
            phases,
            (opened - started, recorded - opened, finished - ran, closed - finished),
            strict=True,
        ):
            phases[name].append(seconds)
    medians = ", ".join(f"{name} {statistics.median(v) * 1e3:.1f} ms" for name, v in phases.items())
    print(f"  journal calls on the run's path (median of {reps}, in-process): {medians}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--branches", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--reps", type=int, default=11)
    parser.add_argument("--workload", choices=[*WORKLOADS, "all"], default="all")
    args = parser.parse_args()
    workloads = list(WORKLOADS) if args.workload == "all" else [args.workload]

    all_met = True
    with tempfile.TemporaryDirectory(prefix="bench-journal-") as scratch:
        for workload in workloads:
            spec = write_spec(Path(scratch), workload, args.branches, args.concurrency)
            without, with_journal = measure(spec, args.reps)
            title = (
                f"{args.branches} {workload} branches ({WORKLOADS[workload]}), "
                f"concurrency {args.concurrency}, {args.reps} pairs of runs"
            )
            all_met = report(title, without, with_journal) and all_met
            report_phases(spec, args.reps)
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0 if all_met else 1


if __name__ == "__main__":
    sys.exit(main())
