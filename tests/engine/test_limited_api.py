"""Shared limits as a real rate-limited API measures them, over run: and call: branches.

Each test starts the API of ``tests/limited_api.py`` on 127.0.0.1 and runs the engine for
real (real clock, real processes, real HTTP). What counts is the server's own log.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from limited_api import CLIENT, LimitedAPI, serve  # tests/ is on sys.path

from fanout_tui.engine import (
    AttemptEnded,
    BranchStatus,
    Engine,
    Event,
    ResourcePaused,
    ResourceResumed,
    RunOutcome,
    UsageReported,
)
from fanout_tui.spec import Plan, load_plan_text

pytestmark = pytest.mark.anyio
TESTS = Path(__file__).resolve().parents[1]


@pytest.fixture
def api() -> Iterator[LimitedAPI]:
    limited = LimitedAPI(concurrency=2, rate=3, period=2.0, latency=0.1)
    server = serve(limited)
    yield limited
    server.shutdown()
    server.server_close()


def plan(
    api: LimitedAPI,
    count: int,
    how: str,
    *,
    resource: str = "{concurrency: 2, rate: 3/2s}",
    extra: str = "",
) -> Plan:
    """``count`` branches that each ask the API once, ``how`` being run, call or async."""
    if how == "run":
        branch = (
            f'    run: ["{sys.executable}", "-S", "{CLIENT}", "{api.url}/doc/${{{{ matrix.n }}}}"]'
        )
    else:
        target = "ask" if how == "call" else "ask_async"
        branch = (
            f"    call: limited_api:{target}\n"
            f'    with: {{url: "{api.url}/doc/${{{{ matrix.n }}}}", tokens: 100}}'
        )
    text = "\n".join(
        [
            "version: 1",
            "name: limited",
            "resources:",
            f"  api: {resource}",
            "defaults:",
            "  retry: {attempts: 3, backoff: 100ms, jitter: false, on: [rate_limited]}",
            extra,
            "branches:",
            '  - id: "doc-${{ matrix.n }}"',
            f"    matrix: {{n: [{', '.join(str(n) for n in range(count))}]}}",
            branch,
            "    uses: [api]",
            "",
        ]
    )
    return load_plan_text(text, path=TESTS / "limited.yaml")


async def run(plan: Plan) -> tuple[list[Event], RunOutcome]:
    events: list[Event] = []
    engine = Engine(plan)
    engine.add_listener(events.append)
    outcome = await engine.run()
    return events, outcome


@pytest.mark.parametrize("how", ["run", "call", "async"])
async def test_the_server_never_sees_a_window_or_concurrency_broken(
    api: LimitedAPI, how: str
) -> None:
    _, outcome = await run(plan(api, 5, how))
    assert [b.status for b in outcome.branches] == [BranchStatus.SUCCEEDED] * 5
    assert len(api.arrivals) == 5
    assert api.broken_limits() == []
    assert api.most_in_a_window() <= 3


async def test_a_429_with_retry_after_pauses_every_branch_on_the_resource(
    api: LimitedAPI,
) -> None:
    api.rate = None  # only the forced 429 limits here
    api.refuse_next(1, retry_after=2)
    # one at a time, so that no request is already on its way when the 429 comes back
    events, outcome = await run(plan(api, 4, "run", resource="{concurrency: 1}"))
    assert [b.status for b in outcome.branches] == [BranchStatus.SUCCEEDED] * 4
    refused = [a for a in api.arrivals if a.status == 429]
    assert [a.why for a in refused] == ["refused"]
    after = [a.at - refused[0].at for a in api.arrivals if a.at > refused[0].at]
    assert after and min(after) >= 2.0  # nobody asked the API while it was paused
    paused = [e for e in events if isinstance(e, ResourcePaused)]
    assert [(p.name, round(p.seconds)) for p in paused] == [("api", 2)]
    assert [e.name for e in events if isinstance(e, ResourceResumed)] == ["api"]
    limited = [e for e in events if isinstance(e, AttemptEnded) and e.rate_limited]
    assert [(e.branch_id, e.reason) for e in limited] == [
        (paused[0].by, "rate limited (retry after 2s)")
    ]


async def test_usage_is_summed_per_branch_and_run_and_a_budget_stops_new_attempts(
    api: LimitedAPI,
) -> None:
    api.rate = None
    # each call reports 100 input tokens; the budget allows three of them
    text_plan = plan(api, 6, "call", extra="budget: {tokens: 300}\nconcurrency: 1")
    events, outcome = await run(text_plan)
    statuses = [b.status for b in outcome.branches]
    assert statuses == [BranchStatus.SUCCEEDED] * 3 + [BranchStatus.CANCELLED] * 3
    assert {b.error for b in outcome.branches[3:]} == {"budget reached"}
    assert outcome.usage is not None and outcome.usage.input_tokens == 300
    reports = [e for e in events if isinstance(e, UsageReported)]
    assert [r.run_total.input_tokens for r in reports] == [100, 200, 300]
    document = outcome.results_document()
    assert document["usage"] == {"input_tokens": 300, "output_tokens": 0, "cost_usd": 0.0}
    assert document["branches"][0]["usage"]["input_tokens"] == 100
    assert len(api.arrivals) == 3
