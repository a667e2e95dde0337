"""Run an engine to the end without a screen, and end it cleanly on SIGINT or SIGTERM."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable
from typing import Protocol

import anyio
from anyio.abc import TaskStatus

from fanout_tui.engine import EngineControl, Event, RunOutcome
from fanout_tui.headless.progress import ProgressPrinter

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
"""Signals that end every branch and make the run exit 130 (SIGHUP: the terminal closed)."""


class CommitFeed(Protocol):
    """The journal's recorder, as the progress lines need it."""

    def on_commit(self, listener: Callable[[Event], None]) -> None:
        """Call ``listener`` with each event once it is committed."""

    def flush(self) -> None:
        """Block until everything recorded so far is committed."""


def run_headless(engine: EngineControl, journal: CommitFeed | None = None) -> RunOutcome:
    """Run ``engine`` to the end, printing progress on stderr; SIGINT/SIGTERM interrupt it.

    Every state change of a branch becomes one line on stderr, and a summary follows at
    the end. The merged result is not printed here: the caller delivers it.

    Args:
        engine: The engine to run. Signals are handled only when this is called from the
            main thread (the only one Python delivers them to).
        journal: The run's recorder, when it is journaled: a branch is said to have
            succeeded only once the journal committed it.

    Returns:
        How the run ended; its exit code is 130 when a signal interrupted it before the
        policy was satisfied.
    """
    progress = ProgressPrinter.for_stream(sys.stderr, engine.plan)
    if journal is not None:
        progress.say_success_after_commit()
        journal.on_commit(progress.on_committed)
    engine.add_listener(progress.on_event)
    outcome = anyio.run(_run, engine, progress)
    if journal is not None:
        journal.flush()  # every success said before the summary
    progress.summary(outcome)
    return outcome


async def _run(engine: EngineControl, progress: ProgressPrinter) -> RunOutcome:
    async with anyio.create_task_group() as group:
        if threading.current_thread() is threading.main_thread():
            # The signal handlers are in place before any branch starts.
            await group.start(_end_on_signals, engine, progress)
        outcome = await engine.run()
        group.cancel_scope.cancel()
    return outcome


async def _end_on_signals(
    engine: EngineControl,
    progress: ProgressPrinter,
    *,
    task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Shut the engine down on a stop signal, until the run returns.

    The first signal ends every process group the gentle way (SIGTERM, grace period,
    SIGKILL). A second one does not abandon the branches either, but cuts the grace
    periods short: what is still running gets SIGKILL at once.
    """
    with anyio.open_signal_receiver(*STOP_SIGNALS) as signals:
        task_status.started()
        received = 0
        async for signum in signals:
            received += 1
            progress.note_interrupt(signal.Signals(signum).name, first=received == 1)
            engine.shutdown(interrupted=True, kill_now=received > 1)
