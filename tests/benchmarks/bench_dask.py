"""Benchmark the Dask executor: 200 × ``sleep 1`` on 4 local worker processes of 1 thread.

Run it with ``python tests/benchmarks/bench_dask.py`` (not collected by pytest; about two
minutes; needs ``fanout-tui[dask]``). It starts a ``distributed.LocalCluster`` of 4 worker
processes with 1 thread each and runs a plan of ``--count`` branches that each ``sleep 1``
through the engine with a :class:`~fanout_tui.engine.dask.DaskExecutor` (no global cap:
Dask's 4 threads are the limit). It prints the makespan against the ideal (count / 4
seconds) and the per-attempt overhead: the mean attempt duration minus the sleep, against
the same figure with the local executor (``--count`` attempts of ``sleep 1``, 50 at once).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import anyio
import distributed

from fanout_tui.engine import AttemptEnded, Engine, Event
from fanout_tui.engine.dask import DaskExecutor
from fanout_tui.spec import load_plan_text

WORKERS = 4


def _plan_text(count: int, concurrency: int | None) -> str:
    cap = f"concurrency: {concurrency}\n" if concurrency else ""
    branches = "".join(f'  - {{id: s{i}, run: "sleep 1"}}\n' for i in range(count))
    return f"version: 1\nname: bench-dask\n{cap}branches:\n{branches}"


def _run(count: int, executor: DaskExecutor | None, concurrency: int | None) -> tuple[float, float]:
    """Makespan and mean attempt overhead (duration beyond the 1 s sleep)."""
    plan = load_plan_text(_plan_text(count, concurrency))
    durations: list[float] = []

    def on_event(event: Event) -> None:
        if isinstance(event, AttemptEnded):
            durations.append(event.duration_s)

    with tempfile.TemporaryDirectory() as logs:
        engine = Engine(plan, executor=executor, log_dir=Path(logs))
        engine.add_listener(on_event)
        started = time.perf_counter()
        outcome = anyio.run(engine.run)
        makespan = time.perf_counter() - started
    assert outcome.exit_code == 0, outcome
    return makespan, statistics.mean(durations) - 1.0


def main() -> None:
    """Run both executors and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=200)
    args = parser.parse_args()
    with distributed.LocalCluster(
        n_workers=WORKERS, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        makespan, remote = _run(args.count, DaskExecutor(cluster.scheduler_address), None)
    ideal = args.count / WORKERS
    _, local = _run(args.count, None, 50)
    print(f"branches            {args.count} × sleep 1 on {WORKERS} workers × 1 thread")
    print(f"makespan            {makespan:.2f}s (ideal {ideal:.0f}s, ratio {makespan / ideal:.3f})")
    print(f"attempt overhead    dask {remote * 1000:.1f} ms · local {local * 1000:.1f} ms")


if __name__ == "__main__":
    main()
