"""One branch printing 1 GiB of lines: the engine's throughput and its peak memory.

Run it as a script (pytest does not collect it)::

    /work/venv/bin/python tests/benchmarks/bench_streaming.py [--size 1G] [--secret] [--reps 1]

The branch is ``yes 'some line of text' | head -c SIZE``: its stdout goes through the
whole attempt pipeline (non-blocking pipe reads, UTF-8 decoding, masking, the log file,
line splitting, one OutputLines event per chunk to a listener that counts lines, and the
16 MiB result cap, which it exceeds on purpose: the attempt fails with "output is larger
than 16 MiB" after the whole output has been streamed). ``--secret`` adds a secret that
occurs on every line, the worst case for masking.

It prints wall time, throughput, this process's CPU time and its peak resident memory
(``VmHWM``, the target being under 150 MB).
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import anyio

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from fanout_tui.engine._attempt import execute_attempt  # noqa: E402
from fanout_tui.engine._clock import SystemClock  # noqa: E402
from fanout_tui.engine._events import Event, OutputLines  # noqa: E402
from fanout_tui.spec._masking import Masker  # noqa: E402
from fanout_tui.spec._plan import BranchPlan  # noqa: E402

_UNITS = {"K": 1024, "M": 1024**2, "G": 1024**3}


def _size(text: str) -> int:
    unit = _UNITS.get(text[-1].upper())
    return int(text[:-1]) * unit if unit else int(text)


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _stream_once(size: int, secret: bool, log_dir: Path) -> tuple[float, float, int, str]:
    text = "some line of secret-text" if secret else "some line of text"
    branch = BranchPlan(id="big", index=0, run=f"yes '{text}' | head -c {size}", cwd=log_dir)
    masker = Masker({"TOKEN": "secret-text"} if secret else {})
    lines = 0

    def listener(event: Event) -> None:
        nonlocal lines
        if isinstance(event, OutputLines):
            lines += len(event.lines)

    wall, cpu = time.perf_counter(), time.process_time()
    result = await execute_attempt(
        branch, 1, emit=listener, masker=masker, clock=SystemClock(), log_dir=log_dir
    )
    return time.perf_counter() - wall, time.process_time() - cpu, lines, str(result.reason)


def main() -> None:
    """Parse the options, stream, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1G", help="bytes to print: 1G, 200M, ...")
    parser.add_argument("--secret", action="store_true", help="mask a secret on every line")
    parser.add_argument("--reps", type=int, default=1, help="repetitions (best is shown too)")
    args = parser.parse_args()
    size = _size(args.size)
    rates = []
    baseline = _status_mb("VmRSS")
    with tempfile.TemporaryDirectory(prefix="bench-streaming-") as folder:
        for rep in range(1, args.reps + 1):
            wall, cpu, lines, reason = anyio.run(_stream_once, size, args.secret, Path(folder))
            rates.append(size / wall / 1e6)
            print(
                f"run {rep}: {size / 2**20:.0f} MiB, {lines:,} lines in {wall:.2f} s"
                f" = {size / wall / 1e6:.0f} MB/s (engine CPU {cpu:.2f} s ="
                f" {size / cpu / 1e6:.0f} MB per CPU-second); attempt: {reason}"
            )
    print(
        f"best: {max(rates):.0f} MB/s; peak RSS of this process: {_status_mb('VmHWM'):.0f} MB"
        f" (before streaming: {baseline:.0f} MB)"
    )


if __name__ == "__main__":
    main()
