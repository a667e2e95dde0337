"""What the dashboard looks like, at fixed sizes, with a fixed clock and scripted branches."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from tests.ui import scenarios
from tests.ui.scenarios import Scenario, settle

SnapCompare = Callable[..., bool]
SIZE = (100, 32)


def keys(*presses: str) -> Callable[[Pilot[Any]], Any]:
    """Settle the script, press ``presses``, settle again."""

    async def run_before(pilot: Pilot[Any]) -> None:
        await settle(pilot)
        for key in presses:
            await pilot.press(key)
            await settle(pilot)

    return run_before


def check(
    snap_compare: SnapCompare, scenario: Scenario, *presses: str, size: tuple[int, int] = SIZE
) -> None:
    assert snap_compare(scenario.app, terminal_size=size, run_before=keys(*presses))


def test_start_with_pending_branches(snap_compare: SnapCompare) -> None:
    check(snap_compare, scenarios.pending())


def test_mid_run(snap_compare: SnapCompare) -> None:
    check(snap_compare, scenarios.mid_run())


def test_all_or_nothing_blocked(snap_compare: SnapCompare) -> None:
    check(snap_compare, scenarios.blocked(), "j")


def test_best_effort_merged_with_a_flag(snap_compare: SnapCompare) -> None:
    check(snap_compare, scenarios.best_effort_flagged())


def test_after_a_retry_succeeds_the_merge_updates(snap_compare: SnapCompare) -> None:
    check(snap_compare, scenarios.retry_fixes(), "l", "r")


def test_log_screen_with_a_search_hit(snap_compare: SnapCompare, tmp_path: Path) -> None:
    check(snap_compare, scenarios.with_logs(tmp_path), "enter", "slash", *"refused", "enter", "n")


def test_merged_screen(snap_compare: SnapCompare) -> None:
    check(snap_compare, scenarios.best_effort_flagged(), "m")


def test_help_screen(snap_compare: SnapCompare) -> None:
    check(snap_compare, scenarios.mid_run(), "question_mark")


@pytest.mark.parametrize("theme", ["fanout-dark", "fanout-light", "fanout-high-contrast"])
def test_shipped_theme(snap_compare: SnapCompare, theme: str) -> None:
    check(snap_compare, scenarios.mid_run(theme=theme))


def test_small_terminal(snap_compare: SnapCompare) -> None:
    check(snap_compare, scenarios.mid_run(), size=(80, 24))


def test_dense_layout_with_a_thousand_branches(snap_compare: SnapCompare) -> None:
    check(snap_compare, scenarios.thousand(), size=(140, 40))


def test_failed_filter(snap_compare: SnapCompare) -> None:
    check(snap_compare, scenarios.mid_run(), "f")


def test_resources_view_with_a_paused_adaptive_budgeted_resource(snap_compare: SnapCompare) -> None:
    check(snap_compare, scenarios.rate_limited(), "u")


def test_dashboard_with_usage_and_a_resource_strip(snap_compare: SnapCompare) -> None:
    check(snap_compare, scenarios.rate_limited())


def test_resources_on_a_small_terminal(snap_compare: SnapCompare) -> None:
    check(snap_compare, scenarios.rate_limited(), size=(80, 24))
