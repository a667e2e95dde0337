"""A key that cannot act says why, in words that match the branch as it is right now."""

from __future__ import annotations

import pytest

from fanout_tui.engine._events import BranchStatus as S
from fanout_tui.ui.app import FanoutApp
from fanout_tui.ui.screens.merged_screen import MergedScreen
from tests.ui import scenarios
from tests.ui.fakes import ScriptedEngine, make_plan, started, state
from tests.ui.scenarios import dashboard, settle

pytestmark = pytest.mark.anyio
SIZE = (100, 32)


def said(app: FanoutApp) -> list[str]:
    """Every notification so far, oldest first."""
    return [notification.message for notification in app._notifications]


async def test_r_on_a_running_branch_says_that_c_cancels_it() -> None:
    scenario = scenarios.mid_run()
    app = scenario.app
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("l", "r")  # chapter-1 runs
        await pilot.pause()
        assert said(app) == ["chapter-1 is running; c cancels it."]
        assert scenario.engine.commands == []  # the engine is not asked for nothing


async def test_c_on_a_settled_branch_says_there_is_nothing_to_cancel() -> None:
    app = scenarios.mid_run().app
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("c")  # intro succeeded
        await pilot.press("end", "h", "c")  # stats failed
        await pilot.pause()
        assert said(app) == [
            "intro succeeded; there is nothing to cancel.",
            "stats failed; there is nothing to cancel (r retries it).",
        ]


async def test_capital_r_and_c_with_nothing_to_act_on_say_so() -> None:
    scenario = scenarios.retry_fixes()
    app = scenario.app
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("C")
        await pilot.press("l", "r")
        await settle(pilot)
        await pilot.press("R")
        await pilot.pause()
        assert said(app) == [
            "Nothing to cancel: every branch has settled.",
            "Nothing to retry: no branch failed, timed out or was cancelled.",
        ]


async def test_the_palette_retry_all_with_none_failed_says_there_is_nothing_to_retry() -> None:
    app = scenarios.pending().app
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        dashboard(app).action_retry_failed()
        await pilot.pause()
        assert said(app) == ["Nothing to retry: no branch failed, timed out or was cancelled."]


async def test_retry_pressed_again_before_a_frame_speaks_of_the_branch_as_it_is_now() -> None:
    """``r r r`` on a cancelled branch: the first retries it; the others must not call it
    cancelled (the engine's news had not been drawn yet, and the words came from there)."""
    plan = make_plan(["stubborn"])
    engine = ScriptedEngine(
        plan,
        [state("stubborn", S.CANCELLED, reason="cancelled by the operator")],
        on_retry={"stubborn": [state("stubborn", S.RUNNING, attempt=2), started("stubborn", 2)]},
    )
    app = scenarios.build(engine).app
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        for _ in range(3):  # no frame in between: as fast as the keys can come
            dashboard(app).action_retry_branch()
        assert engine.commands == [("retry", "stubborn")] * 3
        await pilot.pause()
        assert said(app) == ["stubborn is running; c cancels it."] * 2
        await pilot.press("r")  # and the key, now hidden from the footer, says the same
        await pilot.pause()
        assert said(app)[-1] == "stubborn is running; c cancels it."


async def test_a_hidden_key_acts_if_the_engine_moved_on_since_the_last_frame() -> None:
    scenario = scenarios.mid_run()
    app, engine = scenario.app, scenario.engine
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("l")
        engine.emit(state("chapter-1", S.FAILED, reason="exit code 1"))  # not drawn yet
        dashboard(app).action_anyway("retry_branch")
        assert engine.commands == [("retry", "chapter-1")]


async def test_cancel_pressed_twice_says_the_branch_is_being_cancelled() -> None:
    scenario = scenarios.mid_run()
    app, engine = scenario.app, scenario.engine
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("l")
        engine.statuses["chapter-1"] = S.SUCCEEDED  # the engine refuses: it is stopping it
        dashboard(app).action_cancel_branch()
        await pilot.pause()
        assert said(app) == ["chapter-1 is running and is already being cancelled."]


async def test_s_on_an_incomplete_merge_says_why_nothing_is_saved() -> None:
    app = scenarios.blocked().app
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("m")
        assert isinstance(app.screen, MergedScreen)
        assert "s" not in {
            key for key, active in app.screen.active_bindings.items() if active.binding.show
        }
        await pilot.press("s")
        await pilot.pause()
        assert said(app) == ["The policy is not satisfied, so there is no merged result to save."]


async def test_cancelling_a_running_branch_says_its_processes_are_being_ended() -> None:
    scenario = scenarios.mid_run()
    app = scenario.app
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("l", "c")  # chapter-1 runs
        await pilot.pause()
        assert said(app) == ["Cancelling chapter-1: SIGTERM now, SIGKILL after its grace period."]
        assert scenario.engine.commands == [("cancel", "chapter-1")]
