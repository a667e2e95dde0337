"""The full log: headings that keep each attempt's own count, and search that scrolls across."""

from __future__ import annotations

from pathlib import Path

import pytest

from fanout_tui.engine._events import BranchStatus as S
from fanout_tui.engine._events import Event
from fanout_tui.ui.log_document import branch_log
from fanout_tui.ui.model import RunModel
from fanout_tui.ui.screens.log_screen import LogScreen
from fanout_tui.ui.widgets.log_view import LogView
from tests.ui.fakes import ScriptedEngine, ended, make_plan, output, started, state
from tests.ui.scenarios import build, settle

pytestmark = pytest.mark.anyio
SIZE = (100, 32)


def test_an_operator_retry_does_not_renumber_the_earlier_attempts() -> None:
    model = RunModel(make_plan(["flaky"], attempts=2))
    events: list[Event] = []
    for attempt in (1, 2):
        events += [
            state("flaky", S.RUNNING, attempt=attempt, of=2),
            started("flaky", attempt),
            ended("flaky", S.FAILED, attempt, reason="exit code 1", exit_code=1),
        ]
    events.append(state("flaky", S.FAILED, attempt=2, of=2, reason="exit code 1"))
    # The operator's retry: a fresh set of two, numbered on (the engine's "3 of 4").
    events += [
        state("flaky", S.PENDING, attempt=3, of=4),
        state("flaky", S.RUNNING, attempt=3, of=4),
        started("flaky", 3),
    ]
    model.apply(events)
    headings = [text for text, _ in branch_log(model.by_id["flaky"]) if text.startswith("──")]
    assert headings == [
        "── attempt 1 of 2 · failed · exit 1 · 10s ──",
        "── attempt 2 of 2 · failed · exit 1 · 10s ──",
        "── attempt 3 of 4 · retried by the operator · running ──",
    ]


async def test_a_search_hit_far_along_a_long_line_scrolls_into_view(tmp_path: Path) -> None:
    long_line = "x" * 5000 + "END"
    (tmp_path / "wide.1.out").write_text(f"start\n{long_line}\nend of it\n", encoding="utf-8")
    events: list[Event] = [
        state("wide", S.RUNNING),
        started("wide", logs=tmp_path),
        output("wide", ["start", long_line, "end of it"]),
    ]
    app = build(ScriptedEngine(make_plan(["wide"]), events)).app
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        assert isinstance(app.screen, LogScreen)
        log = app.screen.query_one(LogView)
        await pilot.press("slash", *"END", "enter")
        await pilot.pause()
        row = log.hits[log.hit] - int(log.scroll_y)
        assert log.scroll_x > 0
        assert "END" in log.render_line(row).text
        await pilot.press("slash", *"start", "enter")  # a hit near the left edge: back to it
        await pilot.pause()
        assert log.scroll_x == 0
