"""Scripted runs the snapshot and pilot tests share: each builds an engine, a clock, an app."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from textual.command import CommandList
from textual.pilot import Pilot

from fanout_tui.bundled import data_dir
from fanout_tui.engine._events import BranchStatus as S
from fanout_tui.engine._events import Event, OutputLines
from fanout_tui.engine._events import PolicyState as P
from fanout_tui.engine._signals import Usage
from fanout_tui.spec._plan import PolicyMode, Rate, ResourceLimit
from fanout_tui.ui.app import FanoutApp, create_app
from fanout_tui.ui.screens.dashboard import DashboardScreen
from tests.ui.fakes import (
    FixedClock,
    ScriptedEngine,
    ended,
    fail,
    make_plan,
    merge_state,
    output,
    paused,
    resource,
    resources,
    started,
    state,
    succeed,
    usage_reported,
)

DOCS = ["intro", "chapter-1", "chapter-2", "chapter-3", "stats", "outro"]
NOW = 1042.0


@dataclass
class Scenario:
    """A scripted engine, the clock it shares with the app, and the app."""

    engine: ScriptedEngine
    clock: FixedClock
    app: FanoutApp


def build(engine: ScriptedEngine, *, theme: str | None = None, now: float = NOW) -> Scenario:
    """The app for ``engine``, its clock at ``now`` (the run started at 1000)."""
    clock = FixedClock(1000.0)
    app = create_app(engine, theme=theme, clock=clock, theme_folders=(data_dir("themes"),))
    app.animation_level = "none"
    clock.t = now
    return Scenario(engine, clock, app)


def dashboard(app: FanoutApp) -> DashboardScreen:
    """The main screen, under whatever is open over it."""
    screen = app.screen_stack[0]
    assert isinstance(screen, DashboardScreen)
    return screen


async def settle(pilot: Pilot[object]) -> None:
    """Let the engine's script arrive and draw it (without waiting for the frame timer)."""
    app = pilot.app
    assert isinstance(app, FanoutApp)
    await pilot.pause()
    app.draw_frame()
    await pilot.pause()


async def palette_search(pilot: Pilot[object], text: str, *, polls: int = 500) -> None:
    """Type ``text`` into the open command palette and wait until it lists a hit for it.

    The palette gathers hits in a worker; each poll lets the app process what is queued.
    """
    await pilot.press(*text)
    for _ in range(polls):
        await pilot.pause()
        hits = pilot.app.screen.query_one(CommandList)
        if hits.option_count and text.lower() in str(hits.get_option_at_index(0).prompt).lower():
            return
    raise AssertionError(f"the palette lists no hit for {text!r}")


def doc(name: str) -> dict[str, str]:
    return {"doc": name, "summary": f"Summary of {name}."}


def pending() -> Scenario:
    """Nothing has started yet."""
    return build(ScriptedEngine(make_plan(DOCS)), now=1000.0)


def mid_run_events() -> list[Event]:
    return [
        *succeed("intro", doc("intro")),
        state("chapter-1", S.RUNNING, at=995),
        started("chapter-1", at=995),
        output("chapter-1", ["reading docs/ch1.md", "calling the model (1200 tokens)"]),
        state("chapter-2", S.WAITING, attempt=0, waiting_on="llm-api"),
        state("chapter-3", S.RETRYING, attempt=1, reason="exit code 1: rate limited (429)"),
        *fail("stats", "exit code 1: ValueError: bad input"),
        merge_state(
            P.WAITING,
            merged={"intro": doc("intro")},
            missing=DOCS[1:],
            failed=["stats"],
            active=4,
        ),
    ]


def mid_run(*, theme: str | None = None) -> Scenario:
    """Running, waiting, retrying, succeeded, failed and pending branches side by side."""
    return build(ScriptedEngine(make_plan(DOCS), mid_run_events()), theme=theme)


def blocked() -> Scenario:
    """All-or-nothing: two branches failed for good, the rest succeeded."""
    plan = make_plan(DOCS[:4])
    events = [
        *succeed("intro", doc("intro")),
        *fail("chapter-1", "exit code 1: ValueError: bad input"),
        *succeed("chapter-2", doc("chapter-2")),
        *fail("chapter-3", "timed out after 2m", attempt=3),
        merge_state(
            P.BLOCKED,
            merged={"intro": doc("intro"), "chapter-2": doc("chapter-2")},
            missing=["chapter-1", "chapter-3"],
            failed=["chapter-1", "chapter-3"],
        ),
    ]
    return build(ScriptedEngine(plan, events))


