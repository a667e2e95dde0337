"""The dashboard app (placeholder until the dashboard lands)."""

from __future__ import annotations

from textual.app import App

from fanout_tui.engine.control import EngineControl
from fanout_tui.engine.events import RunOutcome


class FanoutApp(App[RunOutcome]):
    """The fanout-tui dashboard."""


def create_app(engine: EngineControl, *, theme: str | None = None) -> FanoutApp:
    """Build the dashboard for ``engine`` (the CLI and the tests both call this)."""
    raise NotImplementedError


def run_dashboard(engine: EngineControl, *, theme: str | None = None) -> RunOutcome:
    """Run the dashboard until the operator quits; return the run's outcome."""
    raise NotImplementedError
