"""run_headless drives any engine to the end and turns SIGINT/SIGTERM into a clean shutdown.

A scripted engine stands in for the real one here, so the signal handling is tested on
its own; tests/headless/test_cli.py runs the real command end to end.
"""

from __future__ import annotations

import os
import signal
import threading

import anyio
import pytest

from fanout_tui.engine._control import Listener
from fanout_tui.engine._events import (
    BranchReport,
    BranchStateChanged,
    BranchStatus,
    MergeState,
    PolicyState,
    RunOutcome,
)
from fanout_tui.headless import run_headless
from fanout_tui.spec._plan import BranchPlan, Plan


class ScriptedEngine:
    """Runs one branch that only ends when shut down; raises ``signals`` at itself first."""

    def __init__(self, signals: list[signal.Signals]) -> None:
        self.plan = Plan("scripted", (BranchPlan("sleeper", 0, run="sleep 60"),))
        self.signals = signals
        self.shutdowns: list[bool] = []
        self.kills_now: list[bool] = []
        self._listeners: list[Listener] = []
        self._stop = anyio.Event()

    def add_listener(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def _emit(self, status: BranchStatus, reason: str | None = None) -> None:
        for listener in self._listeners:
            listener(BranchStateChanged("sleeper", status, 1, 1, 0.0, reason=reason))

    async def run(self, *, stay_open: bool = False) -> RunOutcome:
        self._emit(BranchStatus.RUNNING)
        for signum in self.signals:
            os.kill(os.getpid(), signum)
            await anyio.sleep(0.01)  # let the receiver take it
        with anyio.fail_after(5):
            await self._stop.wait()
        # Ending a process group takes a while; a second signal arrives meanwhile.
        await anyio.sleep(0.02)
        self._emit(BranchStatus.CANCELLED, "interrupted")
        return self.outcome()

    def shutdown(self, *, interrupted: bool = False, kill_now: bool = False) -> None:
        self.shutdowns.append(interrupted)
        self.kills_now.append(kill_now)
        self._stop.set()

    def outcome(self) -> RunOutcome:
        status = BranchStatus.CANCELLED if self.shutdowns else BranchStatus.RUNNING
        report = BranchReport("sleeper", status, None, "interrupted", 1, 0.1)
        merge = MergeState(PolicyState.WAITING, None, ("sleeper",), ("sleeper",), 0)
        return RunOutcome("scripted", (report,), merge, 130, 0.0, 0.1)

    def retry(self, branch_id: str) -> bool:
        return False

    def cancel(self, branch_id: str) -> bool:
        return False

    def retry_failed(self) -> int:
        return 0

    def cancel_all(self) -> int:
        return 0


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_shuts_the_engine_down_as_interrupted(
    signum: signal.Signals, capsys: pytest.CaptureFixture[str]
) -> None:
    engine = ScriptedEngine([signum])
    outcome = run_headless(engine)
    assert engine.shutdowns == [True]
    assert outcome.exit_code == 130
    err = capsys.readouterr().err
    assert f"{signum.name}: ending every branch" in err
    assert "sleeper  cancelled  attempt 1/1  0.00s  interrupted" in err
    assert "── scripted: interrupted (exit 130)" in err


def test_a_second_sigint_kills_what_is_still_running_at_once(
    capsys: pytest.CaptureFixture[str],
) -> None:
    engine = ScriptedEngine([signal.SIGINT, signal.SIGINT])
    outcome = run_headless(engine)
    assert engine.shutdowns == [True, True]
    assert engine.kills_now == [False, True]
    assert outcome.exit_code == 130
    err = capsys.readouterr().err
    assert "SIGINT again: SIGKILL to every process still running" in err
    assert "sleeper  cancelled" in err


def test_signal_handlers_are_restored_after_the_run() -> None:
    before = signal.getsignal(signal.SIGINT)
    run_headless(ScriptedEngine([signal.SIGTERM]))
    assert signal.getsignal(signal.SIGINT) is before


def test_off_the_main_thread_it_runs_without_signal_handling() -> None:
    engine = ScriptedEngine([])
    engine.shutdown(interrupted=True)  # nothing would end it otherwise
    outcomes: list[RunOutcome] = []
    worker = threading.Thread(target=lambda: outcomes.append(run_headless(engine)))
    worker.start()
    worker.join(timeout=10)
    assert [outcome.exit_code for outcome in outcomes] == [130]
