"""The JSON report of a run (``--report``)."""

from __future__ import annotations

from typing import Any

from fanout_tui.engine.events import RunOutcome


def build_report(outcome: RunOutcome) -> dict[str, Any]:
    """The results document plus outcome, timings, flags and the merged result."""
    raise NotImplementedError
