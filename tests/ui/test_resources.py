"""Shared resources and usage on the dashboard: the ``u`` view, the strip, usage, signal lines."""

from __future__ import annotations

import pytest
from rich.segment import Segment

from fanout_tui.engine import ResourceResumed
from fanout_tui.engine._events import BranchStatus as S
from fanout_tui.engine._signals import Usage
from fanout_tui.ui.app import FanoutApp
from fanout_tui.ui.log_document import LineKind, branch_log
from fanout_tui.ui.model import RunModel
from fanout_tui.ui.screens.dashboard import DashboardScreen
from fanout_tui.ui.screens.help_screen import HELP_TEXT
from fanout_tui.ui.screens.resources_screen import ResourcesScreen
from fanout_tui.ui.widgets.log_view import LogView
from tests.ui import scenarios
from tests.ui.fakes import ScriptedEngine, make_plan, usage_reported
from tests.ui.scenarios import USAGE_SIGNAL, dashboard, settle

pytestmark = pytest.mark.anyio
SIZE = (100, 32)


def resources_text(app: FanoutApp) -> str:
    screen = app.screen
    assert isinstance(screen, ResourcesScreen)
    return str(screen.query_one("#resources-text").render())


async def test_u_opens_the_resources_view_and_escape_closes_it() -> None:
    app = scenarios.rate_limited().app
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("u")
        text = resources_text(app)
        assert "paused 12s (429 from chapter-2)" in text
        assert "held 1 of 2 (2 of 4, adaptive) · 3 waiting" in text
        assert "window 12/30 · 31,000 of 40,000 tokens left" in text
        await pilot.press("escape")
        assert isinstance(app.screen, DashboardScreen)
        await pilot.press("u", "u")  # u closes it too
        assert isinstance(app.screen, DashboardScreen)


async def test_the_pause_counts_down_on_the_clock_and_ends_when_resumed() -> None:
    scenario = scenarios.rate_limited()
    app = scenario.app
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("u")
        scenario.clock.t += 5
        await settle(pilot)
        assert "paused 7s (429 from chapter-2)" in resources_text(app)
        assert "paused 7s" in str(dashboard(app).strip.render())
        scenario.engine.emit(ResourceResumed("llm-api", scenario.clock.t))
        await settle(pilot)
        assert "paused" not in resources_text(app)
        assert "llm-api  open" in resources_text(app)


async def test_the_palette_and_the_help_offer_the_resources_view() -> None:
    app = scenarios.rate_limited().app
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        entries = {c.title: c.help for c in app.get_system_commands(app.screen)}
        assert entries["Resources"].startswith("u ·")
        next(c for c in app.get_system_commands(app.screen) if c.title == "Resources").callback()
        await pilot.pause()
        assert isinstance(app.screen, ResourcesScreen)
    assert "[b]u[/b]" in HELP_TEXT and "shared resources" in HELP_TEXT
    binding_ids = {b.id for b in DashboardScreen.BINDINGS if hasattr(b, "id")}
    assert "fanout.resources" in binding_ids


async def test_a_plan_without_resources_shows_no_strip_and_says_so_in_the_view() -> None:
    app = scenarios.mid_run().app
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert not dashboard(app).strip.display
        await pilot.press("u")
        assert "declares no shared resources" in resources_text(app)


async def test_usage_shows_on_the_panel_and_the_run_total_in_the_header() -> None:
    app = scenarios.rate_limited().app
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        header = str(dashboard(app).header.render())
        assert "spent 2,240 tokens · $0.0042" in header
        grid = dashboard(app).grid
        top = "\n".join(grid.render_line(y).text for y in range(3))
        assert "attempt 1 of 3 · 10s · 1,120 tokens · $0.0021" in top


async def test_no_usage_reported_leaves_the_header_as_it_was() -> None:
    app = scenarios.mid_run().app
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "spent" not in str(dashboard(app).header.render())


async def test_a_rate_limited_branch_shows_its_reason_retrying_and_failed() -> None:
    app = scenarios.rate_limited().app
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        grid = dashboard(app).grid
        text = "\n".join(grid.render_line(y).text for y in range(grid.size.height))
        assert text.count(scenarios.RATE_LIMITED) == 2  # chapter-2 retrying, stats failed
        log = branch_log(dashboard(app).model.by_id["chapter-2"])
        assert any("rate limited · exit 1" in line for line, _ in log)


def _segment_with(grid_lines: list[list[Segment]], text: str) -> Segment:
    for segments in grid_lines:
        for segment in segments:
            if text in segment.text:
                return segment
    raise AssertionError(f"no segment with {text!r}")


async def test_a_signal_line_is_dimmed_on_the_panel() -> None:
    app = scenarios.rate_limited().app
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        grid = dashboard(app).grid
        lines = [list(grid.render_line(y)) for y in range(grid.size.height)]
        signal = _segment_with(lines, "::fanout::")
        ordinary = _segment_with(lines, "reading docs/ch1.md")
        dim = grid.get_component_rich_style("branch-grid--signal", partial=True)
        assert signal.style is not None and ordinary.style is not None
        assert signal.style.dim and not ordinary.style.dim
        assert signal.style.color == dim.color != ordinary.style.color


async def test_a_signal_line_is_dimmed_in_the_full_log() -> None:
    app = scenarios.rate_limited().app
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("right", "enter")  # chapter-1's log
        log = app.screen.query_one(LogView)
        kinds = {text: kind for text, kind in log._lines}
        assert kinds[USAGE_SIGNAL] is LineKind.SIGNAL
        index = [text for text, _ in log._lines].index(USAGE_SIGNAL)
        strip = log.render_line(index - int(log.scroll_y))
        style = next(s.style for s in strip if USAGE_SIGNAL[:10] in s.text)
        assert style is not None and style.dim


def test_usage_folds_per_branch_and_for_the_run() -> None:
    model = RunModel(make_plan(["a", "b"]))
    one = Usage(100, 20, 0.001)
    changes = model.apply(
        [
            usage_reported("a", one, run_total=one),
            usage_reported("b", one, run_total=one + one),
            usage_reported("a", one, branch_total=one + one, run_total=one + one + one),
        ]
    )
    assert changes.usage and changes.branches == {"a", "b"}
    assert model.by_id["a"].usage == one + one
    assert model.by_id["b"].usage == one
    assert model.usage is not None and model.usage.tokens == 360


async def test_a_stray_event_for_an_undeclared_resource_is_ignored() -> None:
    engine = ScriptedEngine(make_plan(["a"]), [ResourceResumed("nowhere", 1000.0)])
    app = scenarios.build(engine).app
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert not dashboard(app).model.resources
        assert dashboard(app).model.by_id["a"].status is S.PENDING
