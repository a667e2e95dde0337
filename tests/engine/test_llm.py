"""``llm`` branches against a real mock OpenAI-compatible server on 127.0.0.1.

The server is the sample's (``sample_specs/scripts/mock_openai.py``); markers in the
prompt make it refuse, fail, trickle or reply with prose. The engine runs for real.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path

import anyio
import pytest
from mock_openai_server import reset, serve, stats  # tests/ is on sys.path

from fanout_tui.engine import (
    AttemptEnded,
    BranchStatus,
    Engine,
    Event,
    OutputLines,
    ResourcePaused,
    RunOutcome,
    UsageReported,
)
from fanout_tui.engine._attempt import attempt_log_paths
from fanout_tui.engine._streams import OutputSink
from fanout_tui.engine.llm._run import _text_taker
from fanout_tui.remote._snapshot import SnapshotKeeper
from fanout_tui.spec import Masker, Plan, load_plan_text
from fanout_tui.spec._masking import MASK

pytestmark = pytest.mark.anyio
KEY = "sk-test-0123456789abcdef"


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    server = serve(0)
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def url(server_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    reset()
    monkeypatch.setenv("MOCK_KEY", KEY)
    return server_url


def plan(
    url: str,
    prompts: list[str],
    *,
    llm: str = "",
    branch: str = "",
    top: str = "",
    tmp: Path | None = None,
) -> Plan:
    """One llm branch per prompt; JSON output with a schema."""
    lines = [
        "version: 1",
        "name: llm",
        "providers:",
        f"  mock: {{base_url: '{url}/v1', api_key_env: MOCK_KEY,",
        "         prices: {input_per_mtok: 1.0, output_per_mtok: 2.0}}",
        "resources:",
        "  api: {concurrency: 2}",
        top,
        "branches:",
    ]
    for n, prompt in enumerate(prompts):
        lines += [
            f"  - id: b{n}",
            "    uses: [api]",
            "    output: {format: json, schema: {type: object, required: [doc, summary]}}",
            branch,
            "    llm:",
            "      provider: mock",
            "      model: m",
            f"      prompt: {json.dumps(prompt)}",
            llm,
        ]
    return load_plan_text("\n".join(lines), path=(tmp or Path.cwd()) / "llm.yaml")


async def run(the_plan: Plan, **engine_args: object) -> tuple[list[Event], RunOutcome]:
    events: list[Event] = []
    engine = Engine(the_plan, **engine_args)  # type: ignore[arg-type]
    engine.add_listener(events.append)
    outcome = await engine.run()
    return events, outcome


def output(events: list[Event], stream: str = "stdout") -> list[str]:
    return [
        line
        for e in events
        if isinstance(e, OutputLines) and e.stream == stream
        for line in e.lines
    ]


@pytest.mark.parametrize("stream", ["true", "false"])
async def test_a_reply_is_the_output_streamed_or_not_with_its_usage(url: str, stream: str) -> None:
    events, outcome = await run(
        plan(url, ["Document: intro\nHello world."], llm=f"      stream: {stream}")
    )
    (branch,) = outcome.branches
    assert branch.status is BranchStatus.SUCCEEDED, branch.error
    assert branch.result == {"doc": "intro", "summary": "Hello world.", "words": 2}
    assert json.loads("".join(output(events))) == branch.result
    (usage,) = [e for e in events if isinstance(e, UsageReported)]
    assert usage.usage.input_tokens > 0 and usage.usage.output_tokens > 0
    expected = (usage.usage.input_tokens * 1 + usage.usage.output_tokens * 2) / 1e6
    assert usage.usage.cost_usd == pytest.approx(expected)
    assert outcome.usage == usage.usage


async def test_the_estimate_is_the_prompt_and_max_tokens(url: str) -> None:
    the_plan = plan(url, ["x" * 400], llm="      max_tokens: 50")
    assert the_plan.branches[0].cost_tokens == 100 + 50
    given = plan(url, ["x" * 400], llm="      max_tokens: 50", branch="    cost: {tokens: 7}")
    assert given.branches[0].cost_tokens == 7


async def test_a_429_pauses_the_resource_and_retries(url: str) -> None:
    retry = "    retry: {attempts: 2, backoff: 10ms, on: [rate_limited]}"
    events, outcome = await run(plan(url, ["Document: a [[429]]"], branch=retry))
    assert outcome.branches[0].status is BranchStatus.SUCCEEDED
    paused = [e for e in events if isinstance(e, ResourcePaused)]
    assert [(p.name, round(p.seconds)) for p in paused] == [("api", 1)]
    ended = [e for e in events if isinstance(e, AttemptEnded)]
    assert ended[0].rate_limited and ended[0].reason == "rate limited (retry after 1s)"


async def test_a_500_is_retried(url: str) -> None:
    retry = "    retry: {attempts: 2, backoff: 10ms}"
    _, outcome = await run(plan(url, ["Document: a [[500]]"], branch=retry))
    assert outcome.branches[0].status is BranchStatus.SUCCEEDED
    assert outcome.branches[0].attempts == 2


@pytest.mark.parametrize(
    ("marker", "reason"),
    [
        ("[[400]]", "HTTP 400 from the provider: model 'nope' does not exist"),
        (
            "[[quota]]",
            "HTTP 429 from the provider: You exceeded your current quota "
            "(quota exhausted, not retried)",
        ),
    ],
)
async def test_a_400_or_an_exhausted_quota_is_permanent(url: str, marker: str, reason: str) -> None:
    retry = "    retry: {attempts: 3, backoff: 10ms}"
    events, outcome = await run(plan(url, [f"Document: a {marker}"], branch=retry))
    (branch,) = outcome.branches
    assert (branch.status, branch.error, branch.attempts) == (BranchStatus.FAILED, reason, 1)
    assert stats(url)["requests"] == 1
    assert not [e for e in events if isinstance(e, ResourcePaused)]


async def test_a_slow_reply_past_the_timeout_times_out(url: str) -> None:
    _, outcome = await run(plan(url, ["Document: a [[slow]]"], branch="    timeout: 500ms"))
    assert outcome.branches[0].status is BranchStatus.TIMED_OUT
    assert outcome.branches[0].error == "timed out after 500ms"


async def test_a_broken_reply_is_repaired_and_shown_as_such(url: str) -> None:
    events, outcome = await run(plan(url, ["Document: a [[badjson]]"], llm="      repair: 2"))
    (branch,) = outcome.branches
    assert branch.status is BranchStatus.SUCCEEDED and branch.attempts == 1
    notes = [line for line in output(events, "stderr") if "repair" in line]
    assert len(notes) == 1 and notes[0].startswith("[fanout-tui] repair 1 of 2: output is not JSON")
    assert len([e for e in events if isinstance(e, UsageReported)]) == 2


async def test_a_reply_that_never_repairs_fails_on_its_contract(url: str) -> None:
    retry = "    retry: {attempts: 3, backoff: 10ms, on: [failed]}"
    _, outcome = await run(
        plan(url, ["Document: a [[never]]"], llm="      repair: 2", branch=retry)
    )
    (branch,) = outcome.branches
    assert branch.status is BranchStatus.FAILED and branch.attempts == 1
    assert branch.error is not None and branch.error.endswith("(still broken after 2 repairs)")
    assert stats(url)["requests"] == 3


async def test_json_in_a_fenced_block_is_accepted() -> None:
    from fanout_tui.engine.llm._run import _unfenced

    the_plan = plan("http://127.0.0.1:1", ["p"])
    fenced = 'Sure:\n```json\n{"doc": "a", "summary": "s"}\n```\n'
    assert json.loads(_unfenced(fenced, the_plan.branches[0])) == {"doc": "a", "summary": "s"}


async def test_cancel_mid_stream_closes_the_request(url: str) -> None:
    engine = Engine(plan(url, ["Document: a [[slow]]"]))
    async with anyio.create_task_group() as tg:
        tg.start_soon(engine.run)
        with anyio.fail_after(5):
            while stats(url)["requests"] < 1:  # noqa: ASYNC110 (the server's own counter)
                await anyio.sleep(0.02)
        engine.cancel("b0")
    assert engine.outcome().branches[0].status is BranchStatus.CANCELLED
    with anyio.fail_after(5):
        while stats(url)["disconnects"] < 1:  # noqa: ASYNC110 (the server's own counter)
            await anyio.sleep(0.05)


async def test_the_api_key_never_shows_even_when_the_server_echoes_it(
    url: str, tmp_path: Path
) -> None:
    events, outcome = await run(plan(url, ["Document: a [[echo-key]]"]), log_dir=tmp_path)
    (branch,) = outcome.branches
    assert branch.status is BranchStatus.FAILED
    assert branch.error is not None and "Incorrect API key provided: Bearer ***" in branch.error
    assert KEY not in repr(events) and KEY not in json.dumps(outcome.results_document())
    logs = [path.read_text() for path in tmp_path.iterdir()]  # noqa: ASYNC240
    assert logs and all(KEY not in log for log in logs)


async def test_a_synthesizer_may_be_an_llm_step(url: str) -> None:
    text = "\n".join(
        [
            "version: 1",
            "name: synth",
            "providers:",
            f"  mock: {{base_url: '{url}/v1'}}",
            "branches:",
            "  - {id: a, run: echo one}",
            "merge:",
            "  strategy: synthesis",
            "  synthesizer:",
            "    llm: {provider: mock, model: m, stream: false, prompt: 'Document: all'}",
        ]
    )
    _, outcome = await run(load_plan_text(text, path=Path.cwd() / "s.yaml"))
    assert outcome.merge.merged is not None, outcome.merge
    merged = json.loads(outcome.merge.merged)
    assert merged["doc"] == "all"
    assert stats(url)["requests"] == 1


async def test_a_streamed_reply_shows_its_unfinished_line_as_it_grows(
    url: str, tmp_path: Path
) -> None:
    events, outcome = await run(plan(url, ["Document: intro\nHello world."]), log_dir=tmp_path)
    (branch,) = outcome.branches
    assert branch.status is BranchStatus.SUCCEEDED, branch.error
    reply = json.dumps(branch.result)
    partials = [e.partial for e in events if isinstance(e, OutputLines) and e.partial]
    assert len(partials) > 2  # pieces of 8 characters; the last 23 held back (the API key)
    assert all(reply.startswith(p) and len(p) < len(q) for p, q in pairwise(partials))
    assert reply.startswith(partials[-1])
    assert output(events) == [reply]  # the line, once ended, comes whole
    stdout_log, _ = attempt_log_paths(tmp_path, "b0", 1)
    assert stdout_log is not None and stdout_log.read_text() == reply + "\n"  # no partials


def test_an_unfinished_line_never_shows_the_start_of_a_secret() -> None:
    shown: list[str] = []
    sink = OutputSink(on_lines=lambda lines, skipped: None, masker=Masker({}), log=None)
    take = _text_taker(sink, Masker({"MOCK_KEY": KEY}), shown.append)
    for piece in ["the key ", KEY[:6], KEY[6:] + " ok", "\nnext line" + "." * (len(KEY) - 1)]:
        take(piece)  # held back: the last len(KEY) - 1 characters, which might start it
    assert shown == [f"the key {MASK}", "next line"]


def test_a_late_viewer_gets_the_ended_lines_not_the_unfinished_ones() -> None:
    keeper = SnapshotKeeper(lines_kept=2)
    for event in [
        OutputLines("b", 1, "stdout", (), partial='{"do'),
        OutputLines("b", 1, "stderr", ("note",)),
        OutputLines("b", 1, "stdout", ('{"doc": 1}', "more", "lines")),
    ]:
        keeper.add(event)
    kept = [e for e in keeper.events() if isinstance(e, OutputLines)]
    assert [line for e in kept for line in e.lines] == ["more", "lines"]
    assert all(e.partial is None for e in kept)
