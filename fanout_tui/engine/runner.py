"""The engine (placeholder until the scheduler lands)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from fanout_tui.engine.clock import Clock
from fanout_tui.engine.control import ReusedResult
from fanout_tui.spec.plan import Plan


class Engine:
    """Runs a plan; implements :class:`fanout_tui.engine.control.EngineControl`."""

    def __init__(
        self,
        plan: Plan,
        *,
        clock: Clock | None = None,
        log_dir: Path | None = None,
        reused: Mapping[str, ReusedResult] | None = None,
    ) -> None:
        raise NotImplementedError