def best_effort_flagged() -> Scenario:
    """Best-effort: merged with one branch flagged as missing."""
    plan = make_plan(DOCS[:4], mode=PolicyMode.BEST_EFFORT, min_success=3)
    merged = {name: doc(name) for name in ("intro", "chapter-1", "chapter-3")}
    events = [
        *succeed("intro", doc("intro")),
        *succeed("chapter-1", doc("chapter-1")),
        *fail("chapter-2", "output breaks its contract: 'summary' is a required property"),
        *succeed("chapter-3", doc("chapter-3")),
        merge_state(P.MERGED, merged=merged, missing=["chapter-2"], failed=["chapter-2"]),
    ]
    return build(ScriptedEngine(plan, events))


def retry_fixes(output_path: Path | None = None) -> Scenario:
    """All-or-nothing blocked by chapter-1; retrying it succeeds and completes the merge."""
    plan = make_plan(DOCS[:3], output=output_path)
    first = {"intro": doc("intro"), "chapter-2": doc("chapter-2")}
    events = [
        *succeed("intro", doc("intro")),
        *fail("chapter-1", "exit code 1: docs/ch1.md not found"),
        *succeed("chapter-2", doc("chapter-2")),
        merge_state(P.BLOCKED, merged=first, missing=["chapter-1"], failed=["chapter-1"]),
    ]
    retried = [
        state("chapter-1", S.RUNNING, attempt=1, at=1030),
        started("chapter-1", at=1030),
        output("chapter-1", ["found docs/ch1.md", "summarised"]),
        ended("chapter-1", S.SUCCEEDED, at=1040, exit_code=0, result=doc("chapter-1")),
        state("chapter-1", S.SUCCEEDED, attempt=1, at=1040),
        merge_state(
            P.MERGED,
            merged={
                "intro": doc("intro"),
                "chapter-1": doc("chapter-1"),
                "chapter-2": doc("chapter-2"),
            },
        ),
    ]
    engine = ScriptedEngine(plan, events, on_retry={"chapter-1": retried})
    return build(engine)


def with_logs(logs: Path) -> Scenario:
    """A branch that failed twice and then succeeded, with its log files on disk."""
    plan = make_plan(["report"], titles={"report": "Build the report"})
    events: list[Event] = []
    for attempt, (status, reason) in enumerate(
        [
            (S.FAILED, "exit code 1: connection refused"),
            (S.FAILED, "exit code 1: connection refused"),
            (S.SUCCEEDED, None),
        ],
        start=1,
    ):
        at = 1000.0 + attempt * 10
        (logs / f"report.{attempt}.out").write_text(
            "".join(f"attempt {attempt}: fetched page {n}\n" for n in range(1, 6))
            + ('{"doc": "report"}\n' if status is S.SUCCEEDED else ""),
            encoding="utf-8",
        )
        (logs / f"report.{attempt}.err").write_text(
            "warning: slow response\n" + (f"error: {reason}\n" if reason else ""),
            encoding="utf-8",
        )
        events += [
            state("report", S.RUNNING, attempt=attempt, at=at),
            started("report", attempt, at=at, logs=logs),
            ended(
                "report",
                status,
                attempt,
                at=at + 4,
                duration=4.0,
                reason=reason,
                exit_code=1 if reason else 0,
                result={"doc": "report"} if status is S.SUCCEEDED else None,
            ),
        ]
    events.append(state("report", S.SUCCEEDED, attempt=3, at=1034))
    return build(ScriptedEngine(plan, events))


def thousand() -> Scenario:
    """A thousand branches in every state: the dense layout."""
    ids = [f"item-{n:04d}" for n in range(1000)]
    cycle = [
        S.SUCCEEDED,
        S.RUNNING,
        S.WAITING,
        S.FAILED,
        S.PENDING,
        S.RETRYING,
        S.TIMED_OUT,
        S.CANCELLED,
    ]
    events: list[Event] = []
    for n, branch_id in enumerate(ids):
        status = cycle[n % len(cycle)]
        if status is S.PENDING:
            continue
        reason = {
            S.FAILED: "exit code 2",
            S.TIMED_OUT: "timed out after 30s",
            S.CANCELLED: "cancelled by the operator",
            S.RETRYING: "exit code 1",
        }.get(status)
        events.append(
            state(
                branch_id,
                status,
                at=1000.0 + n % 7,
                reason=reason,
                waiting_on="db" if status is S.WAITING else None,
            )
        )
        if status is S.RUNNING:
            events += [
                started(branch_id, at=1000.0 + n % 7),
                output(branch_id, [f"{branch_id}: processed {n} records"]),
            ]
    return build(ScriptedEngine(make_plan(ids, name="batch-1000"), events))


