"""The fan-out engine: runs an expanded plan on anyio, publishes events, takes commands.

Never imports Textual (a test enforces it); usable as a library and headless.
"""

from fanout_tui.engine.clock import Clock, SystemClock
from fanout_tui.engine.control import EngineControl, Listener
from fanout_tui.engine.events import (
    AttemptEnded,
    AttemptStarted,
    BranchReport,
    BranchStateChanged,
    BranchStatus,
    Event,
    MergeState,
    OutputLines,
    PolicyState,
    ProcessStarted,
    ResultsChanged,
    ReusedResult,
    RunFinished,
    RunOutcome,
    results_document,
)
from fanout_tui.engine.merge import render_merged
from fanout_tui.engine.report import build_report
from fanout_tui.engine.runner import Engine

__all__ = [
    "AttemptEnded",
    "AttemptStarted",
    "BranchReport",
    "BranchStateChanged",
    "BranchStatus",
    "Clock",
    "Engine",
    "EngineControl",
    "Event",
    "Listener",
    "MergeState",
    "OutputLines",
    "PolicyState",
    "ProcessStarted",
    "ResultsChanged",
    "ReusedResult",
    "RunFinished",
    "RunOutcome",
    "SystemClock",
    "build_report",
    "render_merged",
    "results_document",
]
