"""Benchmark the Dask executor: 200 × ``sleep 1`` on 4 local worker processes of 1 thread.

Run it with ``python tests/benchmarks/bench_dask.py`` (not collected by pytest; about two
minutes; needs ``fanout-tui[dask]``). It starts a ``distributed.LocalCluster`` of 4 worker
processes with 1 thread each and runs a plan of ``--count`` branches that each ``sleep 1``
through the engine with a :class:`~fanout_tui.engine.dask.DaskExecutor` (no global cap:
Dask's 4 threads are the limit). It prints the makespan against the ideal (count / 4
seconds) and the per-attempt overhead: the makespan beyond the ideal, spread over the
attempts each slot ran (an attempt's own duration counts its wait for a Dask thread),
against the same figure for the local executor (``--count`` attempts, 50 slots).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import anyio
import distributed

from fanout_tui.engine import Engine
from fanout_tui.engine.dask import DaskExecutor
from fanout_tui.spec import load_plan_text

WORKERS = 4


def _plan_text(count: int, concurrency: int | None) -> str:
    cap = f"concurrency: {concurrency}\n" if concurrency else ""
    branches = "".join(f'  - {{id: s{i}, run: "sleep 1"}}\n' for i in range(count))
    return f"version: 1\nname: bench-dask\n{cap}branches:\n{branches}"


def _run(count: int, executor: DaskExecutor | None, slots: int) -> tuple[float, float]:
    """Makespan and overhead per attempt: beyond the ideal, over the attempts per slot."""
    plan = load_plan_text(_plan_text(count, None if executor else slots))
    with tempfile.TemporaryDirectory() as logs:
        engine = Engine(plan, executor=executor, log_dir=Path(logs))
        started = time.perf_counter()
        outcome = anyio.run(engine.run)
        makespan = time.perf_counter() - started
    assert outcome.exit_code == 0, outcome
    ideal = count / slots
    return makespan, (makespan - ideal) / ideal


def main() -> None:
    """Run both executors and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=200)
    args = parser.parse_args()
    with distributed.LocalCluster(
        n_workers=WORKERS, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        makespan, remote = _run(args.count, DaskExecutor(cluster.scheduler_address), WORKERS)
    ideal = args.count / WORKERS
    _, local = _run(args.count, None, 50)
    print(f"branches            {args.count} × sleep 1 on {WORKERS} workers × 1 thread")
    print(f"makespan            {makespan:.2f}s (ideal {ideal:.0f}s, ratio {makespan / ideal:.3f})")
    print(f"attempt overhead    dask {remote * 1000:.1f} ms · local {local * 1000:.1f} ms")


if __name__ == "__main__":
    main()
