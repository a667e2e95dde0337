"""What a panel says: what a branch waits on, and titles that keep every character whole."""

from __future__ import annotations

from dataclasses import replace

import pytest

from fanout_tui.engine._events import BranchStatus as S
from fanout_tui.ui.app import FanoutApp
from fanout_tui.ui.badges import fit
from fanout_tui.ui.model import RunModel
from tests.ui.fakes import ScriptedEngine, make_plan, state
from tests.ui.scenarios import build, dashboard, settle

pytestmark = pytest.mark.anyio
SIZE = (100, 32)
FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"
"""👨‍👩‍👧‍👦: four people joined by zero-width joiners, one character two cells wide."""


def grid_text(app: FanoutApp) -> str:
    grid = dashboard(app).grid
    return "\n".join(grid.render_line(y).text for y in range(grid.size.height))


async def test_a_branch_waiting_on_the_global_cap_says_so_in_words() -> None:
    plan = make_plan(["capped", "queued"])
    events = [
        state("capped", S.WAITING, attempt=0, waiting_on="concurrency"),
        state("queued", S.WAITING, attempt=0, waiting_on="llm-api"),
    ]
    app = build(ScriptedEngine(plan, events)).app
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        text = grid_text(app)
        assert "waits on the global cap" in text
        assert "waits on llm-api" in text
        assert "waits on concurrency" not in text


def test_a_resource_named_concurrency_keeps_its_name_where_a_branch_uses_it() -> None:
    plan = make_plan(["a"])
    plan = replace(plan, branches=(replace(plan.branches[0], uses=("concurrency",)),))
    model = RunModel(plan)
    model.apply([state("a", S.WAITING, waiting_on="concurrency")])
    assert model.by_id["a"].waiting_for == "concurrency"


async def test_a_title_with_a_joined_emoji_keeps_every_person() -> None:
    plan = make_plan(["family", "short"], titles={"family": f"family {FAMILY} photos"})
    app = build(ScriptedEngine(plan, [state("family", S.RUNNING)])).app
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot)
        assert f"family {FAMILY} photos" in dashboard(app).grid.render_line(0).text
        assert dashboard(app).grid.render_line(0).cell_length == SIZE[0]


def test_cutting_a_title_never_splits_a_joined_emoji() -> None:
    title = f"family {FAMILY} x"
    assert fit(title, 11) == title
    assert fit(title, 10) == f"family {FAMILY}…"
    assert fit(title, 9) == "family  …"  # no room for two cells: the whole emoji goes
