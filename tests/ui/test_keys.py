"""Every dashboard key: what the engine is told and what the screen shows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from textual.command import CommandPalette
from textual.widgets import Footer, Input
from textual.widgets._footer import FooterKey

from fanout_tui.engine._events import BranchStatus as S
from fanout_tui.engine._events import PolicyState as P
from fanout_tui.ui.app import FanoutApp
from fanout_tui.ui.branch_filter import BranchFilter
from fanout_tui.ui.screens.confirm_quit import ConfirmQuitScreen
from fanout_tui.ui.screens.dashboard import DashboardScreen
from fanout_tui.ui.screens.help_screen import HelpScreen
from fanout_tui.ui.screens.log_screen import LogScreen
from fanout_tui.ui.screens.merged_screen import MergedScreen, SavePathScreen
from fanout_tui.ui.widgets.log_view import LogView
from tests.ui import scenarios
from tests.ui.fakes import ScriptedEngine, make_plan, merge_state, state
from tests.ui.scenarios import dashboard, palette_search, settle

SIZE = (100, 32)

pytestmark = pytest.mark.anyio


def focused(app: FanoutApp) -> str | None:
    view = dashboard(app).grid.current
    return view.id if view else None


def footer_keys(app: FanoutApp) -> set[str]:
    """Keys the footer offers right now (enabled and shown)."""
    return {
        key
        for key, active in app.screen.active_bindings.items()
        if active.binding.show and active.enabled
    }


async def test_first_branch_has_focus_and_arrows_and_hjkl_move() -> None:
    app = scenarios.mid_run().app
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert focused(app) == "intro"
        assert dashboard(app).grid.has_focus
        moves = [
            ("l", "chapter-1"),
            ("j", "chapter-3"),
            ("h", "chapter-2"),
            ("k", "intro"),
            ("right", "chapter-1"),
            ("down", "chapter-3"),
            ("left", "chapter-2"),
            ("up", "intro"),
            ("end", "outro"),
            ("home", "intro"),
        ]
        for key, expected in moves:
            await pilot.press(key)
            assert focused(app) == expected, key
        await pilot.press("k")  # at the top edge nothing moves
        assert focused(app) == "intro"


async def test_r_retries_the_focused_branch_only_where_it_can_act() -> None:
    scenario = scenarios.retry_fixes()
    app, engine = scenario.app, scenario.engine
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "r" not in footer_keys(app)  # intro succeeded: nothing to retry
        await pilot.press("r")
        assert engine.commands == []
        await pilot.press("l")
        assert focused(app) == "chapter-1"
        assert "r" in footer_keys(app)
        await pilot.press("r")
        await settle(pilot)
        assert engine.commands == [("retry", "chapter-1")]
        assert dashboard(app).model.by_id["chapter-1"].status is S.SUCCEEDED
        assert dashboard(app).model.merge.state is P.MERGED
        assert "r" not in footer_keys(app)
        assert "Merged result — complete" in str(dashboard(app).preview.render())


async def test_capital_r_retries_every_failed_branch() -> None:
    scenario = scenarios.blocked()
    async with scenario.app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("R")
        await pilot.pause()
        assert scenario.engine.commands == [("retry_failed",)]
        assert any("Retrying 2 branches" in n.message for n in scenario.app._notifications)


async def test_c_cancels_the_focused_branch_only_while_it_is_active() -> None:
    scenario = scenarios.mid_run()
    app, engine = scenario.app, scenario.engine
    engine.on_cancel["chapter-1"] = [
        state("chapter-1", S.CANCELLED, reason="cancelled by the operator")
    ]
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "c" not in footer_keys(app)  # intro already succeeded
        await pilot.press("c")
        assert engine.commands == []
        await pilot.press("l", "c")
        await settle(pilot)
        assert engine.commands == [("cancel", "chapter-1")]
        assert dashboard(app).model.by_id["chapter-1"].status is S.CANCELLED
        assert "c" not in footer_keys(app)
        assert "r" in footer_keys(app)  # a cancelled branch can be retried


async def test_capital_c_cancels_everything_active() -> None:
    scenario = scenarios.mid_run()
    async with scenario.app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("C")
        await pilot.pause()
        assert scenario.engine.commands == [("cancel_all",)]
        assert any("Cancelling 4 branches" in n.message for n in scenario.app._notifications)


async def test_all_branch_keys_show_only_while_they_can_act() -> None:
    scenario = scenarios.retry_fixes()
    app = scenario.app
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert "R" in footer_keys(app) and "C" not in footer_keys(app)  # nothing is active
        await pilot.press("l", "r")
        await settle(pilot)
        assert not {"R", "C"} & footer_keys(app)  # nothing failed, nothing active
        footer = {key for key, active in app.screen.active_bindings.items() if active.binding.show}
        assert not {"R", "C"} & footer  # hidden, not merely dimmed: the footer has no room


async def test_r_runs_a_reused_branch_afresh() -> None:
    scenario = scenarios.build(
        ScriptedEngine(
            make_plan(["cached", "fresh"]),
            [state("cached", S.SUCCEEDED, reused=True), state("fresh", S.RUNNING)],
        )
    )
    app, engine = scenario.app, scenario.engine
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert focused(app) == "cached" and "r" in footer_keys(app)
        titles = [command.title for command in app.branch_commands(app.screen)]
        assert "Retry cached" in titles and "Cancel fresh" in titles
        await pilot.press("r")
        assert engine.commands == [("retry", "cached")]


async def test_at_80_columns_every_key_fits_and_the_palette_hint_gives_way() -> None:
    app = scenarios.mid_run().app
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        footer = app.screen.query_one(Footer)
        assert not footer.show_command_palette
        keys = [key for key in footer.query(FooterKey) if key.display]
        assert keys[-1].key == "q"
        assert max(key.region.right for key in keys) <= 80
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        assert app.screen.query_one(Footer).show_command_palette


async def test_enter_opens_the_full_log_and_slash_n_capital_n_search_it(tmp_path: Path) -> None:
    app = scenarios.with_logs(tmp_path).app
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("enter")
        assert isinstance(app.screen, LogScreen)
        log = app.screen.query_one(LogView)
        texts = [text for text, _ in log._lines]
        assert "attempt 3: fetched page 5" in texts
        assert "warning: slow response" in texts
        assert "reason: exit code 1: connection refused" in texts
        assert '"doc": "report"' in " ".join(texts)  # the result
        await pilot.press("slash")
        assert app.screen.query_one(Input).has_focus
        await pilot.press(*"page 3", "enter")
        assert log.search == "page 3"
        assert len(log.hits) == 3 and log.hit == 0
        await pilot.press("n")
        assert log.hit == 1
        await pilot.press("N", "N")
        assert log.hit == 2  # wraps around
        status = str(app.screen.query_one("#log-status").render())
        assert "match 3 of 3" in status
        await pilot.press("escape")
        assert isinstance(app.screen, DashboardScreen)


async def test_a_slash_typed_into_the_search_box_is_text(tmp_path: Path) -> None:
    app = scenarios.with_logs(tmp_path).app
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("enter", "slash", "a", "slash", "b", "enter")
        assert app.screen.query_one(LogView).search == "a/b"


async def test_m_shows_the_merged_result_and_s_saves_it_to_the_spec_output(
    tmp_path: Path,
) -> None:
    target = tmp_path / "out" / "merged.json"
    app = scenarios.retry_fixes(output_path=target).app
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("m")
        assert isinstance(app.screen, MergedScreen)
        await pilot.press("s")  # blocked: nothing to save yet
        assert not target.exists()
        await pilot.press("escape", "l", "r")
        await settle(pilot)
        await pilot.press("m", "s")
        saved = json.loads(target.read_text(encoding="utf-8"))
        assert list(saved) == ["intro", "chapter-1", "chapter-2"]
        await pilot.press("escape")
        assert isinstance(app.screen, DashboardScreen)


async def test_s_asks_for_a_path_when_the_spec_names_none(tmp_path: Path) -> None:
    app = scenarios.best_effort_flagged().app
    target = tmp_path / "partial.json"
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("m", "s")
        assert isinstance(app.screen, SavePathScreen)
        app.screen.query_one(Input).value = str(target)
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, MergedScreen)
        assert json.loads(target.read_text(encoding="utf-8"))["chapter-3"]["doc"] == "chapter-3"


async def test_f_cycles_the_filter_and_escape_shows_all_again() -> None:
    app = scenarios.mid_run().app
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert len(dashboard(app).grid.visible_ids) == 6
        await pilot.press("f")
        assert dashboard(app).grid.branch_filter is BranchFilter.FAILED
        assert dashboard(app).grid.visible_ids == ["stats"]
        assert focused(app) == "stats"
        assert "showing failed" in str(dashboard(app).header.render())
        await pilot.press("f")
        assert dashboard(app).grid.visible_ids == ["chapter-1", "chapter-2", "chapter-3"]
        await pilot.press("f")
        assert len(dashboard(app).grid.visible_ids) == 6
        await pilot.press("f", "escape")
        assert dashboard(app).grid.branch_filter is BranchFilter.ALL


async def test_question_mark_opens_help_and_escape_closes_it() -> None:
    app = scenarios.mid_run().app
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        assert "retry every failed branch" in str(app.screen.query_one("#help-text").render())
        await pilot.press("escape")
        assert isinstance(app.screen, DashboardScreen)


async def test_q_asks_while_branches_run_and_quits_with_the_outcome() -> None:
    scenario = scenarios.mid_run()
    app, engine = scenario.app, scenario.engine
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("q")
        assert isinstance(app.screen, ConfirmQuitScreen)
        await pilot.press("n")
        assert isinstance(app.screen, DashboardScreen)
        assert ("shutdown",) not in engine.commands
        await pilot.press("q", "y")
        await pilot.pause()
    assert ("shutdown",) in engine.commands
    assert engine.interrupted is True
    assert app.return_value is not None and app.return_value.exit_code == 130


async def test_a_quit_signal_quits_and_a_second_one_kills_what_still_runs() -> None:
    scenario = scenarios.mid_run()
    app, engine = scenario.app, scenario.engine
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.quit_on_signal()  # as SIGTERM would: no question
        assert engine.commands.count(("shutdown",)) == 1
        assert ("kill_now",) not in engine.commands
        app.quit_on_signal()
        await pilot.pause()
    assert engine.commands[-2:] == [("shutdown",), ("kill_now",)]
    assert engine.interrupted is True


async def test_q_or_ctrl_c_again_while_quitting_kills_what_still_runs() -> None:
    scenario = scenarios.mid_run()
    app, engine = scenario.app, scenario.engine
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        app.begin_quit()  # as after q, y: the branches are being ended
        app.action_request_quit()  # what q and ctrl+c do
        assert not isinstance(app.screen, ConfirmQuitScreen)  # no second question
        await pilot.pause()
    assert engine.commands[-2:] == [("shutdown",), ("kill_now",)]


async def test_q_quits_at_once_when_everything_settled() -> None:
    scenario = scenarios.retry_fixes()
    app, engine = scenario.app, scenario.engine
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("l", "r")
        await settle(pilot)
        await pilot.press("q")
        await pilot.pause()
    assert engine.interrupted is False
    assert app.return_value is not None
    assert app.return_value.merge.state is P.MERGED


async def test_quitting_a_blocked_run_with_nothing_left_to_run_is_no_interruption() -> None:
    scenario = scenarios.blocked()
    async with scenario.app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("q")  # nothing runs: no question
        await pilot.pause()
    assert scenario.engine.interrupted is False  # the run exits 1, as headless would


async def test_palette_retries_and_cancels_single_branches() -> None:
    scenario = scenarios.mid_run()
    app, engine = scenario.app, scenario.engine
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        titles = [command.title for command in app.branch_commands(app.screen)]
        assert "Retry stats" in titles and "Cancel stats" not in titles
        assert "Cancel chapter-1" in titles and "Retry chapter-1" not in titles
        await pilot.press("ctrl+p")
        assert isinstance(app.screen, CommandPalette)
        await palette_search(pilot, "Retry stats")
        await pilot.press("enter")
        await pilot.pause()
        assert engine.commands == [("retry", "stats")]
        await pilot.press("ctrl+p")
        await palette_search(pilot, "Cancel chapter-1")
        await pilot.press("enter")
        await pilot.pause()
        assert engine.commands[-1] == ("cancel", "chapter-1")


async def test_mouse_click_focuses_a_panel() -> None:
    app = scenarios.mid_run().app
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.click("#branches", offset=(60, 9))
        assert focused(app) == "chapter-3"


async def test_a_merge_failure_shows_its_error() -> None:
    scenario = scenarios.blocked()
    async with scenario.app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        scenario.engine.emit(merge_state(P.MERGE_FAILED, error="key 'doc' conflicts"))
        await settle(pilot)
        assert "key 'doc' conflicts" in str(dashboard(scenario.app).preview.render())
        assert "merge failed" in str(dashboard(scenario.app).header.render())


async def test_ctrl_c_asks_like_q_and_only_once() -> None:
    scenario = scenarios.mid_run()
    app = scenario.app
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+c")
        assert isinstance(app.screen, ConfirmQuitScreen)
        await pilot.press("ctrl+c")
        assert len(app.screen_stack) == 2
        await pilot.press("escape")
        assert isinstance(app.screen, DashboardScreen)
        assert scenario.engine.commands == []
