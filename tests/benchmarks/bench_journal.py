"""What the journal costs: a many-branch run with and without it, whole process, repeated.

Run it (not collected by pytest)::

    python tests/benchmarks/bench_journal.py [--branches 500] [--concurrency 8] [--reps 7]

Each repetition runs ``fanout-tui SPEC --headless`` (its ``main``, in a new process)
once with ``--no-journal`` and once with a fresh ``--journal`` folder, in alternating
order so that drift in the machine's load hits both alike. It prints the median and mean
wall time of each, the CPU time of the fanout-tui process itself (steadier than wall time
on a busy machine), and the journal's overhead, both as a ratio of medians and as the
median of the ratios of each back-to-back pair (steadier when the load drifts); the
target is at most 10 %.
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


def write_spec(folder: Path, branches: int, concurrency: int) -> Path:
    """A spec of ``branches`` branches that each run ``true``."""
    lines = ["version: 1", "name: journal-bench", f"concurrency: {concurrency}", "branches:"]
    for i in range(branches):
        lines += [f"  - id: b{i:04d}", '    run: ["true"]']
    spec = folder / "bench.yaml"
    spec.write_text("\n".join(lines) + "\n")
    return spec


@dataclass
class Samples:
    """Wall seconds, and CPU seconds (user + system) of the fanout-tui process alone (all
    its threads, not its branches: the journal's own cost, little moved by other load)."""

    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def describe(self) -> str:
        """Median, mean and range of both."""
        return "  ".join(
            f"{name} median {statistics.median(values):.3f}s mean {statistics.mean(values):.3f}s "
            f"[{min(values):.3f}–{max(values):.3f}]"
            for name, values in (("wall", self.wall), ("cpu", self.cpu))
        )


# The command line's own entry point, reporting the process's CPU time (not its
# children's) on the last line of stderr once the run is over.
_RUN_AND_REPORT_CPU = """\
import resource, sys
from fanout_tui.cli import main
code = main(sys.argv[1:])
usage = resource.getrusage(resource.RUSAGE_SELF)
print(f"cpu {usage.ru_utime + usage.ru_stime}", file=sys.stderr)
sys.exit(code)
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--branches", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--reps", type=int, default=7)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-journal-") as scratch:
        folder = Path(scratch)
        spec = write_spec(folder, args.branches, args.concurrency)
        timed_run(spec, ["--no-journal"], Samples())  # warm the file cache and bytecode
        without = Samples()
        with_journal = Samples()
        for rep in range(args.reps):
            journal = ["--journal", str(folder / f"journal-{rep}")]
            order = [(without, ["--no-journal"]), (with_journal, journal)]
            if rep % 2:
                order.reverse()
            for samples, journal_args in order:
                timed_run(spec, journal_args, samples)

    def overhead(pick: Callable[[Samples], list[float]]) -> str:
        medians = statistics.median(pick(with_journal)) / statistics.median(pick(without)) - 1
        # Each repetition's two runs ran back to back, under about the same load.
        paired = statistics.median(
            j / n - 1 for j, n in zip(pick(with_journal), pick(without), strict=True)
        )
        return f"{medians:+.1%} (of medians), {paired:+.1%} (median of pairs)"

    print(f"{args.branches} branches of `true`, concurrency {args.concurrency}, {args.reps} reps")
    print(f"  --no-journal : {without.describe()}")
    print(f"  --journal    : {with_journal.describe()}")
    print(f"  overhead wall: {overhead(lambda s: s.wall)}")
    print(f"  overhead cpu : {overhead(lambda s: s.cpu)}")
    print(f"  load average : {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
