"""``llm`` branches on the dashboard: a reply streaming in, a repair, the usage it cost."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from fanout_tui.ui.app import FanoutApp
from tests.ui import scenarios
from tests.ui.fakes import output
from tests.ui.scenarios import REPAIR_NOTE, REPAIRED_SO_FAR, dashboard, settle, streaming

pytestmark = pytest.mark.anyio
SIZE = (100, 32)
SnapCompare = Callable[..., bool]


def grid_text(app: FanoutApp) -> str:
    grid = dashboard(app).grid
    return "\n".join(grid.render_line(y).text for y in range(SIZE[1]))


async def test_a_streaming_reply_grows_on_its_panel_before_its_line_ends() -> None:
    scenario = scenarios.llm_replies()
    app, engine = scenario.app, scenario.engine
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert '{"doc": "chapter-1", "summ' in grid_text(app)
        engine.emit(streaming("chapter-1", '{"doc": "chapter-1", "summary": "On'))
        await settle(pilot)
        assert '{"doc": "chapter-1", "summary": "On' in grid_text(app)
        reply = json.dumps({"doc": "chapter-1", "summary": "One."})
        engine.emit(output("chapter-1", [reply]))  # the line ends: it replaces the partial
        await settle(pilot)
        text = grid_text(app)
        assert reply in text and text.count('{"doc": "chapter-1"') == 1
        view = dashboard(app).model.by_id["chapter-1"]
        assert view.partial is None and [line.text for line in view.last_lines(5)] == [reply]


async def test_a_repair_shows_with_the_usage_of_the_reply_it_repairs() -> None:
    app = scenarios.llm_replies().app
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        text = grid_text(app)
        assert "[fanout-tui] repair 1 of 2: output is not" in text
        assert "1,120 tokens · $0.0021" in text  # chapter-2's first reply
        assert REPAIRED_SO_FAR in text  # the repaired reply streams in
        view = dashboard(app).model.by_id["chapter-2"]
        note, growing = view.last_lines(2)
        assert (note.stream, note.text) == ("stderr", REPAIR_NOTE)
        assert (growing.stream, growing.text) == ("stdout", REPAIRED_SO_FAR)
        assert "spent 2,240 tokens · $0.0042" in str(dashboard(app).header.render())


def test_llm_replies_streaming_and_repairing(snap_compare: SnapCompare) -> None:
    async def run_before(pilot: object) -> None:
        await settle(pilot)  # type: ignore[arg-type]

    assert snap_compare(scenarios.llm_replies().app, terminal_size=SIZE, run_before=run_before)
