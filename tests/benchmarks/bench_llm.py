"""Benchmark ``llm`` branches: fanout-tui's own CPU per branch, and how busy it keeps the server.

Run it with ``python tests/benchmarks/bench_llm.py`` (not collected by pytest; a few
seconds). It starts the sample's mock OpenAI-compatible server
(``sample_specs/scripts/mock_openai.py``) as its own process with a fixed latency per
answer, then runs 100 streamed ``llm`` branches in this process through a resource of
``concurrency: 8``. It prints fanout-tui's CPU milliseconds per branch (this process's
CPU time over the run, the server being elsewhere) and the server's busy fraction: the
seconds it spent answering over 8 × the run's wall time (target: at least 0.90).
``--count``, ``--concurrency`` and ``--latency`` change the workload.
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
        import httpx  # noqa: F401  (imported before the clock starts: a one-off cost)

        cpu, wall = time.process_time(), time.monotonic()
        outcome = anyio.run(Engine(plan).run)
        cpu, wall = time.process_time() - cpu, time.monotonic() - wall
        served = stats(url)
    finally:
        server.terminate()
        server.wait()
    succeeded = sum(b.status is BranchStatus.SUCCEEDED for b in outcome.branches)
    busy = served["busy_s"] / (args.concurrency * wall)
    ideal = args.count / args.concurrency * args.latency
    print(f"{succeeded}/{args.count} succeeded in {wall:.2f}s (ideal {ideal:.2f}s)")
    print(f"fanout-tui CPU: {cpu * 1000 / args.count:.2f} ms per branch")
    print(f"server busy fraction at concurrency {args.concurrency}: {busy:.1%} (target >= 90%)")


if __name__ == "__main__":
    main()
