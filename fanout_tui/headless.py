"""Headless mode: progress lines on stderr (placeholder)."""

from __future__ import annotations

from fanout_tui.engine.control import EngineControl
from fanout_tui.engine.events import RunOutcome


def run_headless(engine: EngineControl) -> RunOutcome:
    """Run ``engine`` to the end, printing progress on stderr; SIGINT/SIGTERM interrupt it."""
    raise NotImplementedError
