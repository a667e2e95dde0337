"""Themes: YAML files read through a validated model into Textual themes.

Shipped themes live in the package's ``themes/`` folder; users add their own in
``$XDG_CONFIG_HOME/fanout-tui/themes`` (``~/.config/fanout-tui/themes`` by default). A
broken file never stops the dashboard: it is reported and skipped.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from textual.color import Color, ColorParseError
from textual.theme import Theme

from fanout_tui.bundled import data_dir
from fanout_tui.engine import BranchStatus
from fanout_tui.ui.badges import status_variable

STATUS_BASE_COLOURS: dict[BranchStatus, str] = {
    BranchStatus.PENDING: "foreground-muted",
    BranchStatus.WAITING: "secondary",
    BranchStatus.RUNNING: "accent",
    BranchStatus.RETRYING: "warning",
    BranchStatus.SUCCEEDED: "success",
    BranchStatus.FAILED: "error",
    BranchStatus.TIMED_OUT: "warning",
    BranchStatus.CANCELLED: "secondary-lighten-2",
}
"""Which colour of a theme each status borrows when the theme does not set its own."""

STATUS_VARIABLES: tuple[str, ...] = tuple(status_variable(s) for s in STATUS_BASE_COLOURS)


def status_colour_defaults(colours: dict[str, str]) -> dict[str, str]:
    """Status variables derived from a theme's generated colours (``$success`` …)."""
    return {
        status_variable(status): colours.get(base, colours.get("foreground", "white"))
        for status, base in STATUS_BASE_COLOURS.items()
    }


class ThemeError(Exception):
    """A theme file cannot be used; the message is one sentence naming the file."""


def _check_colour(value: str, what: str) -> str:
    try:
        Color.parse(value)
    except ColorParseError:
        raise ValueError(f"{what} {value!r} is not a colour") from None
    return value


class ThemeFile(BaseModel):
    """A theme as written in ``themes/NAME.yaml``."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        pattern=r"^[A-Za-z0-9_.-]+$", description="The name --theme and the palette use."
    )
    primary: str = Field(description="The main colour of the interface.")
    secondary: str | None = Field(default=None, description="A second interface colour.")
    accent: str | None = Field(default=None, description="Highlights; running branches.")
    warning: str | None = Field(default=None, description="Warnings; retrying, timed out.")
    error: str | None = Field(default=None, description="Errors; failed branches.")
    success: str | None = Field(default=None, description="Success; succeeded branches.")
    foreground: str | None = Field(default=None, description="Default text colour.")
    background: str | None = Field(default=None, description="Screen background.")
    surface: str | None = Field(default=None, description="Background of widgets.")
    panel: str | None = Field(default=None, description="Background of panels and headers.")
    boost: str | None = Field(default=None, description="A tint laid over backgrounds.")
    dark: bool = Field(default=True, description="Whether this is a dark theme.")
    luminosity_spread: float = Field(default=0.15, ge=0, le=1, description="Shade spread.")
    text_alpha: float = Field(default=0.95, ge=0, le=1, description="Text opacity.")
    variables: dict[str, str] = Field(
        default_factory=dict,
        description="Extra CSS variables, e.g. branch-running, branch-failed.",
    )

    @field_validator(
        "primary",
        "secondary",
        "accent",
        "warning",
        "error",
        "success",
        "foreground",
        "background",
        "surface",
        "panel",
        "boost",
    )
    @classmethod
    def _colour(cls, value: str | None) -> str | None:
        return None if value is None else _check_colour(value, "colour")

    @field_validator("variables")
    @classmethod
    def _status_colours(cls, variables: dict[str, str]) -> dict[str, str]:
        for name, value in variables.items():
            if name in STATUS_VARIABLES and not value.startswith("$"):
                _check_colour(value, name)
        return variables

    def to_theme(self) -> Theme:
        """The Textual theme this file describes."""
        return Theme(**self.model_dump())


def load_theme_file(path: Path) -> Theme:
    """Read one theme file; raise :class:`ThemeError` with one sentence if it is unusable."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise ThemeError(f"Theme file {path} cannot be read: {error}.") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise ThemeError(f"Theme file {path} is not valid YAML{where}.") from None
    if not isinstance(data, dict):
        raise ThemeError(f"Theme file {path} must be a mapping of theme fields.")
    try:
        return ThemeFile.model_validate(data).to_theme()
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "theme"
        message = first["msg"].removeprefix("Value error, ")
        raise ThemeError(f"Theme file {path}: {where}: {message}.") from None


def user_theme_dir() -> Path:
    """The user's own themes folder (``$XDG_CONFIG_HOME/fanout-tui/themes``)."""
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "fanout-tui" / "themes"


def theme_dirs() -> tuple[Path, ...]:
    """Where themes are looked for: the shipped ones first, then the user's (which win)."""
    return (data_dir("themes"), user_theme_dir())


@dataclass(slots=True)
class ThemeCatalogue:
    """The themes found in the theme folders, and the files that could not be used."""

    themes: list[Theme] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def discover_themes(folders: tuple[Path, ...]) -> ThemeCatalogue:
    """Load every ``*.yaml`` theme in ``folders`` (in order; a later one of a name wins)."""
    catalogue = ThemeCatalogue()
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.yaml")):
            try:
                catalogue.themes.append(load_theme_file(path))
            except ThemeError as error:
                catalogue.problems.append(str(error))
    return catalogue
