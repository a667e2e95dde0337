"""Benchmark ``llm`` branches: fanout-tui's own CPU per branch, and how busy it keeps the server.

Run it with ``python tests/benchmarks/bench_llm.py`` (not collected by pytest; a few
seconds). It starts the sample's mock OpenAI-compatible server
(``sample_specs/scripts/mock_openai.py``) as its own process with a fixed latency per
answer, then runs 100 streamed ``llm`` branches in this process through a resource of
``concurrency: 8``. It prints fanout-tui's CPU milliseconds per branch (this process's
CPU time over the run, the server being elsewhere) and the server's busy fraction: the
requests in flight at the server, integrated over time (the seconds from each request's
arrival to its answer's end, summed), over 8 × a span. Two spans are shown: the server's
own (its first request's arrival to its last answer's end: how well the engine keeps 8
requests in flight; target at least 0.90) and the whole run's wall time (the engine's
start-up and end added). 100 branches in slots of 8 leave the last round half full, so
neither can pass ``100 / (8 × 13)`` = 96%. ``--count``, ``--concurrency`` and
``--latency`` change the workload.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import anyio

from fanout_tui.engine import BranchStatus, Engine
from fanout_tui.spec import load_plan_text

ROOT = Path(__file__).resolve().parents[2]
MOCK = ROOT / "sample_specs" / "scripts" / "mock_openai.py"


def spec_text(url: str, count: int, concurrency: int) -> str:
    """``count`` llm branches through one resource of ``concurrency``."""
    return "\n".join(
        [
            "version: 1",
            "name: bench-llm",
            "providers:",
            f"  mock: {{base_url: '{url}/v1'}}",
            "resources:",
            f"  api: {{concurrency: {concurrency}}}",
            "branches:",
            '  - id: "doc-${{ matrix.n }}"',
            f"    matrix: {{n: [{', '.join(str(n) for n in range(count))}]}}",
            "    uses: [api]",
            "    output: {format: json, schema: {type: object, required: [doc, summary]}}",
            "    llm: {provider: mock, model: m, max_tokens: 100,",
            '          prompt: "Document: d${{ matrix.n }}\\nA short text to summarise."}',
        ]
    )


def stats(url: str) -> dict[str, float]:
    with urllib.request.urlopen(f"{url}/stats", timeout=5) as response:
        result: dict[str, float] = json.loads(response.read())
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--latency", type=float, default=0.2)
    args = parser.parse_args()
    server = subprocess.Popen(
        [sys.executable, str(MOCK), "--port", "0", "--latency", str(args.latency)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        url = server.stdout.readline().split(" on ", 1)[1].strip().removesuffix("/v1")
        plan = load_plan_text(
            spec_text(url, args.count, args.concurrency), path=ROOT / "bench-llm.yaml"
        )
        import httpcore  # noqa: F401  (imported before the clock starts: one-off costs)
        import httpx  # noqa: F401

        cpu, wall = time.process_time(), time.monotonic()
        outcome = anyio.run(Engine(plan).run)
        cpu, wall = time.process_time() - cpu, time.monotonic() - wall
        served = stats(url)
    finally:
        server.terminate()
        server.wait()
    succeeded = sum(b.status is BranchStatus.SUCCEEDED for b in outcome.branches)
    rounds = -(-args.count // args.concurrency)
    ceiling = args.count / (rounds * args.concurrency)
    busy, span = served["busy_s"], served["span_s"]
    print(f"{succeeded}/{args.count} succeeded in {wall:.2f}s (ideal {rounds * args.latency:.2f}s)")
    print(f"fanout-tui CPU: {cpu * 1000 / args.count:.2f} ms per branch")
    print(
        f"server busy fraction at concurrency {args.concurrency}: "
        f"{busy / (args.concurrency * span):.1%} over its span of {span:.2f}s (target >= 90%), "
        f"{busy / (args.concurrency * wall):.1%} over the run's {wall:.2f}s "
        f"(at most {ceiling:.0%})"
    )


if __name__ == "__main__":
    main()
