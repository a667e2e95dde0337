"""Frames: the engine's events reach every screen that follows the run, in batches."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from textual.app import App
from textual.screen import Screen

from fanout_tui.engine._events import BranchStatus as S
from fanout_tui.ui.frames import Frame, FrameFeed
from fanout_tui.ui.model import RunModel
from fanout_tui.ui.screens.dashboard import DashboardScreen
from fanout_tui.ui.theming import status_colour_defaults
from tests.ui.fakes import FixedClock, ScriptedEngine, make_plan, output, state

pytestmark = pytest.mark.anyio
UI = Path(__file__).parents[2] / "fanout_tui" / "ui"


class Host(App[None]):
    """An app that shows one screen, with the dashboard's status colours."""

    def __init__(self, screen: Screen[None]) -> None:
        super().__init__()
        self._screen = screen

    def get_default_screen(self) -> Screen[None]:
        return self._screen

    def get_css_variables(self) -> dict[str, str]:
        variables = super().get_css_variables()
        return {**status_colour_defaults(variables), **variables}


async def test_a_dashboard_opened_after_the_first_frames_shows_the_run_as_it_is() -> None:
    engine = ScriptedEngine(make_plan(["a", "b"]))
    clock = FixedClock(1000.0)
    feed = FrameFeed(RunModel(engine.plan), clock)
    feed.add(state("a", S.FAILED, reason="exit code 1"))
    feed.draw()  # nothing follows the feed yet
    dashboard = DashboardScreen(engine, feed, clock.now)
    async with Host(dashboard).run_test(size=(100, 32)) as pilot:
        await pilot.pause()
        assert "1 failed" in str(dashboard.header.render())


def test_every_follower_gets_every_frame_until_it_stops_following() -> None:
    feed = FrameFeed(RunModel(make_plan(["a"])), FixedClock(1000.0))
    seen: list[Frame] = []
    feed.subscribe(seen.append)
    feed.add(output("a", ["hello"]))
    feed.draw()
    feed.draw()  # nothing new: followers still hear of it (an open log may be due)
    feed.unsubscribe(seen.append)
    feed.draw()
    assert [frame.number for frame in seen] == [1, 2]
    assert seen[0].news.branches == {"a"} and not seen[1].news


def test_only_the_package_face_imports_the_app_module() -> None:
    importers = []
    for path in UI.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "fanout_tui.ui.app":
                importers.append(path.relative_to(UI).as_posix())
    assert importers == ["__init__.py"]
