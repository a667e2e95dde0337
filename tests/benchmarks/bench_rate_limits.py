"""Benchmark shared limits against a real rate-limited API: as fast as the server allows, no 429s.

Run it with ``python tests/benchmarks/bench_rate_limits.py`` (not collected by pytest;
about a minute and a half). It starts the test API of ``tests/limited_api.py`` on
127.0.0.1 with ``concurrency 2`` and ``30 requests a minute`` (a sliding window, as real
APIs count), then runs ``fanout-tui SPEC --headless`` as a whole process on 50 branches
that each make one request, with the resource declared exactly as the server's limits
(``concurrency: 2, rate: 30/min``).

It prints the run's wall time against the server's theoretical minimum (the first 30
requests at once two at a time, the other 20 as soon as the window lets them, each taking
the server's latency), the ratio of the two (target: within 1.10), the 429s the server
sent (target: none) and the most requests the server saw in one window (at most 30).
``--count``, ``--rate`` and ``--latency`` change the workload.
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from limited_api import CLIENT, LimitedAPI, serve


def spec_text(url: str, count: int, rate: int, concurrency: int) -> str:
    """``count`` branches, one request each, through one resource with the server's limits."""
    return "\n".join(
        [
            "version: 1",
            "name: bench-rate-limits",
            "resources:",
            f"  api: {{concurrency: {concurrency}, rate: {rate}/min}}",
            "defaults:",
            "  retry: {attempts: 3, backoff: 1s, on: [rate_limited]}",
            "branches:",
            '  - id: "doc-${{ matrix.n }}"',
            f"    matrix: {{n: [{', '.join(str(n) for n in range(count))}]}}",
            f'    run: ["{sys.executable}", "{CLIENT}", "{url}/doc/${{{{ matrix.n }}}}"]',
            "    uses: [api]",
            "    output: {format: json}",
            "",
        ]
    )


def theoretical_minimum(
    count: int, rate: int, period: float, concurrency: int, latency: float
) -> float:
    """The shortest time the server allows for ``count`` requests of ``latency`` seconds."""
    windows = math.ceil(count / rate)
    last = count - (windows - 1) * rate
    return (windows - 1) * period + math.ceil(last / concurrency) * latency


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--rate", type=int, default=30, help="requests a minute")
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--latency", type=float, default=0.2, help="seconds a request takes")
    args = parser.parse_args()

    api = LimitedAPI(
        concurrency=args.concurrency, rate=args.rate, period=60.0, latency=args.latency
    )
    serve(api)
    with tempfile.TemporaryDirectory() as folder:
        spec = Path(folder, "bench.yaml")
        spec.write_text(spec_text(api.url, args.count, args.rate, args.concurrency))
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "fanout_tui", str(spec), "--headless", "--no-journal"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
        wall = time.perf_counter() - started
    floor = theoretical_minimum(args.count, args.rate, 60.0, args.concurrency, args.latency)
    refused = sum(1 for arrival in api.arrivals if arrival.status == 429)
    print(f"branches            {args.count} at concurrency {args.concurrency}, {args.rate}/min")
    print(f"exit code           {done.returncode}")
    print(f"wall time           {wall:.2f} s")
    print(f"server's minimum    {floor:.2f} s")
    print(f"ratio               {wall / floor:.3f}  (target ≤ 1.10)")
    print(f"429s from the API   {refused}  (target 0)")
    print(f"most in one window  {api.most_in_a_window()}  (limit {args.rate})")
    if done.returncode != 0:
        print(done.stderr[-2000:], file=sys.stderr)
    return 0 if done.returncode == 0 and refused == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
