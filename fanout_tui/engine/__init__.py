"""The fan-out engine: runs an expanded plan on anyio, publishes events, takes commands.

This face is the engine's whole public API; its modules (``_name.py``) are private. Names
load on first use (PEP 562), so that ``from fanout_tui.engine import ExitCode`` (as the
command line does for ``--version``) does not pay for the scheduler and anyio.

Never imports Textual (a test enforces it); usable as a library and headless.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fanout_tui.engine._lazy import lazy_exports

if TYPE_CHECKING:
    from fanout_tui.engine._attempt_result import AttemptResult
    from fanout_tui.engine._bus import EventStream, EventStreamDropped
    from fanout_tui.engine._clock import Clock, SystemClock
    from fanout_tui.engine._control import EngineControl, Listener
    from fanout_tui.engine._events import (
        AttemptEnded,
        AttemptPlaced,
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
        Stream,
        results_document,
    )
    from fanout_tui.engine._executor import INTERNAL_ERRORS, Executor, LocalExecutor
    from fanout_tui.engine._exit_codes import ExitCode
    from fanout_tui.engine._ledger import BUDGET_REACHED, UsageLedger
    from fanout_tui.engine._left_behind import (
        RUN_MARK,
        KilledRun,
        LeftoverGroup,
        Leftovers,
        process_alive,
        process_start_time,
    )
    from fanout_tui.engine._leftovers import end_leftovers
    from fanout_tui.engine._lines import for_terminal, printable
    from fanout_tui.engine._merge import (
        merged_pieces,
        render_merged,
        status_and_reason,
        why_missing,
    )
    from fanout_tui.engine._policy import status_words
    from fanout_tui.engine._process import end_process_group, end_process_group_if_same
    from fanout_tui.engine._report import build_report, outcome_word
    from fanout_tui.engine._resource_events import (
        ResourcePaused,
        ResourceResumed,
        ResourcesChanged,
        ResourceView,
        UsageReported,
    )
    from fanout_tui.engine._resources import ResourcePool
    from fanout_tui.engine._run_mark import marked_processes
    from fanout_tui.engine._runner import Engine
    from fanout_tui.engine._signals import (
        MAX_RETRY_AFTER_S,
        BadSignal,
        RateLimited,
        Signal,
        Usage,
        read_signal,
        signal_line,
    )

_HOMES = {
    "AttemptResult": "_attempt_result",
    "EventStream": "_bus",
    "EventStreamDropped": "_bus",
    "Clock": "_clock",
    "SystemClock": "_clock",
    "EngineControl": "_control",
    "Listener": "_control",
    **dict.fromkeys(
        (
            "AttemptEnded",
            "AttemptPlaced",
            "AttemptStarted",
            "BranchReport",
            "BranchStateChanged",
            "BranchStatus",
            "Event",
            "MergeState",
            "OutputLines",
            "PolicyState",
            "ProcessStarted",
            "ResultsChanged",
            "ReusedResult",
            "RunFinished",
            "RunOutcome",
            "Stream",
            "results_document",
        ),
        "_events",
    ),
    "Executor": "_executor",
    "LocalExecutor": "_executor",
    "INTERNAL_ERRORS": "_executor",
    "ExitCode": "_exit_codes",
    **dict.fromkeys(
        (
            "RUN_MARK",
            "KilledRun",
            "LeftoverGroup",
            "Leftovers",
            "process_alive",
            "process_start_time",
        ),
        "_left_behind",
    ),
    "end_leftovers": "_leftovers",
    "printable": "_lines",
    "for_terminal": "_lines",
    "merged_pieces": "_merge",
    "render_merged": "_merge",
    "status_and_reason": "_merge",
    "why_missing": "_merge",
    "status_words": "_policy",
    "end_process_group": "_process",
    "end_process_group_if_same": "_process",
    "build_report": "_report",
    "outcome_word": "_report",
    "marked_processes": "_run_mark",
    "Engine": "_runner",
    "ResourceView": "_resource_events",
    "ResourcesChanged": "_resource_events",
    "ResourcePaused": "_resource_events",
    "ResourceResumed": "_resource_events",
    "UsageReported": "_resource_events",
    "UsageLedger": "_ledger",
    "BUDGET_REACHED": "_ledger",
    "ResourcePool": "_resources",
    **dict.fromkeys(
        (
            "MAX_RETRY_AFTER_S",
            "BadSignal",
            "RateLimited",
            "Signal",
            "Usage",
            "read_signal",
            "signal_line",
        ),
        "_signals",
    ),
}
"""The private module that defines each exported name."""

__all__ = [
    "BUDGET_REACHED",
    "INTERNAL_ERRORS",
    "MAX_RETRY_AFTER_S",
    "RUN_MARK",
    "AttemptEnded",
    "AttemptPlaced",
    "AttemptResult",
    "AttemptStarted",
    "BadSignal",
    "BranchReport",
    "BranchStateChanged",
    "BranchStatus",
    "Clock",
    "Engine",
    "EngineControl",
    "Event",
    "EventStream",
    "EventStreamDropped",
    "Executor",
    "ExitCode",
    "KilledRun",
    "LeftoverGroup",
    "Leftovers",
    "Listener",
    "LocalExecutor",
    "MergeState",
    "OutputLines",
    "PolicyState",
    "ProcessStarted",
    "RateLimited",
    "ResourcePaused",
    "ResourcePool",
    "ResourceResumed",
    "ResourceView",
    "ResourcesChanged",
    "ResultsChanged",
    "ReusedResult",
    "RunFinished",
    "RunOutcome",
    "Signal",
    "Stream",
    "SystemClock",
    "Usage",
    "UsageLedger",
    "UsageReported",
    "build_report",
    "end_leftovers",
    "end_process_group",
    "end_process_group_if_same",
    "for_terminal",
    "marked_processes",
    "merged_pieces",
    "outcome_word",
    "printable",
    "process_alive",
    "process_start_time",
    "read_signal",
    "render_merged",
    "results_document",
    "signal_line",
    "status_and_reason",
    "status_words",
    "why_missing",
]


__getattr__, __dir__ = lazy_exports(__name__, _HOMES, globals())
