"""The command palette (ctrl+p) offers every key of the contract, and its quit asks first."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from textual.command import CommandPalette

from fanout_tui.engine._events import BranchStatus as S
from fanout_tui.ui.app import FanoutApp
from fanout_tui.ui.screens.confirm_quit import ConfirmQuitScreen
from fanout_tui.ui.screens.dashboard import DashboardScreen
from fanout_tui.ui.screens.log_screen import LogScreen
from fanout_tui.ui.screens.merged_screen import MergedScreen
from fanout_tui.ui.widgets.log_view import LogView
from tests.ui import scenarios
from tests.ui.fakes import ScriptedEngine, make_plan, state
from tests.ui.scenarios import dashboard, palette_search, settle

pytestmark = pytest.mark.anyio
SIZE = (100, 32)

CONTRACT_KEYS = {"arrows", "r", "R", "c", "C", "enter", "/", "m", "s", "f", "q", "escape", "?"}
"""Every key DESIGN.md names for the dashboard (arrows standing for h j k l too)."""


def palette_entries(app: FanoutApp) -> dict[str, str]:
    """Title → help of every palette entry for the screen on top."""
    screen = app.screen
    entries = {command.title: command.help for command in app.get_system_commands(screen)}
    entries.update({command.title: command.help for command in app.branch_commands(screen)})
    return entries


def keys_named(entries: dict[str, str]) -> set[str]:
    """The keys the entries' help lines start with ("r · ...", "s on the merged ...")."""
    return {help_text.split(" ")[0] for help_text in entries.values()}


async def test_every_key_of_the_contract_is_in_the_palette(tmp_path: Path) -> None:
    app = scenarios.mid_run().app
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        seen = keys_named(palette_entries(app))
        await pilot.press("f")  # escape lists every branch again: offered while filtered
        seen |= keys_named(palette_entries(app))
        await pilot.press("escape", "enter")
        assert isinstance(app.screen, LogScreen)
        log_entries = palette_entries(app)
        assert {"Search the log", "Next match", "Previous match", "Back"} <= set(log_entries)
        seen |= keys_named(log_entries)
        await pilot.press("escape", "m")
        assert isinstance(app.screen, MergedScreen)
        assert palette_entries(app)["Save the merged result"].startswith("s ·")
        seen |= keys_named(palette_entries(app))
    assert not CONTRACT_KEYS - seen


async def test_the_palette_quit_asks_like_q_while_branches_run() -> None:
    scenario = scenarios.mid_run()
    app = scenario.app
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        quits = [c for c in app.get_system_commands(app.screen) if c.title == "Quit"]
        assert len(quits) == 1  # Textual's own, which quits without asking, is gone
        await pilot.press("ctrl+p")
        assert isinstance(app.screen, CommandPalette)
        await palette_search(pilot, "Quit")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmQuitScreen)
        await pilot.press("n")
        assert isinstance(app.screen, DashboardScreen)
        await pilot.press("ctrl+q")  # Textual's quit key asks too
        await pilot.pause()
        assert isinstance(app.screen, ConfirmQuitScreen)
        await pilot.press("n")
        assert ("shutdown",) not in scenario.engine.commands


async def test_the_palette_saves_the_merged_result(tmp_path: Path) -> None:
    target = tmp_path / "merged.json"
    app = scenarios.retry_fixes(output_path=target).app
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("l", "r")
        await settle(pilot)
        await pilot.press("ctrl+p")
        await palette_search(pilot, "Save the merged result")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, MergedScreen)
        assert list(json.loads(target.read_text(encoding="utf-8"))) == [
            "intro",
            "chapter-1",
            "chapter-2",
        ]


async def test_the_palette_goes_to_a_branch_even_one_the_filter_hides() -> None:
    app = scenarios.mid_run().app
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("f")  # failed only: chapter-2 is not listed
        await pilot.press("ctrl+p")
        await palette_search(pilot, "Go to chapter-2")
        await pilot.press("enter")
        await pilot.pause()
        current = dashboard(app).grid.current
        assert current is not None and current.id == "chapter-2"
        assert len(dashboard(app).grid.visible_ids) == 6


async def test_the_palette_searches_the_open_log(tmp_path: Path) -> None:
    app = scenarios.with_logs(tmp_path).app
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        await pilot.press("enter", "ctrl+p")
        await palette_search(pilot, "Search the log")
        await pilot.press("enter")
        await pilot.pause()
        await pilot.press(*"page 3", "enter")
        assert app.screen.query_one(LogView).search == "page 3"


async def test_palette_entries_speak_the_badges_words() -> None:
    plan = make_plan(["slow", "stopped", "waits"])
    events = [
        state("slow", S.TIMED_OUT, reason="timed out after 2m"),
        state("stopped", S.CANCELLED, reason="cancelled by the operator"),
        state("waits", S.WAITING, waiting_on="concurrency"),
    ]
    app = scenarios.build(ScriptedEngine(plan, events)).app
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        entries = palette_entries(app)
        assert entries["Retry slow"] == "r · slow timed out"
        assert entries["Retry stopped"] == "r · stopped was cancelled"
        assert entries["Cancel waits"] == "c · waits is waiting"
        assert not any("_" in help_text for help_text in entries.values())
