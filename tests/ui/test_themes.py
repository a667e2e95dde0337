"""Themes: shipped files, the user's folder, broken files, built-in themes, live switching."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from textual.theme import BUILTIN_THEMES

from fanout_tui.bundled import data_dir
from fanout_tui.ui.app import create_app
from fanout_tui.ui.theming import (
    STATUS_VARIABLES,
    ThemeError,
    discover_themes,
    load_theme_file,
    theme_dirs,
    user_theme_dir,
)
from tests.ui.fakes import ScriptedEngine, make_plan
from tests.ui.scenarios import dashboard, settle

pytestmark = pytest.mark.anyio

SHIPPED = sorted(data_dir("themes").glob("*.yaml"))


def test_at_least_three_shipped_themes_all_valid_with_every_status_colour() -> None:
    names = {load_theme_file(path).name for path in SHIPPED}
    assert {"fanout-dark", "fanout-light", "fanout-high-contrast"} <= names
    for path in SHIPPED:
        theme = load_theme_file(path)
        assert set(STATUS_VARIABLES) <= set(theme.variables), path.name


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: x\nprimary: not-a-colour\n", "primary: colour 'not-a-colour' is not a colour"),
        ("name: x\n", "primary: Field required"),
        ("name: x\nprimary: '#fff'\nprimry: '#000'\n", "primry: Extra inputs"),
        ("name: [x\n", "is not valid YAML at line"),
        ("- a list\n", "must be a mapping"),
        ("name: x\nprimary: '#fff'\nvariables: {branch-failed: nope}\n", "branch-failed"),
    ],
)
def test_a_broken_theme_file_gets_one_sentence(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ThemeError) as caught:
        load_theme_file(path)
    assert message in str(caught.value)
    assert str(path) in str(caught.value)


def test_user_themes_come_from_the_config_folder(tmp_path: Path) -> None:
    assert user_theme_dir() == Path(os.environ["XDG_CONFIG_HOME"]) / "fanout-tui" / "themes"
    assert theme_dirs() == (data_dir("themes"), user_theme_dir())


async def test_a_user_theme_is_registered_and_a_broken_one_is_reported() -> None:
    folder = user_theme_dir()
    folder.mkdir(parents=True)
    (folder / "mine.yaml").write_text(
        "name: mine\nprimary: '#123456'\nvariables: {branch-running: '#00ff00'}\n",
        encoding="utf-8",
    )
    (folder / "broken.yaml").write_text("name: broken\nprimary: 12\n", encoding="utf-8")
    app = create_app(ScriptedEngine(make_plan(["a"])), theme="mine")
    app.animation_level = "none"
    async with app.run_test() as pilot:
        await settle(pilot)
        assert app.theme == "mine"
        assert app.theme_variables["branch-running"] == "#00ff00"
        messages = [n.message for n in app._notifications]
        assert any("broken.yaml" in m for m in messages)


async def test_an_unknown_theme_falls_back_with_a_note() -> None:
    app = create_app(ScriptedEngine(make_plan(["a"])), theme="no-such-theme")
    app.animation_level = "none"
    async with app.run_test() as pilot:
        await settle(pilot)
        assert app.theme == "fanout-dark"
        assert any("no-such-theme" in n.message for n in app._notifications)


async def test_built_in_themes_get_status_colours_from_their_own_palette() -> None:
    app = create_app(ScriptedEngine(make_plan(["a"])), theme="nord")
    app.animation_level = "none"
    async with app.run_test() as pilot:
        await settle(pilot)
        nord = BUILTIN_THEMES["nord"].to_color_system().generate()
        assert app.theme_variables["branch-succeeded"] == nord["success"]
        assert app.theme_variables["branch-failed"] == nord["error"]
        assert app.theme_variables["branch-running"] == nord["accent"]


async def test_switching_theme_live_restyles_the_status_colours() -> None:
    app = create_app(ScriptedEngine(make_plan(["a"])))
    app.animation_level = "none"
    async with app.run_test() as pilot:
        await settle(pilot)
        dark = app.theme_variables["branch-failed"]
        app.theme = "fanout-high-contrast"
        await settle(pilot)
        assert app.theme_variables["branch-failed"] == "#D55E00"
        assert app.theme_variables["branch-failed"] != dark
        style = dashboard(app).grid.get_component_rich_style("status--failed")
        assert style.color is not None and style.color.triplet is not None
        assert style.color.triplet.hex.upper() == "#D55E00"


def test_discovery_skips_missing_folders(tmp_path: Path) -> None:
    catalogue = discover_themes((tmp_path / "absent", data_dir("themes")))
    assert len(catalogue.themes) == len(SHIPPED)
    assert catalogue.problems == []
