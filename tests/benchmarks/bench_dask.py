"""Benchmark the Dask executor: 200 × ``sleep 1`` on 4 local worker processes of 1 thread.

Run it with ``python tests/benchmarks/bench_dask.py`` (not collected by pytest; about two
minutes; needs ``fanout-tui[dask]``). It starts a ``distributed.LocalCluster`` of 4 worker
processes with 1 thread each and runs a plan of ``--count`` branches that each ``sleep 1``
through the engine with a :class:`~fanout_tui.engine.dask.DaskExecutor` (no global cap:
Dask's 4 threads are the limit). It prints the makespan against the ideal (count / 4
seconds) and the per-attempt overhead: the makespan beyond the ideal, spread over the
attempts each slot ran (an attempt's own duration counts its wait for a Dask thread),
against the same figure for the local executor (``--count`` attempts, 50 slots). From
Dask's task stream it splits the Dask figure: a task's time beyond its ``sleep 1`` (on the
worker: start the branch, see it end) and the gap between a worker's tasks (the scheduler's
and the worker's bookkeeping); the rest is the run's start and end.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from itertools import pairwise
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


def _task_times(cluster: distributed.LocalCluster, since: float) -> tuple[float, float]:
    """Median seconds of a task beyond its ``sleep 1``, and between a worker's tasks."""
    with distributed.Client(cluster, set_as_default=False) as client:
        stream = client.get_task_stream(start=since)
    spans: dict[str, list[tuple[float, float]]] = {}
    for task in stream:
        for span in task["startstops"]:
            if task["key"].startswith("fanout-") and span["action"] == "compute":
                spans.setdefault(task["worker"], []).append((span["start"], span["stop"]))
    beyond = [stop - start - 1 for runs in spans.values() for start, stop in runs]
    gaps = [b[0] - a[1] for runs in spans.values() for a, b in pairwise(sorted(runs))]
    return statistics.median(beyond), statistics.median(gaps)


def main() -> None:
    """Run both executors and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=200)
    args = parser.parse_args()
    with distributed.LocalCluster(
        n_workers=WORKERS, threads_per_worker=1, processes=True, dashboard_address=None
    ) as cluster:
        with distributed.Client(cluster, set_as_default=False) as client:
            client.get_task_stream()  # the scheduler records the task stream from now on
        since = time.time()
        makespan, remote = _run(args.count, DaskExecutor(cluster.scheduler_address), WORKERS)
        in_task, between = _task_times(cluster, since)
    ideal = args.count / WORKERS
    _, local = _run(args.count, None, 50)
    print(f"branches            {args.count} × sleep 1 on {WORKERS} workers × 1 thread")
    print(f"makespan            {makespan:.2f}s (ideal {ideal:.0f}s, ratio {makespan / ideal:.3f})")
    print(f"attempt overhead    dask {remote * 1000:.1f} ms · local {local * 1000:.1f} ms")
    print(f"  of which (median) {in_task * 1000:.1f} ms in a task, {between * 1000:.1f} ms between")


if __name__ == "__main__":
    main()