LLM_API = ResourceLimit(
    "llm-api", concurrency=4, rate=Rate(30, 60), tokens=Rate(40_000, 60), adaptive=True
)
DB = ResourceLimit("db", concurrency=1)
RATE_LIMITED = "rate limited (retry after 12s)"
USAGE_SIGNAL = '::fanout:: {"usage": {"input_tokens": 900, "output_tokens": 220}}'


def rate_limited_events() -> list[Event]:
    spent = Usage(900, 220, 0.0021)
    return [
        *succeed("intro", doc("intro")),
        output("intro", [USAGE_SIGNAL], stream="stderr"),
        usage_reported("intro", spent, run_total=spent),
        state("chapter-1", S.RUNNING, at=1030),
        started("chapter-1", at=1030),
        output("chapter-1", ["reading docs/ch1.md", "calling the model"]),
        output("chapter-1", [USAGE_SIGNAL], stream="stderr"),
        usage_reported("chapter-1", spent, run_total=spent + spent),
        state("chapter-2", S.RUNNING, at=1036),
        started("chapter-2", at=1036),
        ended("chapter-2", S.FAILED, at=1040, duration=4.0, reason=RATE_LIMITED, exit_code=1),
        state("chapter-2", S.RETRYING, attempt=1, reason=RATE_LIMITED),
        *fail("stats", RATE_LIMITED),
        state("chapter-3", S.WAITING, attempt=0, waiting_on="llm-api"),
        state("outro", S.WAITING, attempt=0, waiting_on="llm-api"),
        paused("llm-api", "chapter-2", at=1040.0, until=1054.0),
        resources(
            resource(
                "llm-api",
                held=1,
                concurrency=2,
                declared_concurrency=4,
                waiting=3,
                window_used=12,
                window_limit=30,
                tokens_left=31_000,
                tokens_budget=40_000,
                paused_until=1054.0,
                paused_by="chapter-2",
            ),
            resource("db", held=0, concurrency=1, declared_concurrency=1),
            at=1040.0,
        ),
    ]


def rate_limited() -> Scenario:
    """An adaptive, token-budgeted API paused by a 429, with usage reported on the way."""
    plan = make_plan(DOCS, name="ask-the-api", resources=(LLM_API, DB))
    return build(ScriptedEngine(plan, rate_limited_events()))


LLM_DOCS = ["intro", "chapter-1", "chapter-2"]
REPAIR_NOTE = "[fanout-tui] repair 1 of 2: output is not JSON: expecting value at line 1, column 1"
REPAIRED_SO_FAR = '{"doc": "chapter-2", "summary": "The sec'
PROSE = "Here is the summary you asked for, in plain words."


def streaming(branch_id: str, text: str) -> OutputLines:
    """A streaming reply's unfinished line so far, as an ``llm`` branch sends it."""
    return OutputLines(branch_id, 1, "stdout", (), partial=text)


def llm_replies_events() -> list[Event]:
    spent = Usage(900, 220, 0.0021)
    return [
        *succeed("intro", doc("intro"), lines=0),
        output("intro", [json.dumps(doc("intro"))]),
        output("intro", [USAGE_SIGNAL], stream="stderr"),
        usage_reported("intro", spent, run_total=spent),
        state("chapter-1", S.RUNNING, at=1036),
        started("chapter-1", at=1036),
        streaming("chapter-1", '{"doc": "chapter-1", "summ'),
        state("chapter-2", S.RUNNING, at=1030),
        started("chapter-2", at=1030),
        output("chapter-2", [PROSE]),
        output("chapter-2", [USAGE_SIGNAL], stream="stderr"),
        usage_reported("chapter-2", spent, run_total=spent + spent),
        output("chapter-2", [REPAIR_NOTE], stream="stderr"),
        streaming("chapter-2", REPAIRED_SO_FAR),
    ]


def llm_replies() -> Scenario:
    """``llm`` branches: one replied, one streams its reply, one streams a repair."""
    plan = make_plan(LLM_DOCS, name="llm-summaries", resources=(LLM_API,))
    return build(ScriptedEngine(plan, llm_replies_events()))
