"""The dashboard follows the run: open screens update, reused results are marked, keys remap."""

from __future__ import annotations

from math import ceil

import pytest

from fanout_tui.engine._events import BranchStatus as S
from fanout_tui.engine._events import PolicyState as P
from fanout_tui.ui import frames
from fanout_tui.ui.app import FanoutApp, create_app
from fanout_tui.ui.frames import FRAME_SECONDS, LOG_RELOAD_FRAMES, LOG_RELOAD_SHARE
from fanout_tui.ui.screens.log_screen import LogScreen
from fanout_tui.ui.screens.merged_screen import MergedScreen
from fanout_tui.ui.widgets.log_view import LogView
from tests.ui import scenarios
from tests.ui.fakes import FixedClock, ScriptedEngine, make_plan, merge_state, output, state
from tests.ui.scenarios import build, dashboard, settle

pytestmark = pytest.mark.anyio
SIZE = (100, 32)


def grid_text(app: FanoutApp) -> str:
    """What the branch grid shows, as plain text."""
    grid = dashboard(app).grid
    return "\n".join(grid.render_line(y).text for y in range(grid.size.height))


async def test_a_reused_result_is_marked_and_shown_on_its_panel_and_in_its_log() -> None:
    plan = make_plan(["cached", "fresh"])
    app = build(ScriptedEngine(plan, [state("cached", S.SUCCEEDED, reused=True)])).app
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "♻ reused" in grid_text(app)
        assert "cached's earlier result" in grid_text(app)  # the run printed nothing for it
        await pilot.press("enter")
        assert isinstance(app.screen, LogScreen)
        texts = [text for text, _ in app.screen.query_one(LogView)._lines]
        assert texts == [
            "(reused from run d34020ff3f7b · 1 attempt · 1.5s)",
            "── result ──",
            "cached's earlier result",
        ]


async def test_what_a_resume_did_is_told_when_the_dashboard_opens() -> None:
    plan = make_plan(["a"])
    app = create_app(
        ScriptedEngine(plan, []),
        clock=FixedClock(1000.0),
        notices=["ended 2 process groups that an interrupted run left running"],
    )
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        messages = [n.message for n in app._notifications]
        assert messages == ["Ended 2 process groups that an interrupted run left running."]


async def test_the_open_log_follows_new_output() -> None:
    scenario = scenarios.mid_run()
    app, engine = scenario.app, scenario.engine
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("l", "enter")
        assert isinstance(app.screen, LogScreen)
        engine.emit(output("chapter-1", ["a brand new line"]))
        for _ in range(LOG_RELOAD_FRAMES + 1):
            app.draw_frame()
        await pilot.pause()
        texts = [text for text, _ in app.screen.query_one(LogView)._lines]
        assert "a brand new line" in texts


async def test_a_log_that_is_slow_to_reload_reloads_less_often(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    scenario = scenarios.mid_run()
    app, engine = scenario.app, scenario.engine
    ticks = iter(range(0, 10_000, 2))  # every reload "takes" 2 s
    monkeypatch.setattr(frames, "perf_counter", lambda: float(next(ticks)))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("l", "enter")
        log = app.screen.query_one(LogView)

        def texts() -> list[str]:
            return [text for text, _ in log._lines]

        engine.emit(output("chapter-1", ["first"]))
        for _ in range(LOG_RELOAD_FRAMES + 1):
            app.draw_frame()
            if "first" in texts():
                break
        assert "first" in texts()
        engine.emit(output("chapter-1", ["second"]))
        slow = ceil(2 / FRAME_SECONDS / LOG_RELOAD_SHARE)
        for _ in range(slow - 1):
            app.draw_frame()
        assert "second" not in texts()  # 2 s of reading may cost a tenth of the time at most
        app.draw_frame()
        assert "second" in texts()


async def test_the_open_merged_screen_follows_the_merge() -> None:
    scenario = scenarios.blocked()
    app, engine = scenario.app, scenario.engine
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("m")
        assert isinstance(app.screen, MergedScreen)
        assert "Blocked" in str(app.screen.query_one("#merged-title").render())
        engine.emit(merge_state(P.MERGED, merged={"everything": True}))
        await settle(pilot)
        assert "complete" in str(app.screen.query_one("#merged-title").render())
        assert "everything" in str(app.screen.query_one("#merged-body").render())


async def test_keys_can_be_remapped_by_binding_id() -> None:
    scenario = scenarios.blocked()
    app, engine = scenario.app, scenario.engine
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.set_keymap({"fanout.retry": "x"})
        await pilot.press("l", "x")
        assert engine.commands == [("retry", "chapter-1")]


async def test_the_cursor_stays_visible_while_moving_through_a_thousand_branches() -> None:
    app = scenarios.thousand().app
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        assert dashboard(app).grid.layout_mode == "dense"
        await pilot.press("end")
        current = dashboard(app).grid.current
        assert current is not None and current.id == "item-0999"
        assert dashboard(app).grid.scroll_y == dashboard(app).grid.max_scroll_y > 0
        assert "item-0999" in grid_text(app)
        await pilot.press("pageup", "home")
        assert dashboard(app).grid.scroll_y == 0


async def test_a_grid_draws_only_the_rows_on_screen() -> None:
    app = scenarios.thousand().app
    drawn: list[int] = []
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        original = dashboard(app).grid.render_line

        def counting(y: int):  # type: ignore[no-untyped-def]
            drawn.append(y)
            return original(y)

        dashboard(app).grid.render_line = counting  # type: ignore[method-assign]
        dashboard(app).grid.refresh()
        await pilot.pause()
        height = dashboard(app).grid.size.height
    assert 0 < len(drawn) <= height < 1000


async def test_output_of_many_panels_is_drawn_a_few_times_a_second_and_states_at_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ids = [f"w{n:03d}" for n in range(100)]
    engine = ScriptedEngine(make_plan(ids), [state(b, S.RUNNING) for b in ids])
    app = build(engine).app
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        drawn: list[set[str]] = []
        grid = dashboard(app).grid
        monkeypatch.setattr(grid, "branches_changed", lambda ids: drawn.append(set(ids)))
        wait = 100 // frames.OUTPUT_ROWS_PER_FRAME
        engine.emit(*(output(b, ["busy"]) for b in ids))
        app.draw_frame()
        assert drawn == [set(ids)]  # the first news after a quiet spell shows at once
        engine.emit(*(output(b, ["busier"]) for b in ids))
        for _ in range(wait - 1):
            app.draw_frame()
        assert len(drawn) == 1  # held back: keys get those frames
        app.draw_frame()
        assert drawn[-1] == set(ids)
        engine.emit(output("w001", ["more"]), state("w002", S.SUCCEEDED))
        app.draw_frame()
        assert drawn[-1] == {"w001", "w002"}  # a state change shows at once, with the output
